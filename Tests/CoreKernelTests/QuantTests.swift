import Foundation
import XCTest
import TrainingLab

// MARK: - Swift references

private let nearest = Int32(TL_ROUND_NEAREST.rawValue)
private let stochastic = Int32(TL_ROUND_STOCHASTIC.rawValue)

/// Fixed-point limits exactly as documented in tl_quant.h: scale 2^FL, integer range [-2^(WL-1), largest float <= 2^(WL-1)-1].
private func fixedLimits(wl: Int, fl: Int) -> (scale: Float, step: Float, lo: Float, hi: Float) {
    let hd = Double(1 << (wl - 1)) - 1
    var hf = Float(hd)
    if Double(hf) > hd { hf = hf.nextDown }
    return (Float(sign: .plus, exponent: fl, significand: 1), Float(sign: .plus, exponent: -fl, significand: 1),
            -Float(sign: .plus, exponent: wl - 1, significand: 1), hf)
}

/// Reference fixed-point fake-quant, one element at a time; returns the output and the saturation count.
private func refFixed(_ x: [Float], wl: Int, fl: Int, rounding: Int32, seed: UInt64 = 0, offset: UInt64 = 0) -> ([Float], Int) {
    let (scale, step, lo, hi) = fixedLimits(wl: wl, fl: fl)
    var sat = 0
    let y = x.enumerated().map { i, v -> Float in
        let s = v * scale
        var r: Float
        if rounding == nearest {
            r = s.rounded(.toNearestOrEven)
        } else {
            let u = tl_u32_to_unit(tl_rng_u32(seed, offset + UInt64(i)))
            let f = s.rounded(.down)
            r = f + (u < s - f ? 1 : 0)
        }
        if r < lo || r > hi { sat += 1 }
        r = r < lo ? lo : r
        r = r > hi ? hi : r
        return r * step
    }
    return (y, sat)
}

private func refInt8(_ x: [Float], channels: Int) -> ([Int8], [Float]) {
    let inner = x.count / channels
    var q = [Int8](repeating: 0, count: x.count)
    var scales = [Float](repeating: 0, count: channels)
    for c in 0..<channels {
        let amax = x[(c * inner)..<((c + 1) * inner)].reduce(Float(0)) { max($0, abs($1)) }
        let scale = amax / 127
        scales[c] = scale
        for i in (c * inner)..<((c + 1) * inner) {
            guard scale != 0 else { continue }
            q[i] = Int8(min(max((x[i] / scale).rounded(.toNearestOrEven), -127), 127))
        }
    }
    return (q, scales)
}

private func refHistogram(_ x: [Float], bins: Int, lo: Float, hi: Float, clamp: Bool) -> [Int] {
    var counts = [Int](repeating: 0, count: bins)
    let invWidth = hi > lo ? Double(bins) / (Double(hi) - Double(lo)) : 0
    for v in x {
        let d = Double(v)
        if d >= Double(lo) && d <= Double(hi) {
            counts[min(Int((d - Double(lo)) * invWidth), bins - 1)] += 1
        } else if clamp && !v.isNaN {
            counts[d < Double(lo) ? 0 : bins - 1] += 1
        }
    }
    return counts
}

