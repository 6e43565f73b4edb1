import XCTest
import TrainingLab

/// The public extension points: an op defined by forward and backward closures, checked with the public
/// finite-difference checker, and the checks that catch a wrong backward.
final class CustomOperationTests: XCTestCase {
    /// s · x², a scaled square, over two inputs (x, s with s a one-element tensor broadcast over x).
    private let scaledSquare = CustomOperation(
        name: "scaled_square",
        forward: { t in try t[1] * t[0] * t[0] },
        backward: { g, t, _, needs in
            [needs[0] ? try g * t[0] * t[1] * 2 : nil,
             needs[1] ? try (g * t[0] * t[0]).sum().reshaped(t[1].shape) : nil]
        })

    func testCustomOperationGradientsMatchFiniteDifferences() throws {
        let x = Tensor.uniform([3, 4], low: -1, high: 1, seed: 1, requiresGrad: true)
        let s = try Tensor([1.5], shape: [1], requiresGrad: true)
        let y = try scaledSquare(x, s)
        XCTAssertEqual(y.shape, [3, 4])
        XCTAssertFalse(y.isLeaf, "the output is recorded")
        for (v, xv) in zip(y.scalars, x.scalars) { XCTAssertEqual(v, 1.5 * xv * xv, accuracy: 1e-6) }
        XCTAssertLessThan(try GradientCheck.maximumError(of: { try self.scaledSquare($0) }, at: [x, s], step: 1e-2), 2e-3)
        try assertGradientsMatch([x, s]) { try self.scaledSquare($0) }
        // Composes with library ops on both sides.
        try assertGradientsMatch([x, s]) { t in try self.scaledSquare(exp(t[0]), t[1]).mean(alongAxis: 1) }
    }

    func testSoftplusFromTheDocumentation() throws {
        let softplus = CustomOperation(
            name: "softplus",
            forward: { x in try log(exp(x[0]) + 1) },
            backward: { g, x, _, needs in [needs[0] ? try g * sigmoid(x[0]) : nil] })
        let x = Tensor.uniform([7], low: -3, high: 3, seed: 2, requiresGrad: true)
        XCTAssertLessThan(try GradientCheck.maximumError(of: { try softplus($0[0]) }, at: [x]), 1e-3)
    }

    func testTheForwardIsNotRecordedAndInputsAreLeftAlone() throws {
        let x = Tensor.uniform([4], seed: 3, requiresGrad: true)
        let identity = CustomOperation(name: "identity", forward: { $0[0] }, backward: { g, _, _, _ in [g] })
        let y = try identity(x)
        XCTAssertFalse(y === x, "the output is a new tensor even when the forward returns its input")
        XCTAssertTrue(x.isLeaf)
        try y.sum().backward()
        XCTAssertEqual(x.grad?.scalars, [1, 1, 1, 1])
    }

    func testWrongBackwardsAreReportedNamingTheOp() throws {
        let x = Tensor.uniform([4], seed: 4, requiresGrad: true)
        let tooFew = CustomOperation(name: "too_few", forward: { try $0[0] * $0[1] }, backward: { g, _, _, _ in [g] })
        XCTAssertThrowsError(try tooFew(x, x).sum().backward()) { XCTAssertTrue("\($0)".contains("too_few: backward returned 1 gradients for 2 inputs")) }
        let wrongSize = CustomOperation(name: "wrong_size", forward: { try $0[0] * 2 }, backward: { _, _, _, _ in [Tensor(zeros: [3])] })
        XCTAssertThrowsError(try wrongSize(x).sum().backward()) { XCTAssertTrue("\($0)".contains("wrong_size")) }
        let empty = CustomOperation(name: "nothing", forward: { _ in Tensor(scalar: 0) }, backward: { _, _, _, _ in [] })
        XCTAssertThrowsError(try empty([])) { XCTAssertTrue("\($0)".contains("nothing")) }
    }

    func testGradientCheckFindsAWrongGradient() throws {
        let x = Tensor.uniform([5], low: -1, high: 1, seed: 5, requiresGrad: true)
        let wrong = CustomOperation(name: "wrong", forward: { try $0[0] * $0[0] }, backward: { g, t, _, _ in [try g * t[0]] })
        let comparisons = try GradientCheck.compare({ try wrong($0) }, at: [x])
        XCTAssertEqual(comparisons.count, 1)
        XCTAssertNotNil(comparisons[0].firstMismatch(relativeTolerance: 1e-2, absoluteTolerance: 1e-3))
        XCTAssertGreaterThan(comparisons[0].maximumError, 0.05)
    }
}
