import Foundation
import XCTest
import KernelTable
import TrainingLab

/// Quantisation (include/tl_quant.h) beyond the kernel table's checks: hand-computed values, the grid and
/// saturation counts, the statistics of stochastic rounding, splitting a stream by offset, in-place use, the
/// int8 round-trip bound, AdaPT's lossless test, and bad arguments.

private let nearest = Int32(TL_ROUND_NEAREST.rawValue)
private let stochastic = Int32(TL_ROUND_STOCHASTIC.rawValue)

// MARK: - Kernel wrappers

private func fixedForward(_ x: [Float], wl: Int, fl: Int, rounding: Int32, seed: UInt64 = 0, offset: UInt64 = 0) -> ([Float], Int) {
    var y = [Float](repeating: .nan, count: x.count)
    var sat = -1
    XCTAssertEqual(tl_quant_fixed_forward(&y, x, x.count, Int32(wl), Int32(fl), rounding, seed, offset, &sat), 0, String(cString: tl_last_error()))
    return (y, sat)
}

private func histogram(_ x: [Float], bins: Int, lo: Float, hi: Float, clamp: Bool) -> [Int] {
    var counts = [Int](repeating: -1, count: bins)
    XCTAssertEqual(tl_quant_histogram(&counts, x, x.count, bins, lo, hi, clamp ? 1 : 0), 0, String(cString: tl_last_error()))
    return counts
}

final class QuantFixedTests: XCTestCase {
    func testHandComputedNearestWL8FL4() {
        // step 1/16, range [-8, 7.9375]; ties go to the even integer.
        let x: [Float] = [0.03, 0.03125, 0.09375, 0.15625, -0.03125, -0.09375, 7.9375, 7.97, 100, -8, -8.03, -8.04,
                          .infinity, -.infinity, 1.0 / 3.0]
        let expected: [Float] = [0, 0, 0.125, 0.125, 0, -0.125, 7.9375, 7.9375, 7.9375, -8, -8, -8, 7.9375, -8, 0.3125]
        let (y, sat) = fixedForward(x, wl: 8, fl: 4, rounding: nearest)
        XCTAssertEqual(y, expected)
        XCTAssertEqual(sat, 5) // 7.97, 100, -8.04, +inf, -inf
        let (n, nanSat) = fixedForward([.nan], wl: 8, fl: 4, rounding: nearest)
        XCTAssertTrue(n[0].isNaN)
        XCTAssertEqual(nanSat, 0)
    }

    func testOutputsOnGridInsideRange() {
        // AdaPT acceptance 4: Q(x; 8, 4) lies on multiples of 1/16 inside [-8, 7.9375], for both roundings.
        let x = randomFloats(10_001, seed: 3, low: -12, high: 12)
        for r in [nearest, stochastic] {
            let (y, sat) = fixedForward(x, wl: 8, fl: 4, rounding: r, seed: 9)
            XCTAssertTrue(y.allSatisfy { $0 >= -8 && $0 <= 7.9375 && ($0 * 16).rounded() == $0 * 16 })
            XCTAssertGreaterThanOrEqual(sat, x.filter { $0 < -8.07 || $0 > 7.97 }.count)
            XCTAssertLessThanOrEqual(sat, x.filter { $0 < -8 || $0 > 7.9375 }.count)
        }
    }

    func testStochasticRoundingIsUnbiasedAndBracketed() {
        // AdaPT acceptance 4: the mean of 1e5 stochastic roundings of 0.03 at FL = 4 is 0.03 +- 0.002.
        let n = 100_000
        let (y, _) = fixedForward([Float](repeating: 0.03, count: n), wl: 8, fl: 4, rounding: stochastic, seed: 11, offset: 3)
        XCTAssertTrue(y.allSatisfy { $0 == 0 || $0 == 0.0625 })
        XCTAssertEqual(y.reduce(0.0) { $0 + Double($1) } / Double(n), 0.03, accuracy: 0.002)
        // A negative value with another fraction: P(up) = 0.2 at FL = 2.
        let (z, _) = fixedForward([Float](repeating: -0.3, count: n), wl: 8, fl: 2, rounding: stochastic, seed: 12)
        XCTAssertTrue(z.allSatisfy { $0 == -0.5 || $0 == -0.25 })
        XCTAssertEqual(z.reduce(0.0) { $0 + Double($1) } / Double(n), -0.3, accuracy: 0.0015)
        // Values already on the grid never move.
        let grid = (0..<1000).map { Float($0 - 500) / 16 }
        XCTAssertEqual(fixedForward(grid, wl: 12, fl: 4, rounding: stochastic, seed: 5).0, grid)
        // Every output is floor or ceil of x on the grid.
        let x = randomFloats(5000, seed: 4, low: -3, high: 3)
        let (w, _) = fixedForward(x, wl: 16, fl: 5, rounding: stochastic, seed: 6)
        for i in x.indices {
            let lo = (x[i] * 32).rounded(.down) / 32, hi = (x[i] * 32).rounded(.up) / 32
            XCTAssertTrue(w[i] == lo || w[i] == hi, "\(x[i]) -> \(w[i])")
        }
    }