private func refKL(_ p: [Int], _ q: [Int], eps: Double) -> Double {
    let sp = Double(p.reduce(0, +)), sq = Double(q.reduce(0, +))
    if sq == 0 { return .infinity }
    let norm = 1 + Double(p.count) * eps
    var kl = 0.0
    for i in p.indices {
        let pi = (Double(p[i]) / sp + eps) / norm, qi = (Double(q[i]) / sq + eps) / norm
        if pi > 0 { kl += qi > 0 ? pi * log(pi / qi) : .infinity }
    }
    return kl
}

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

    func testMatchesReferenceBitwise() {
        let configs: [(wl: Int, fl: Int)] = [(8, 4), (1, 0), (2, 1), (16, 12), (24, 30), (32, 16), (32, 0), (6, -3), (12, 64), (9, -64)]
        for n in [1, 3, 7, 33, 1000, 40_003] {
            let x = randomFloats(n, seed: UInt64(n), low: -40, high: 40).map { $0 * $0 * $0 / 100 }
            for (wl, fl) in configs {
                for (r, offset) in [(nearest, UInt64(0)), (stochastic, UInt64(0)), (stochastic, UInt64(5)), (stochastic, UInt64(1) << 33 | 3),
                                     (stochastic, 4 * ((UInt64(1) << 32) - 5) + 2)] { // the last: the counter's low word wraps
                    let (y, sat) = fixedForward(x, wl: wl, fl: fl, rounding: r, seed: 77, offset: offset)
                    let (e, esat) = refFixed(x, wl: wl, fl: fl, rounding: r, seed: 77, offset: offset)
                    assertBitwiseEqual(y, e, "n \(n) wl \(wl) fl \(fl) rounding \(r) offset \(offset)")
                    XCTAssertEqual(sat, esat, "n \(n) wl \(wl) fl \(fl)")
                }
            }
        }
    }

    func testStochasticDependsOnlyOnSeedAndIndex() {
        let n = 300_001
        let x = randomFloats(n, seed: 21, low: -2, high: 2)
        let one = withThreads(1) { fixedForward(x, wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7) }
        let two = withThreads(2) { fixedForward(x, wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7) }
        assertBitwiseEqual(one.0, two.0)
        XCTAssertEqual(one.1, two.1)
        // Splitting the call at an odd index with the matching offset gives the same elements.
        let cut = 12_345
        let head = fixedForward(Array(x[..<cut]), wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7)
        let tail = fixedForward(Array(x[cut...]), wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 7 + UInt64(cut))
        assertBitwiseEqual(head.0 + tail.0, one.0)
        // A different offset gives different noise.
        let other = fixedForward(x, wl: 10, fl: 6, rounding: stochastic, seed: 5, offset: 8)
        XCTAssertNotEqual(other.0, one.0)
        let near1 = withThreads(1) { fixedForward(x, wl: 10, fl: 6, rounding: nearest) }
        let near2 = withThreads(2) { fixedForward(x, wl: 10, fl: 6, rounding: nearest) }
        assertBitwiseEqual(near1.0, near2.0)
    }

    func testInPlace() {
        let x = randomFloats(1001, seed: 8, low: -5, high: 5)
        var y = x
        XCTAssertEqual(tl_quant_fixed_forward(&y, y, y.count, 8, 4, stochastic, 3, 0, nil), 0)
        assertBitwiseEqual(y, refFixed(x, wl: 8, fl: 4, rounding: stochastic, seed: 3).0)
        let big = randomFloats(100_001, seed: 9, low: -9, high: 9)
        var z = big
        var sat = 0
        XCTAssertEqual(tl_quant_fixed_forward(&z, z, z.count, 8, 4, nearest, 0, 0, &sat), 0)
        let (e, esat) = refFixed(big, wl: 8, fl: 4, rounding: nearest)
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
        let big = randomFloats(100_000, seed: 2, low: -10, high: 10), g = randomFloats(100_000, seed: 3)
        var a = [Float](repeating: 0, count: big.count), b = a
        withThreads(1) { XCTAssertEqual(tl_quant_fixed_backward(&a, g, big, big.count, 8, 4), 0) }
        withThreads(2) { XCTAssertEqual(tl_quant_fixed_backward(&b, g, big, big.count, 8, 4), 0) }
        assertBitwiseEqual(a, b)
        assertBitwiseEqual(a, big.indices.map { big[$0] >= -8 && big[$0] <= 7.9375 ? g[$0] : 0 })
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

    func testPerChannelMatchesReference() {
        for (channels, inner) in [(1, 1), (1, 1000), (3, 7), (16, 9), (5, 40_000), (64, 1)] {
            var x = randomFloats(channels * inner, seed: UInt64(channels * 31 + inner), low: -3, high: 3)
            for i in 0..<inner { x[i] = 0 } // channel 0 all zero: scale 0, q 0
            if channels > 1 { x[inner] = 50 }
            let (eq, es) = refInt8(x, channels: channels)
            var q = [Int8](repeating: 99, count: x.count), scales = [Float](repeating: -1, count: channels)
            XCTAssertEqual(tl_quant_int8_quantize(&q, &scales, x, channels, inner), 0)
            XCTAssertEqual(q, eq, "\(channels)x\(inner)")
            assertBitwiseEqual(scales, es)
            XCTAssertEqual(scales[0], 0)
            var back = [Float](repeating: -1, count: x.count)
            XCTAssertEqual(tl_quant_int8_dequantize(&back, q, scales, channels, inner), 0)
            let expectedBack = x.indices.map { Float(eq[$0]) * es[$0 / inner] }
            assertBitwiseEqual(back, expectedBack)
            // fake quant equals dequantize(quantize(x)) bitwise, also in place, with and without scales.
            var fake = [Float](repeating: -1, count: x.count), fakeScales = [Float](repeating: -1, count: channels)
            XCTAssertEqual(tl_quant_int8_fake_forward(&fake, &fakeScales, x, channels, inner), 0)
            assertBitwiseEqual(fake, expectedBack)
            assertBitwiseEqual(fakeScales, es)
            var inPlace = x
            XCTAssertEqual(tl_quant_int8_fake_forward(&inPlace, nil, inPlace, channels, inner), 0)
            assertBitwiseEqual(inPlace, expectedBack)
            // Error of the round trip is at most half a step.
            for i in x.indices { XCTAssertLessThanOrEqual(abs(back[i] - x[i]), es[i / inner] * 0.5001 + 1e-7) }
        }
    }

    func testThreadsBitwise() {
        let x = randomFloats(300_000, seed: 44, low: -2, high: 2)
        for channels in [1, 3, 300] {
            let run = { () -> [Float] in
                var y = [Float](repeating: 0, count: x.count)
                XCTAssertEqual(tl_quant_int8_fake_forward(&y, nil, x, channels, x.count / channels), 0)
                return y
            }
            assertBitwiseEqual(withThreads(1, run), withThreads(2, run), "channels \(channels)")
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

    func testHistogramMatchesReferenceAndThreads() {
        for n in [1, 17, 5000, 200_001] {
            let x = randomFloats(n, seed: UInt64(n) + 5, low: -3, high: 2)
            for bins in [1, 7, 150] {
                for clamp in [false, true] {
                    let e = refHistogram(x, bins: bins, lo: -2.5, hi: 1.5, clamp: clamp)
                    let a = withThreads(1) { histogram(x, bins: bins, lo: -2.5, hi: 1.5, clamp: clamp) }
                    let b = withThreads(2) { histogram(x, bins: bins, lo: -2.5, hi: 1.5, clamp: clamp) }
                    XCTAssertEqual(a, e, "n \(n) bins \(bins) clamp \(clamp)")
                    XCTAssertEqual(b, e)
                }
            }
        }
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

    func testFixedKLMatchesReference() {
        let x = randomFloats(30_001, seed: 90, low: -1, high: 1).map { $0 * abs($0) * 1.7 }
        for (wl, fl, r, clamp) in [(8, 4, nearest, 0), (8, 4, stochastic, 0), (12, 9, stochastic, 1), (6, 2, nearest, 1), (4, 4, stochastic, 0)] {
            var kl = -1.0
            var range = [Float](repeating: 0, count: 2)
            XCTAssertEqual(tl_quant_fixed_kl(&kl, &range, x, x.count, 50, Int32(wl), Int32(fl), r, 13, 100, 1e-10, Int32(clamp)), 0)
            let lo = x.min()!, hi = x.max()!
            XCTAssertEqual(range, [lo, hi])
            let q = refFixed(x, wl: wl, fl: fl, rounding: r, seed: 13, offset: 100).0
            let e = refKL(refHistogram(x, bins: 50, lo: lo, hi: hi, clamp: false), refHistogram(q, bins: 50, lo: lo, hi: hi, clamp: clamp == 1), eps: 1e-10)
            XCTAssertEqual(kl, e, accuracy: 1e-12 + 1e-12 * abs(e), "wl \(wl) fl \(fl)")
            let two = withThreads(2) { () -> Double in
                var k = -1.0
                XCTAssertEqual(tl_quant_fixed_kl(&k, nil, x, x.count, 50, Int32(wl), Int32(fl), r, 13, 100, 1e-10, Int32(clamp)), 0)
                return k
            }
            let one = withThreads(1) { () -> Double in
                var k = -1.0
                XCTAssertEqual(tl_quant_fixed_kl(&k, nil, x, x.count, 50, Int32(wl), Int32(fl), r, 13, 100, 1e-10, Int32(clamp)), 0)
                return k
            }
            XCTAssertEqual(one.bitPattern, two.bitPattern)
        }
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
