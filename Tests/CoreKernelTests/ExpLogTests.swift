import XCTest
import Foundation
import TrainingLab

/// log sum exp over the selected entries of slice (o, i) of x (outer, axis, inner), plain Double; nil when empty.
private func refMaskedLSE(_ x: [Float], _ mask: [UInt8]?, _ o: Int, _ i: Int, _ axis: Int, _ inner: Int) -> Double? {
    let picked = (0..<axis).map { o * axis * inner + $0 * inner + i }.filter { mask == nil || mask![$0] != 0 }
    guard !picked.isEmpty else { return nil }
    let m = picked.map { Double(x[$0]) }.max()!
    return m + Foundation.log(picked.reduce(0.0) { $0 + Foundation.exp(Double(x[$1]) - m) })
}

final class ExpLogTests: XCTestCase {
    func testExpAndLogMatchLibmAndTheirDerivatives() {
        let n = 70_001  // above the parallel threshold, odd
        let x = randomFloats(n, seed: 21, low: -5, high: 5)
        var y = [Float](repeating: 0, count: n)
        XCTAssertEqual(tl_exp_forward(&y, x, n), 0)
        assertClose(y, x.map { Float(Foundation.exp(Double($0))) }, rtol: 1e-6, atol: 0)
        let dy = randomFloats(n, seed: 22)
        var dx = [Float](repeating: 0, count: n)
        XCTAssertEqual(tl_exp_backward(&dx, dy, y, n), 0)
        assertClose(dx, (0..<n).map { dy[$0] * y[$0] }, rtol: 1e-6, atol: 0)

        let positive = randomFloats(n, seed: 23, low: 0.01, high: 10)
        XCTAssertEqual(tl_log_forward(&y, positive, n), 0)
        assertClose(y, positive.map { Float(Foundation.log(Double($0))) }, rtol: 1e-6, atol: 1e-7)
        XCTAssertEqual(tl_log_backward(&dx, dy, positive, n), 0)
        assertClose(dx, (0..<n).map { dy[$0] / positive[$0] }, rtol: 1e-6, atol: 0)
        var edge = [Float](repeating: 0, count: 2)
        XCTAssertEqual(tl_log_forward(&edge, [0, -1], 2), 0)
        XCTAssertEqual(edge[0], -.infinity)
        XCTAssertTrue(edge[1].isNaN)
    }

    func testMaskedLogSumExpOfRowsAndColumnsMatchesTheReference() {
        for (outer, axis, inner) in [(7, 9, 1), (1, 9, 7), (3, 300, 5), (64, 600, 1)] {
            let count = outer * axis * inner
            let x = randomFloats(count, seed: UInt64(count), low: -20, high: 20)
            var bits = randomFloats(count, seed: UInt64(count) + 1, low: 0, high: 1).map { UInt8($0 < 0.6 ? 1 : 0) }
            for j in 0..<axis { bits[j * inner] = 0 }  // slice (0, 0) selects nothing
            for mask in [nil, bits] {
                var out = [Float](repeating: 0, count: outer * inner)
                XCTAssertEqual(tl_masked_logsumexp_forward(&out, x, mask, outer, axis, inner), 0)
                for o in 0..<outer {
                    for i in 0..<inner {
                        let value = out[o * inner + i]
                        if let expected = refMaskedLSE(x, mask, o, i, axis, inner) {
                            XCTAssertEqual(Double(value), expected, accuracy: 1e-5 * max(1, abs(expected)), "\(outer)x\(axis)x\(inner) slice \(o),\(i)")
                        } else {
                            XCTAssertEqual(value, -.infinity, "empty slice")
                        }
                    }
                }
            }
        }
    }

    func testMaskedLogSumExpHandlesLargeValuesAndNonFiniteInput() {
        var out = [Float](repeating: 0, count: 1)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [1000, 1000, -5], nil, 1, 3, 1), 0)
        XCTAssertEqual(out[0], 1000 + Float(Foundation.log(2.0)), accuracy: 1e-3)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [.nan, 1, 2], nil, 1, 3, 1), 0)
        XCTAssertTrue(out[0].isNaN)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [.infinity, 1], nil, 1, 2, 1), 0)
        XCTAssertEqual(out[0], .infinity)
        // A masked-out NaN is not read.
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [.nan, 1, 2], [0, 1, 1], 1, 3, 1), 0)
        XCTAssertEqual(Double(out[0]), 2 + Foundation.log(1 + Foundation.exp(-1.0)), accuracy: 1e-6)
    }

    func testMaskedLogSumExpBackwardMatchesFiniteDifferences() {
        let (outer, axis, inner) = (3, 6, 4)
        let count = outer * axis * inner
        let x = randomFloats(count, seed: 31, low: -3, high: 3)
        var mask = randomFloats(count, seed: 32, low: 0, high: 1).map { UInt8($0 < 0.5 ? 1 : 0) }
        for j in 0..<axis { mask[j * inner + 1] = 0 }  // an empty slice: no gradient
        var out = [Float](repeating: 0, count: outer * inner)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, x, mask, outer, axis, inner), 0)
        let dout = randomFloats(outer * inner, seed: 33)
        var dx = [Float](repeating: 0, count: count)
        XCTAssertEqual(tl_masked_logsumexp_backward(&dx, dout, x, out, mask, outer, axis, inner), 0)
        let numeric = numericalGradient(at: x, eps: 1e-2) { probe in
            var o = [Float](repeating: 0, count: outer * inner)
            _ = tl_masked_logsumexp_forward(&o, probe, mask, outer, axis, inner)
            return (0..<o.count).reduce(0.0) { $0 + (o[$1].isFinite ? Double(o[$1]) * Double(dout[$1]) : 0) }
        }
        assertClose(dx, numeric, rtol: 2e-2, atol: 2e-3)
        for j in 0..<axis { XCTAssertEqual(dx[j * inner + 1], 0) }
    }

    func testMaskedLogSumExpIsThreadCountIndependent() {
        let (outer, axis, inner) = (512, 512, 1)
        let x = randomFloats(outer * axis, seed: 41, low: -14, high: 14)
        let run = { (threads: Int) -> [Float] in
            withThreads(threads) {
                var out = [Float](repeating: 0, count: outer)
                XCTAssertEqual(tl_masked_logsumexp_forward(&out, x, nil, outer, axis, inner), 0)
                return out
            }
        }
        assertBitwiseEqual(run(1), run(2))
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 4)
        let x = [Float](repeating: 0, count: 4)
        assertFails(tl_exp_forward(&y, nil, 4), TL_ERR_NULL_POINTER, mentioning: "tl_exp_forward")
        assertFails(tl_log_backward(&y, x, nil, 4), TL_ERR_NULL_POINTER, mentioning: "tl_log_backward")
        assertFails(tl_log_forward(&y, x, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_masked_logsumexp_forward(&y, x, nil, 1, -2, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "axis")
        assertFails(tl_masked_logsumexp_backward(&y, nil, x, x, nil, 1, 4, 1), TL_ERR_NULL_POINTER, mentioning: "dout")
    }
}