    func testStochasticDependsOnlyOnSeedAndIndex() {
        let n = 300_001
        let x = randomFloats(n, seed: 21, low: -2, high: 2)
        let one = fixedForward(x, wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7)
        // Splitting the call at an odd index with the matching offset gives the same elements.
        let cut = 12_345
        let head = fixedForward(Array(x[..<cut]), wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7)
        let tail = fixedForward(Array(x[cut...]), wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7 + UInt64(cut))
        assertBitwiseEqual(head.0 + tail.0, one.0)
        // A different offset gives different noise.
        let other = fixedForward(x, wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 8)
        XCTAssertNotEqual(other.0, one.0)
    }

    func testInPlace() {
        let x = randomFloats(1001, seed: 8, low: -5, high: 5)
        var y = x
        XCTAssertEqual(tl_quant_fixed_forward(&y, y, y.count, 8, 4, stochastic, 3, 0, nil), 0)
        assertBitwiseEqual(y, Reference.fixedPoint(x, wl: 8, fl: 4, rounding: stochastic, seed: 3, offset: 0).y)
        let big = randomFloats(100_001, seed: 9, low: -9, high: 9)
        var z = big
        var sat = 0
        XCTAssertEqual(tl_quant_fixed_forward(&z, z, z.count, 8, 4, nearest, 0, 0, &sat), 0)
        let (e, esat) = Reference.fixedPoint(big, wl: 8, fl: 4, rounding: nearest, seed: 0, offset: 0)
        assertBitwiseEqual(z, e)
        XCTAssertEqual(sat, esat)
    }

    func testClippedStraightThroughBackward() {
        // WL 8, FL 4: representable range [-8, 7.9375].
        let x: [Float] = [0, 7.9375, 7.94, -8, -8.01, 3, .nan, .infinity]
        let dy: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        var dx = [Float](repeating: -1, count: x.count)
        XCTAssertEqual(tl_quant_fixed_backward(&dx, dy, x, x.count, 8, 4), 0)
        XCTAssertEqual(dx, [1, 2, 0, 4, 0, 6, 0, 0])
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 4)
        let x = [Float](repeating: 1, count: 4)
        assertFails(tl_quant_fixed_forward(nil, x, 4, 8, 4, nearest, 0, 0, nil), TL_ERR_NULL_POINTER, mentioning: "tl_quant_fixed_forward")
        assertFails(tl_quant_fixed_forward(&y, nil, 4, 8, 4, nearest, 0, 0, nil), TL_ERR_NULL_POINTER, mentioning: "x")
        assertFails(tl_quant_fixed_forward(&y, x, -1, 8, 4, nearest, 0, 0, nil), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_quant_fixed_forward(&y, x, 4, 0, 4, nearest, 0, 0, nil), TL_ERR_INVALID_ARGUMENT, mentioning: "wl")
        assertFails(tl_quant_fixed_forward(&y, x, 4, 33, 4, nearest, 0, 0, nil), TL_ERR_INVALID_ARGUMENT, mentioning: "wl")
        assertFails(tl_quant_fixed_forward(&y, x, 4, 8, 65, nearest, 0, 0, nil), TL_ERR_INVALID_ARGUMENT, mentioning: "fl")
        assertFails(tl_quant_fixed_forward(&y, x, 4, 8, 4, 2, 0, 0, nil), TL_ERR_INVALID_ARGUMENT, mentioning: "rounding")
        assertFails(tl_quant_fixed_backward(&y, nil, x, 4, 8, 4), TL_ERR_NULL_POINTER, mentioning: "dy")
        assertFails(tl_quant_fixed_backward(&y, x, x, 4, 8, -65), TL_ERR_INVALID_ARGUMENT, mentioning: "fl")
        XCTAssertEqual(tl_quant_fixed_forward(&y, x, 0, 8, 4, nearest, 0, 0, nil), 0) // n = 0: no-op
    }
}

