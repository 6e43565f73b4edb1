import XCTest
import TrainingLab

final class GradientTransformTests: XCTestCase {
    /// Parameters "a" (2 elements) and "b" (1 element) with the given gradients, and "frozen" without one.
    private func parameters(_ a: [Float], _ b: [Float]) throws -> [(String, Tensor)] {
        let pa = try Tensor([0, 0], shape: [2], requiresGrad: true), pb = try Tensor([0], shape: [1], requiresGrad: true)
        pa.grad = try Tensor(a, shape: [2])
        pb.grad = try Tensor(b, shape: [1])
        return [("a", pa), ("b", pb), ("frozen", Tensor(zeros: [3], requiresGrad: true))]
    }

    /// What StepControlTests' hand cases leave out: the limit, non-finite norms, and variates held as vectors.
    func testClipLimitsAndNonFiniteNorms() throws {
        let below = try parameters([3, 0], [4])
        try GlobalNormClip(maxNorm: 10).apply(to: below)
        XCTAssertEqual(below[0].1.grad!.scalars, [3, 0], "below the limit nothing changes")
        XCTAssertNil(below[2].1.grad, "a parameter without a gradient is left alone")

        let clip = try GlobalNormClip(maxNorm: 1)
        XCTAssertNil(clip.lastNorm)
        let broken = try parameters([.nan, 0], [4])
        XCTAssertThrowsError(try clip.apply(to: broken))
        XCTAssertTrue(clip.lastNorm!.isNaN)
        XCTAssertEqual(broken[1].1.grad!.scalars, [4], "a non-finite norm leaves the gradients alone")
        XCTAssertThrowsError(try GlobalNormClip(maxNorm: 0)) { XCTAssertTrue("\($0)".contains("maxNorm must be a finite value > 0, got 0.0"), "\($0)") }
    }

    func testControlVariatesAsVectorsMustCoverEveryGradient() throws {
        let named = try parameters([1, 2], [3])
        let vectors = ControlVariateCorrection(global: try ParameterVector(from: [("a", Tensor([1, 1], shape: [2]))]),
                                               local: try ParameterVector(from: [("a", Tensor([0, 0], shape: [2]))]))
        XCTAssertThrowsError(try vectors.apply(to: named)) {
            XCTAssertTrue("\($0)".contains("the global control variate has no tensor of 1 elements named 'b'"), "\($0)")
        }
    }

    func testChainAppliesInOrder() throws {
        let variates = (global: try ParameterVector(from: [("a", Tensor([2, 3], shape: [2])), ("b", Tensor([0], shape: [1]))]),
                        local: try ParameterVector(from: [("a", Tensor([0, 0], shape: [2])), ("b", Tensor([0], shape: [1]))]))
        // Correct then clip: [1, 1] + [2, 3] = [3, 4], norm 5 with b = 0.
        let clip = try GlobalNormClip(maxNorm: 1)
        let chain = GradientTransforms([ControlVariateCorrection(global: variates.global, local: variates.local), clip])
        let named = try parameters([1, 1], [0])
        try chain.apply(to: named)
        XCTAssertEqual(clip.lastNorm, 5)
        XCTAssertEqual(named[0].1.grad!.scalars, [3 / (5 + 1e-6), 4 / (5 + 1e-6)])

        // Clip then correct: the correction is added after clipping [1, 1] (norm sqrt 2).
        chain.transforms.reverse()
        let other = try parameters([1, 1], [0])
        try chain.apply(to: other)
        XCTAssertEqual(clip.lastNorm!, 2.0.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(Double(other[0].1.grad!.scalars[0]), 2 + 1 / 2.0.squareRoot(), accuracy: 1e-6)
    }
}
