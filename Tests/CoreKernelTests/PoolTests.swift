import XCTest
import TrainingLab

/// Pooling (include/tl_pool.h) against plain Swift references, finite differences, thread-count
/// independence and bad arguments.

/// Geometry of a pooling case: input (N,C,H,W) and window kernel/stride/padding per axis.
private struct PoolShape: CustomStringConvertible {
    var n, c, h, w, kh, kw, sh, sw, ph, pw: Int
    var oh: Int { (h + 2 * ph - kh) / sh + 1 }
    var ow: Int { (w + 2 * pw - kw) / sw + 1 }
    var inCount: Int { n * c * h * w }
    var outCount: Int { n * c * oh * ow }
    var description: String { "(\(n),\(c),\(h),\(w)) k\(kh)x\(kw) s\(sh)x\(sw) p\(ph)x\(pw)" }

    /// In-bounds rows and columns of output (oh, ow)'s window.
    func window(_ y: Int, _ x: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let h0 = y * sh - ph, w0 = x * sw - pw
        return (max(h0, 0)..<min(h0 + kh, h), max(w0, 0)..<min(w0 + kw, w))
    }
}

/// The 2x2 stride-2 fast path, a ResNet-stem style overlapping window with padding, and a stride-1
/// window with padding on every side: the shapes the tie, NaN and padding tests single out.
private let fast2x2 = PoolShape(n: 2, c: 3, h: 8, w: 8, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0)
private let stem = PoolShape(n: 2, c: 2, h: 9, w: 7, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1)
private let padded = PoolShape(n: 1, c: 2, h: 5, w: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1)
private let oddFast = PoolShape(n: 1, c: 2, h: 7, w: 9, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0)

private let shapes: [PoolShape] = [
    fast2x2,
    oddFast,                                                                       // fast path, odd sizes (last row/col unused)
    PoolShape(n: 1, c: 1, h: 2, w: 34, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0),  // fast path, OW = 17: overlapping last vector
    PoolShape(n: 1, c: 2, h: 4, w: 16, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0),  // fast path, OW = 8 exactly
    PoolShape(n: 2, c: 1, h: 3, w: 29, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0),  // fast path, OW = 14 (as 28x28), odd H and W
    stem,
    padded,
    PoolShape(n: 1, c: 1, h: 4, w: 6, kh: 2, kw: 3, sh: 3, sw: 1, ph: 1, pw: 0),   // different geometry per axis
    PoolShape(n: 2, c: 1, h: 7, w: 7, kh: 2, kw: 2, sh: 3, sw: 3, ph: 0, pw: 0),   // stride larger than kernel
    PoolShape(n: 1, c: 3, h: 3, w: 5, kh: 1, kw: 1, sh: 1, sw: 2, ph: 0, pw: 0),   // 1x1 kernel
    PoolShape(n: 1, c: 2, h: 5, w: 6, kh: 5, kw: 6, sh: 1, sw: 1, ph: 2, pw: 3),   // window as large as the input
    PoolShape(n: 1, c: 1, h: 1, w: 1, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0),   // a single pixel
]

/// Each plane holds a shuffled evenly spaced ramp over [-3, 3): gaps of 6 / (H*W) (>= 0.08 in these tests)
/// keep finite differences (eps 1e-2) from crossing a tie.
private func distinctInputs(_ s: PoolShape, seed: UInt64) -> [Float] {
    let plane = s.h * s.w
    let keys = randomFloats(s.inCount, seed: seed)
    var x = [Float](repeating: 0, count: s.inCount)
    for p in 0..<(s.n * s.c) {
        let order = (0..<plane).sorted { keys[p * plane + $0] < keys[p * plane + $1] }
        for (rank, i) in order.enumerated() { x[p * plane + i] = -3 + 6 * Float(rank) / Float(plane) }
    }
    return x
}

// MARK: - References

private func refMaxPool(_ x: [Float], _ s: PoolShape) -> (y: [Float], idx: [Int32]) {
    var y = [Float](repeating: 0, count: s.outCount), idx = [Int32](repeating: -1, count: s.outCount)
    for p in 0..<(s.n * s.c) {
        for oy in 0..<s.oh {
            for ox in 0..<s.ow {
                let (rows, cols) = s.window(oy, ox)
                var best = -Float.infinity, bi = rows.lowerBound * s.w + cols.lowerBound
                for r in rows { for c in cols where x[p * s.h * s.w + r * s.w + c] > best { best = x[p * s.h * s.w + r * s.w + c]; bi = r * s.w + c } }
                y[(p * s.oh + oy) * s.ow + ox] = best
                idx[(p * s.oh + oy) * s.ow + ox] = Int32(bi)
            }
        }
    }
    return (y, idx)
}