final class QuantInt8Tests: XCTestCase {
    func testHandComputedPerTensor() {
        let x: [Float] = [1, -0.5, 0.25, 0, -1, 0.7]
        var q = [Int8](repeating: 99, count: x.count)
        var scale: Float = -1
        XCTAssertEqual(tl_quant_int8_quantize(&q, &scale, x, 1, x.count), 0)
        XCTAssertEqual(scale, Float(1) / 127)
        XCTAssertEqual(q, [127, -64, 32, 0, -127, 89]) // -63.5 -> -64 (ties to even), 31.75 -> 32, 88.9 -> 89
        var back = [Float](repeating: 0, count: x.count)
        XCTAssertEqual(tl_quant_int8_dequantize(&back, q, &scale, 1, x.count), 0)
        XCTAssertEqual(back, q.map { Float($0) * scale })
    }

    func testFakeQuantInPlaceAndWithinHalfAStep() {
        for (channels, inner) in [(1, 1000), (3, 7), (5, 40_000)] {
            var x = randomFloats(channels * inner, seed: UInt64(channels * 31 + inner), low: -3, high: 3)
            for i in 0..<inner { x[i] = 0 } // channel 0 all zero: scale 0, q 0
            if channels > 1 { x[inner] = 50 }
            let (q, scales) = Reference.int8(x, channels: channels)
            XCTAssertEqual(scales[0], 0)
            let expected = x.indices.map { Float(q[$0]) * scales[$0 / inner] }
            var inPlace = x
            XCTAssertEqual(tl_quant_int8_fake_forward(&inPlace, nil, inPlace, channels, inner), 0)
            assertBitwiseEqual(inPlace, expected)
            // The round trip moves every value by at most half a step.
            for i in x.indices { XCTAssertLessThanOrEqual(abs(inPlace[i] - x[i]), scales[i / inner] * 0.5001 + 1e-7) }
        }
    }

    func testBadArguments() {
        var q = [Int8](repeating: 0, count: 4)
        var s = [Float](repeating: 0, count: 2)
        var y = [Float](repeating: 0, count: 4)
        let x: [Float] = [1, 2, 3, 4]
        assertFails(tl_quant_int8_quantize(nil, &s, x, 1, 4), TL_ERR_NULL_POINTER, mentioning: "q")
        assertFails(tl_quant_int8_quantize(&q, nil, x, 1, 4), TL_ERR_NULL_POINTER, mentioning: "scales")
        assertFails(tl_quant_int8_quantize(&q, &s, x, 0, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "channels")
        assertFails(tl_quant_int8_quantize(&q, &s, x, 2, -2), TL_ERR_INVALID_ARGUMENT, mentioning: "inner")
        assertFails(tl_quant_int8_quantize(&q, &s, [1, .nan, 3, 4], 2, 2), TL_ERR_NUMERIC, mentioning: "tl_quant_int8_quantize")
        assertFails(tl_quant_int8_fake_forward(&y, nil, [1, 2, .infinity, 4], 1, 4), TL_ERR_NUMERIC, mentioning: "tl_quant_int8_fake_forward")
        assertFails(tl_quant_int8_dequantize(&y, nil, s, 2, 2), TL_ERR_NULL_POINTER, mentioning: "q")
        assertFails(tl_quant_int8_dequantize(&y, q, s, -1, 2), TL_ERR_INVALID_ARGUMENT, mentioning: "channels")
    }
}

final class QuantHistogramTests: XCTestCase {
    func testHandComputedHistogram() {
        let x: [Float] = [0, 0.1, 0.5, 0.99, 1.0, -0.1, 1.1, .nan, 0.25]
        XCTAssertEqual(histogram(x, bins: 4, lo: 0, hi: 1, clamp: false), [2, 1, 1, 2])
        XCTAssertEqual(histogram(x, bins: 4, lo: 0, hi: 1, clamp: true), [3, 1, 1, 3])
        XCTAssertEqual(histogram([2, 2, 3], bins: 3, lo: 2, hi: 2, clamp: false), [2, 0, 0]) // lo == hi
        var range = [Float](repeating: 0, count: 2)
        XCTAssertEqual(tl_quant_minmax(&range, x, x.count), 0)
        XCTAssertEqual(range, [-0.1, 1.1])
    }

