import XCTest
import TrainingLab

final class AutogradTests: XCTestCase {
    func testArithmeticGradients() throws {
        let a = Tensor.uniform([3, 4], low: -1, high: 1, seed: 1, requiresGrad: true)
        let b = Tensor.uniform([3, 4], low: -1, high: 1, seed: 2, requiresGrad: true)
        try assertGradientsMatch([a, b]) { x in try (x[0] * x[1] - x[0] * 3 + x[1]) * x[0] + 0.5 }
    }

    func testReductionsAndShapes() throws {
        let a = Tensor.uniform([2, 3, 4], low: -1, high: 1, seed: 3, requiresGrad: true)
        try assertGradientsMatch([a]) { x in try x[0].sum(alongAxis: 1) * x[0].sum(alongAxis: 1) }
        try assertGradientsMatch([a]) { x in try x[0].reshaped([6, -1]).transposed() * 2 }
        try assertGradientsMatch([a]) { x in try x[0].flattened().gatheringRows([1, 0, 1]) }
        try assertGradientsMatch([a]) { x in try concatenated([x[0], x[0] * x[0]]) }
        try assertGradientsMatch([a]) { x in try (x[0] * x[0]).mean() }
    }

    func testSharedSubexpressionAccumulates() throws {
        let x = try Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        let y = try x * x          // used twice below
        try (y + y * x).sum().backward()
        // d/dx (x^2 + x^3) = 2x + 3x^2
        XCTAssertEqual(x.grad?.scalars, [5, 16, 33])
    }

    func testRepeatedBackwardAccumulatesUntilZeroed() throws {
        let x = try Tensor([1, -2], shape: [2], requiresGrad: true)
        try (x * 3).sum().backward()
        try (x * 3).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [6, 6])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testNoGradientModeRecordsNothing() throws {
        let x = Tensor.uniform([4], seed: 5, requiresGrad: true)
        let y = try withoutGradients { try x * 2 }
        XCTAssertTrue(y.isLeaf)
        XCTAssertFalse(y.requiresGrad)
        XCTAssertThrowsError(try y.sum().backward())
    }

    func testInputGradientForUntrackedWeights() throws {
        let w = Tensor.uniform([4], seed: 6)
        let x = Tensor.uniform([4], seed: 7, requiresGrad: true)
        try (x * w).sum().backward()
        XCTAssertEqual(x.grad?.scalars, w.scalars)
        XCTAssertNil(w.grad)
    }

    func testShapeErrorsAreThrown() throws {
        let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [3, 2])
        XCTAssertThrowsError(try a + b) { XCTAssertTrue("\($0)".contains("[2, 3]")) }
        XCTAssertThrowsError(try a.reshaped([4, 2]))
        XCTAssertThrowsError(try a.gatheringRows([2]))
        XCTAssertThrowsError(try Tensor([1, 2], shape: [3]))
    }
}