private func refAvgPool(_ x: [Float], _ s: PoolShape, includePad: Bool) -> [Float] {
    var y = [Float](repeating: 0, count: s.outCount)
    for p in 0..<(s.n * s.c) {
        for oy in 0..<s.oh {
            for ox in 0..<s.ow {
                let (rows, cols) = s.window(oy, ox)
                var sum = 0.0
                for r in rows { for c in cols { sum += Double(x[p * s.h * s.w + r * s.w + c]) } }
                y[(p * s.oh + oy) * s.ow + ox] = Float(sum / Double(includePad ? s.kh * s.kw : rows.count * cols.count))
            }
        }
    }
    return y
}

// MARK: - Calling helpers

private func maxPool(_ x: [Float], _ s: PoolShape) -> (y: [Float], idx: [Int32]) {
    var y = [Float](repeating: .nan, count: s.outCount), idx = [Int32](repeating: -7, count: s.outCount)
    XCTAssertEqual(tl_maxpool2d_forward(&y, &idx, x, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw), 0, "\(s)")
    return (y, idx)
}

private func maxPoolBackward(_ dy: [Float], _ idx: [Int32], _ s: PoolShape) -> [Float] {
    var dx = [Float](repeating: .nan, count: s.inCount)
    XCTAssertEqual(tl_maxpool2d_backward(&dx, dy, idx, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw), 0, "\(s)")
    return dx
}

private func avgPool(_ x: [Float], _ s: PoolShape, includePad: Bool) -> [Float] {
    var y = [Float](repeating: .nan, count: s.outCount)
    XCTAssertEqual(tl_avgpool2d_forward(&y, x, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, includePad ? 1 : 0), 0, "\(s)")
    return y
}

private func avgPoolBackward(_ dy: [Float], _ s: PoolShape, includePad: Bool) -> [Float] {
    var dx = [Float](repeating: .nan, count: s.inCount)
    XCTAssertEqual(tl_avgpool2d_backward(&dx, dy, s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, includePad ? 1 : 0), 0, "\(s)")
    return dx
}

final class MaxPoolTests: XCTestCase {
    func testForwardMatchesReference() {
        for s in shapes {
            let x = randomFloats(s.inCount, seed: UInt64(s.inCount), low: -5, high: 5)
            let (y, idx) = maxPool(x, s)
            let ref = refMaxPool(x, s)
            assertBitwiseEqual(y, ref.y, "\(s)")
            XCTAssertEqual(idx, ref.idx, "\(s)")
        }
    }

