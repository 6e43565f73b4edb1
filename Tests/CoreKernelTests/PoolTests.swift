import XCTest
import KernelTable
import TrainingLab

/// Pooling (include/tl_pool.h) beyond the kernel table's checks: ties, NaN and padding semantics, index
/// validation, accuracy with a large offset, output sizes, empty batches and bad arguments.

/// A pooling case: input (N,C,H,W) and window kernel/stride/padding per axis (a shape of the table's pool rows).
private typealias PoolShape = PoolGeometry

private func pool(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ kh: Int, _ kw: Int, _ sh: Int, _ sw: Int, _ ph: Int, _ pw: Int) -> PoolShape {
    PoolGeometry(KernelTable.poolShape(n, c, h, w, kh, kw, sh, sw, ph, pw))
}

/// The 2x2 stride-2 fast path, a ResNet-stem style overlapping window with padding, and a stride-1
/// window with padding on every side: the shapes the tie, NaN and padding tests single out.
private let fast2x2 = pool(2, 3, 8, 8, 2, 2, 2, 2, 0, 0)
private let stem = pool(2, 2, 9, 7, 3, 3, 2, 2, 1, 1)
private let padded = pool(1, 2, 5, 5, 3, 3, 1, 1, 1, 1)
private let oddFast = pool(1, 2, 7, 9, 2, 2, 2, 2, 0, 0)

private extension PoolGeometry {
    var inCount: Int { n * c * h * w }
}

// MARK: - Calling helpers

private func maxPool(_ x: [Float], _ s: PoolShape) -> (y: [Float], idx: [Int32]) {
    var y = [Float](repeating: .nan, count: s.outCount), idx = [Int32](repeating: -7, count: s.outCount)
    XCTAssertEqual(tl_maxpool2d_forward(&y, &idx, x, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw), 0, "\(s)")
    return (y, idx)
}

private func avgPool(_ x: [Float], _ s: PoolShape, includePad: Bool) -> [Float] {
    var y = [Float](repeating: .nan, count: s.outCount)
    XCTAssertEqual(tl_avgpool2d_forward(&y, x, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, includePad ? 1 : 0), 0, "\(s)")
    return y
}

final class MaxPoolTests: XCTestCase {
    func testTiesNaNAndPadding() {
        // A constant plane: every window picks its first element in row-major order, on both paths.
        for s in [fast2x2, stem] {
            let (y, idx) = maxPool([Float](repeating: 2, count: s.inCount), s)
            XCTAssertEqual(y, [Float](repeating: 2, count: s.outCount))
            XCTAssertEqual(idx.map(Int.init), Reference.maxPool([Double](repeating: 2, count: s.inCount), s).idx, "\(s)")
        }
        // Padding is -inf, not 0: an all-negative input keeps its negative maxima.
        let negative = randomFloats(padded.inCount, seed: 5, low: -9, high: -1)
        XCTAssertTrue(maxPool(negative, padded).y.allSatisfy { $0 < 0 })
        // NaN propagates, on the fast path and the general one.
        for s in [fast2x2, stem] {
            var x = randomFloats(s.inCount, seed: 6)
            x[s.w + 1] = .nan
            let (y, idx) = maxPool(x, s)
            XCTAssertTrue(y.contains { $0.isNaN }, "\(s)")
            XCTAssertTrue(idx.contains(Int32(s.w + 1)), "\(s)")
        }
        // idx may be NULL; the values are the same.
        let s = oddFast
        let x = randomFloats(s.inCount, seed: 7)
        var y = [Float](repeating: 0, count: s.outCount)
        XCTAssertEqual(tl_maxpool2d_forward(&y, nil, x, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw), 0)
        assertBitwiseEqual(y, maxPool(x, s).y)
    }

    func testBackwardRejectsOutOfRangeIndices() {
        let s = fast2x2
        var (_, idx) = maxPool(randomFloats(s.inCount, seed: 1), s)
        var dx = [Float](repeating: 0, count: s.inCount)
        idx[5] = Int32(s.h * s.w)
        assertFails(tl_maxpool2d_backward(&dx, [Float](repeating: 1, count: s.outCount), idx, s.n, s.c, s.h, s.w, 2, 2, 2, 2, 0, 0),
                    TL_ERR_INVALID_ARGUMENT, mentioning: "idx")
        idx[5] = -1
        assertFails(tl_maxpool2d_backward(&dx, [Float](repeating: 1, count: s.outCount), idx, s.n, s.c, s.h, s.w, 2, 2, 2, 2, 0, 0),
                    TL_ERR_INVALID_ARGUMENT, mentioning: "idx")
    }
}