    func testKLHandComputed() {
        var kl = -1.0
        XCTAssertEqual(tl_quant_kl_divergence(&kl, [3, 1, 0], [3, 1, 0], 3, 1e-10), 0)
        XCTAssertEqual(kl, 0) // identical histograms: exactly 0
        XCTAssertEqual(tl_quant_kl_divergence(&kl, [1, 1], [2, 0], 2, 0), 0)
        XCTAssertEqual(kl, .infinity) // empty q bin under mass without smoothing
        XCTAssertEqual(tl_quant_kl_divergence(&kl, [1, 1], [1, 3], 2, 0), 0)
        XCTAssertEqual(kl, 0.5 * log(0.5 / 0.25) + 0.5 * log(0.5 / 0.75), accuracy: 1e-15)
        XCTAssertEqual(tl_quant_kl_divergence(&kl, [1, 1], [2, 0], 2, 0.01), 0)
        let p = (0.5 + 0.01) / 1.02, q0 = (1 + 0.01) / 1.02, q1 = 0.01 / 1.02
        XCTAssertEqual(kl, p * log(p / q0) + p * log(p / q1), accuracy: 1e-14)
        XCTAssertEqual(tl_quant_kl_divergence(&kl, [1, 1], [0, 0], 2, 0.01), 0)
        XCTAssertEqual(kl, .infinity) // nothing in q
    }

    func testFixedKLLosslessOnlyWhenRepresentable() {
        // Values on the 1/16 grid inside [-8, 8): lossless at (8, 4) and any finer precision, lossy when coarser.
        let x = (0..<2000).map { Float(($0 * 37) % 256 - 128) / 16 }
        var kl = -1.0
        XCTAssertEqual(tl_quant_fixed_kl(&kl, nil, x, x.count, 64, 8, 4, stochastic, 1, 0, 1e-10, 0), 0)
        XCTAssertEqual(kl, 0)
        XCTAssertEqual(tl_quant_fixed_kl(&kl, nil, x, x.count, 64, 12, 6, nearest, 1, 0, 1e-10, 0), 0)
        XCTAssertEqual(kl, 0)
        XCTAssertEqual(tl_quant_fixed_kl(&kl, nil, x, x.count, 64, 8, 2, nearest, 1, 0, 1e-10, 0), 0)
        XCTAssertGreaterThan(kl, 1e-9)
        XCTAssertEqual(tl_quant_fixed_kl(&kl, nil, x, x.count, 64, 6, 4, nearest, 1, 0, 1e-10, 0), 0) // saturates at +-2
        XCTAssertGreaterThan(kl, 1e-9)
    }

    func testBadArguments() {
        var counts = [Int](repeating: 0, count: 4)
        var kl = 0.0
        let x: [Float] = [1, 2, 3]
        assertFails(tl_quant_histogram(nil, x, 3, 4, 0, 1, 0), TL_ERR_NULL_POINTER, mentioning: "counts")
        assertFails(tl_quant_histogram(&counts, x, 3, 0, 0, 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "bins")
        assertFails(tl_quant_histogram(&counts, x, 3, 4, 2, 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "lo <= hi")
        assertFails(tl_quant_histogram(&counts, x, 3, 4, 0, .infinity, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "finite")
        assertFails(tl_quant_histogram(&counts, x, 3, 4, 0, 1, 2), TL_ERR_INVALID_ARGUMENT, mentioning: "clamp_outside")
        assertFails(tl_quant_histogram(&counts, x, -3, 4, 0, 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_quant_kl_divergence(&kl, [0, 0], [1, 1], 2, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "empty")
        assertFails(tl_quant_kl_divergence(&kl, [1, -1], [1, 1], 2, 0), TL_ERR_INVALID_ARGUMENT, mentioning: ">= 0")
        assertFails(tl_quant_kl_divergence(&kl, [1, 1], [1, 1], 2, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
        assertFails(tl_quant_kl_divergence(nil, [1, 1], [1, 1], 2, 0), TL_ERR_NULL_POINTER, mentioning: "kl")
        assertFails(tl_quant_fixed_kl(&kl, nil, x, 3, 0, 8, 4, nearest, 0, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "bins")
        assertFails(tl_quant_fixed_kl(&kl, nil, x, 0, 4, 8, 4, nearest, 0, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_quant_fixed_kl(&kl, nil, x, 3, 4, 40, 4, nearest, 0, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "wl")
        assertFails(tl_quant_fixed_kl(&kl, nil, [1, .infinity], 2, 4, 8, 4, nearest, 0, 0, 0, 0), TL_ERR_NUMERIC, mentioning: "infinity")
        var range = [Float](repeating: 0, count: 2)
        assertFails(tl_quant_minmax(&range, [.nan, .nan], 2), TL_ERR_NUMERIC, mentioning: "tl_quant_minmax")
    }
}