    func testTiesNaNAndPadding() {
        // A constant plane: every window picks its first element in row-major order, on both paths.
        for s in [fast2x2, stem] {
            let (y, idx) = maxPool([Float](repeating: 2, count: s.inCount), s)
            XCTAssertEqual(y, [Float](repeating: 2, count: s.outCount))
            XCTAssertEqual(idx, refMaxPool([Float](repeating: 2, count: s.inCount), s).idx, "\(s)")
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

    func testBackwardMatchesReferenceAndFiniteDifferences() {
        for s in shapes {
            let x = distinctInputs(s, seed: UInt64(s.inCount) + 1)
            let dir = randomFloats(s.outCount, seed: 3)
            let (_, idx) = maxPool(x, s)
            let dx = maxPoolBackward(dir, idx, s)
            var expected = [Float](repeating: 0, count: s.inCount)
            for o in 0..<s.outCount { expected[o / (s.oh * s.ow) * s.h * s.w + Int(idx[o])] += dir[o] }
            assertClose(dx, expected, rtol: 1e-6, atol: 1e-7, "\(s)")
            let numeric = numericalGradient(at: x, eps: 1e-2) { dot(maxPool($0, s).y, dir) }
            assertClose(dx, numeric, rtol: 1e-2, atol: 1e-3, "\(s)")
        }
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
    func testForwardMatchesReference() {
        for s in shapes {
            for includePad in [false, true] {
                let x = randomFloats(s.inCount, seed: UInt64(s.inCount) + 2, low: -5, high: 5)
                assertClose(avgPool(x, s, includePad: includePad), refAvgPool(x, s, includePad: includePad),
                            rtol: 1e-5, atol: 1e-6, "\(s) include_pad=\(includePad)")
            }
        }
        // The two divisors differ exactly on windows that overlap padding.
        let s = padded
        let ones = [Float](repeating: 1, count: s.inCount)
        XCTAssertEqual(avgPool(ones, s, includePad: false), [Float](repeating: 1, count: s.outCount))
        XCTAssertEqual(avgPool(ones, s, includePad: true)[0], 4.0 / 9.0, accuracy: 1e-7)
    }

    func testBackwardMatchesFiniteDifferences() {
        for s in shapes {
            for includePad in [false, true] {
                let x = randomFloats(s.inCount, seed: 4)
                let dir = randomFloats(s.outCount, seed: 5)
                let numeric = numericalGradient(at: x, eps: 1e-2) { dot(avgPool($0, s, includePad: includePad), dir) }
                assertClose(avgPoolBackward(dir, s, includePad: includePad), numeric, rtol: 1e-2, atol: 1e-3,
                            "\(s) include_pad=\(includePad)")
            }
        }
    }
}

final class GlobalAvgPoolTests: XCTestCase {
    func testForwardBackwardMatchReference() {
        for (n, c, h, w) in [(1, 1, 1, 1), (2, 3, 5, 7), (3, 2, 8, 8), (1, 4, 1, 17)] {
            let x = randomFloats(n * c * h * w, seed: UInt64(n * c * h * w), low: -2, high: 3)
            var y = [Float](repeating: .nan, count: n * c)
            XCTAssertEqual(tl_global_avgpool2d_forward(&y, x, n, c, h, w), 0)
            let ref = (0..<(n * c)).map { p in Float(x[(p * h * w)..<((p + 1) * h * w)].reduce(0.0) { $0 + Double($1) } / Double(h * w)) }
            assertClose(y, ref, rtol: 1e-6, atol: 1e-7)

            let dir = randomFloats(n * c, seed: 9)
            var dx = [Float](repeating: .nan, count: x.count)
            XCTAssertEqual(tl_global_avgpool2d_backward(&dx, dir, n, c, h, w), 0)
            let numeric = numericalGradient(at: x, eps: 1e-2) { probe -> Double in
                var out = [Float](repeating: 0, count: n * c)
                XCTAssertEqual(tl_global_avgpool2d_forward(&out, probe, n, c, h, w), 0)
                return dot(out, dir)
            }
            assertClose(dx, numeric, rtol: 1e-2, atol: 1e-4)
        }
    }

    func testLargeOffsetMeanIsAccurate() {
        // A float running sum of 4096 values near 1e4 would drift; the double accumulator does not.
        let x = randomFloats(64 * 64, seed: 3, low: 10_000, high: 10_001)
        var y: [Float] = [0]
        XCTAssertEqual(tl_global_avgpool2d_forward(&y, x, 1, 1, 64, 64), 0)
        XCTAssertEqual(Double(y[0]), x.reduce(0.0) { $0 + Double($1) } / 4096, accuracy: 1e-3)
    }
}

final class PoolThreadsAndArgumentsTests: XCTestCase {
    func testOneAndTwoThreadsBitwiseEqual() {
        let cases = [PoolShape(n: 4, c: 16, h: 32, w: 32, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0),
                     PoolShape(n: 4, c: 8, h: 33, w: 31, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1)]
        for s in cases {
            let x = randomFloats(s.inCount, seed: 1)
            let dy = randomFloats(s.outCount, seed: 2)
            let run = { () -> [Float] in
                let (y, idx) = maxPool(x, s)
                var out = y + idx.map { Float($0) } + maxPoolBackward(dy, idx, s)
                for pad in [false, true] { out += avgPool(x, s, includePad: pad) + avgPoolBackward(dy, s, includePad: pad) }
                var g = [Float](repeating: 0, count: s.n * s.c), gx = [Float](repeating: 0, count: s.inCount)
                XCTAssertEqual(tl_global_avgpool2d_forward(&g, x, s.n, s.c, s.h, s.w), 0)
                XCTAssertEqual(tl_global_avgpool2d_backward(&gx, dy, s.n, s.c, s.h, s.w), 0)
                return out + g + gx
            }
            assertBitwiseEqual(withThreads(1, run), withThreads(2, run), "\(s)")
        }
    }

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