final class AvgPoolTests: XCTestCase {
    func testTheTwoDivisorsDifferOnlyOnPaddedWindows() {
        let s = padded
        let ones = [Float](repeating: 1, count: s.inCount)
        XCTAssertEqual(avgPool(ones, s, includePad: false), [Float](repeating: 1, count: s.outCount))
        XCTAssertEqual(avgPool(ones, s, includePad: true)[0], 4.0 / 9.0, accuracy: 1e-7)
    }
}

final class GlobalAvgPoolTests: XCTestCase {
    func testLargeOffsetMeanIsAccurate() {
        // A float running sum of 4096 values near 1e4 would drift; the double accumulator does not.
        let x = randomFloats(64 * 64, seed: 3, low: 10_000, high: 10_001)
        var y: [Float] = [0]
        XCTAssertEqual(tl_global_avgpool2d_forward(&y, x, 1, 1, 64, 64), 0)
        XCTAssertEqual(Double(y[0]), x.reduce(0.0) { $0 + Double($1) } / 4096, accuracy: 1e-3)
    }
}

final class PoolArgumentsTests: XCTestCase {
    func testOutputSize() {
        XCTAssertEqual(tl_pool2d_output_size(28, 2, 2, 0), 14)
        XCTAssertEqual(tl_pool2d_output_size(7, 2, 2, 0), 3)
        XCTAssertEqual(tl_pool2d_output_size(32, 3, 2, 1), 16)
        XCTAssertEqual(tl_pool2d_output_size(2, 3, 1, 0), -1)
        XCTAssertEqual(tl_pool2d_output_size(8, 2, 2, 2), -1)
        XCTAssertEqual(tl_pool2d_output_size(8, 2, 0, 0), -1)
    }

    func testZeroBatchIsNoOp() {
        var y: [Float] = [3]
        var idx: [Int32] = [3]
        XCTAssertEqual(tl_maxpool2d_forward(&y, &idx, [1], 0, 3, 4, 4, 2, 2, 2, 2, 0, 0), 0)
        XCTAssertEqual(tl_avgpool2d_backward(&y, [1], 2, 0, 4, 4, 2, 2, 2, 2, 0, 0, 1), 0)
        XCTAssertEqual(tl_global_avgpool2d_forward(&y, [1], 0, 1, 1, 1), 0)
        XCTAssertEqual(y, [3])
        XCTAssertEqual(idx, [3])
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 64)
        var idx = [Int32](repeating: 0, count: 64)
        let x = [Float](repeating: 0, count: 64)
        assertFails(tl_maxpool2d_forward(nil, &idx, x, 1, 1, 8, 8, 2, 2, 2, 2, 0, 0), TL_ERR_NULL_POINTER, mentioning: "tl_maxpool2d_forward: y")
        assertFails(tl_maxpool2d_forward(&y, &idx, nil, 1, 1, 8, 8, 2, 2, 2, 2, 0, 0), TL_ERR_NULL_POINTER, mentioning: "x is NULL")
        assertFails(tl_maxpool2d_backward(&y, x, nil, 1, 1, 8, 8, 2, 2, 2, 2, 0, 0), TL_ERR_NULL_POINTER, mentioning: "idx")
        assertFails(tl_avgpool2d_backward(&y, nil, 1, 1, 8, 8, 2, 2, 2, 2, 0, 0, 0), TL_ERR_NULL_POINTER, mentioning: "dy")
        assertFails(tl_global_avgpool2d_backward(nil, x, 1, 1, 8, 8), TL_ERR_NULL_POINTER, mentioning: "dx")
        assertFails(tl_maxpool2d_forward(&y, &idx, x, -1, 1, 8, 8, 2, 2, 2, 2, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_maxpool2d_forward(&y, &idx, x, 1, 1, 0, 8, 2, 2, 2, 2, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "H")
        assertFails(tl_avgpool2d_forward(&y, x, 1, 1, 8, 8, 0, 2, 2, 2, 0, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "kh")
        assertFails(tl_avgpool2d_forward(&y, x, 1, 1, 8, 8, 2, 2, 2, 0, 0, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "sw")
        assertFails(tl_maxpool2d_forward(&y, &idx, x, 1, 1, 8, 8, 2, 2, 2, 2, 2, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "padding")
        assertFails(tl_maxpool2d_backward(&y, x, idx, 1, 1, 8, 8, 2, 2, 2, 2, 0, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "pw")
        assertFails(tl_avgpool2d_forward(&y, x, 1, 1, 2, 8, 3, 2, 1, 1, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "does not fit")
        assertFails(tl_global_avgpool2d_forward(&y, x, 1, 1, 8, -8), TL_ERR_INVALID_ARGUMENT, mentioning: "W")
    }
}
