import Foundation
import XCTest
import TrainingLab

/// LIF (include/tl_lif.h) beyond the kernel table's checks: hand-computed sequences (STAtten, AOI-SNN), the
/// optional outputs and rate kernels, step-by-step against multi-step, the vector path against the plain loop,
/// the surrogate backward as the exact gradient of a smooth LIF, and bad arguments.

// MARK: - Parameters and references

private func lifParams(charge: tl_lif_charge = TL_LIF_DECAY, decay: Float = 0.5, tau: Float = 2, threshold: Float = 1,
                       vReset: Float = 0, reset: tl_lif_reset = TL_LIF_RESET_HARD, detach: Bool = false,
                       surrogate: tl_lif_surrogate = TL_SURROGATE_FAST_SIGMOID, alpha: Float = 25) -> tl_lif_params {
    tl_lif_params(charge: Int32(charge.rawValue), decay: decay, tau: tau, v_threshold: threshold, v_reset: vReset,
                  reset: Int32(reset.rawValue), detach_reset: detach ? 1 : 0, surrogate: Int32(surrogate.rawValue), alpha: alpha)
}

/// The spike function whose derivative is exactly the surrogate: used for finite differences of a smooth LIF.
private func smoothSpike(_ z: Double, _ kind: Int32, _ a: Double) -> Double {
    switch kind {
    case Int32(TL_SURROGATE_SIGMOID.rawValue): return 1 / (1 + exp(-a * z))
    case Int32(TL_SURROGATE_FAST_SIGMOID.rawValue): return z / (1 + a * abs(z))
    case Int32(TL_SURROGATE_ARCTAN.rawValue): return atan(Double.pi / 2 * a * z) / Double.pi + 0.5
    default: return abs(z) >= a ? (z > 0 ? 1 : 0) : 0.5 + (a * z - z * abs(z) / 2) / (a * a)
    }
}

/// A LIF with the smooth spike (soft or no reset, reset not detached), in Double; returns pre-reset h, spikes, post-reset v, final v.
private func smoothForward(_ x: [Float], T: Int, N: Int, _ p: tl_lif_params, state: [Float])
    -> (h: [Double], s: [Double], v: [Double], final: [Double]) {
    var hs = [Double](repeating: 0, count: T * N), ss = hs, vs = hs, fin = [Double](repeating: 0, count: N)
    let tauForm = p.charge == Int32(TL_LIF_TAU.rawValue)
    for n in 0..<N {
        var v = Double(state[n])
        for t in 0..<T {
            let i = t * N + n
            let h = tauForm ? v + (Double(x[i]) - (v - Double(p.v_reset))) / Double(p.tau) : Double(p.decay) * v + Double(x[i])
            let s = smoothSpike(h - Double(p.v_threshold), p.surrogate, Double(p.alpha))
            v = p.reset == Int32(TL_LIF_RESET_SOFT.rawValue) ? h - Double(p.v_threshold) * s : h
            hs[i] = h; ss[i] = s; vs[i] = v
        }
        fin[n] = v
    }
    return (hs, ss, vs, fin)
}

private struct LIFOutputs {
    var s: [Float], h: [Float], v: [Float], rate: [Float], state: [Float]
}

// MARK: - Kernel wrappers

private func forward(_ x: [Float], T: Int, N: Int, _ p: tl_lif_params, state: [Float]? = nil) -> LIFOutputs {
    var o = LIFOutputs(s: x.map { _ in -1 }, h: x.map { _ in -1 }, v: x.map { _ in -1 }, rate: [Float](repeating: -1, count: N),
                       state: state ?? [])
    var params = p
    let status: Int32
    if state != nil {
        status = tl_lif_forward(&o.s, &o.h, &o.v, &o.rate, &o.state, x, T, N, &params)
    } else {
        status = tl_lif_forward(&o.s, &o.h, &o.v, &o.rate, nil, x, T, N, &params)
    }
    XCTAssertEqual(status, 0, String(cString: tl_last_error()))
    return o
}

private func backward(h: [Float], T: Int, N: Int, _ p: tl_lif_params, ds: [Float]?, dv: [Float]?, drate: [Float]?,
                      dState: [Float]?) -> ([Float], [Float]) {
    var dx = [Float](repeating: .nan, count: T * N)
    var state = dState ?? []
    var params = p
    let status = state.withUnsafeMutableBufferPointer { sp in
        tl_lif_backward(&dx, dState == nil ? nil : sp.baseAddress, ds, dv, drate, h, T, N, &params)
    }
    XCTAssertEqual(status, 0, String(cString: tl_last_error()))
    return (dx, state)
}

private let allSurrogates: [(tl_lif_surrogate, Float)] = [(TL_SURROGATE_SIGMOID, 4), (TL_SURROGATE_FAST_SIGMOID, 25),
                                                           (TL_SURROGATE_ARCTAN, 2), (TL_SURROGATE_TRIANGLE, 1)]

/// Every charge form x reset x detach x surrogate (decay 0.8, tau 2.5, threshold 1, reset to -0.1), with a label.
private let allModes: [(params: tl_lif_params, label: String)] = [TL_LIF_DECAY, TL_LIF_TAU].flatMap { charge in
    [TL_LIF_RESET_HARD, TL_LIF_RESET_SOFT, TL_LIF_RESET_NONE].flatMap { reset in
        [false, true].flatMap { detach in
            allSurrogates.map { kind, alpha in
                (lifParams(charge: charge, decay: 0.8, tau: 2.5, threshold: 1, vReset: -0.1, reset: reset, detach: detach,
                           surrogate: kind, alpha: alpha),
                 "charge \(charge.rawValue) reset \(reset.rawValue) detach \(detach) surrogate \(kind.rawValue)")
            }
        }
    }
}

// MARK: - Tests

final class LIFForwardTests: XCTestCase {
    func testSTAttenTauFormSpikesEverySecondStep() {
        // STAtten acceptance 4: X = 1.5, tau = 2, hard reset to 0: H = 0.75, 1.125 (spike), 0.75, 1.125, ...
        let p = lifParams(charge: TL_LIF_TAU, tau: 2, surrogate: TL_SURROGATE_SIGMOID, alpha: 4)
        let o = forward([Float](repeating: 1.5, count: 6), T: 6, N: 1, p)
        XCTAssertEqual(o.s, [0, 1, 0, 1, 0, 1])
        XCTAssertEqual(o.h, [0.75, 1.125, 0.75, 1.125, 0.75, 1.125])
        XCTAssertEqual(o.v, [0.75, 0, 0.75, 0, 0.75, 0])
        XCTAssertEqual(o.rate, [0.5])
        var g: Float = 0
        var z: Float = 0
        XCTAssertEqual(tl_lif_surrogate_grad(&g, &z, 1, Int32(TL_SURROGATE_SIGMOID.rawValue), 4), 0)
        XCTAssertEqual(g, 1) // a / 4 at H = V_th
    }

    func testDecayFormHardAndSoftReset() {
        // AOI-SNN: u = 0.5 v + I, I = 0.6: 0.6, 0.9, 1.05 (spike, v = 0), 0.6, 0.9, 1.05.
        let aoi = forward([Float](repeating: 0.6, count: 6), T: 6, N: 1, lifParams(decay: 0.5))
        XCTAssertEqual(aoi.s, [0, 0, 1, 0, 0, 1])
        assertClose(aoi.h, [0.6, 0.9, 1.05, 0.6, 0.9, 1.05], rtol: 1e-6, atol: 0)
        XCTAssertEqual(aoi.v[2], 0)
        // Integrate-and-fire (decay 1) with soft reset, on values exact in binary; h == threshold fires.
        let soft = forward([Float](repeating: 0.375, count: 7), T: 7, N: 1, lifParams(decay: 1, reset: TL_LIF_RESET_SOFT))
        XCTAssertEqual(soft.h, [0.375, 0.75, 1.125, 0.5, 0.875, 1.25, 0.625])
        XCTAssertEqual(soft.s, [0, 0, 1, 0, 0, 1, 0])
        XCTAssertEqual(soft.v, [0.375, 0.75, 0.125, 0.5, 0.875, 0.25, 0.625])
        let edge = forward([Float](repeating: 0.25, count: 5), T: 5, N: 1, lifParams(decay: 1, reset: TL_LIF_RESET_SOFT))
        XCTAssertEqual(edge.s, [0, 0, 0, 1, 0])
        XCTAssertEqual(edge.v, [0.25, 0.5, 0.75, 0, 0.25])
        // No reset: the membrane only integrates.
        let none = forward([Float](repeating: 0.5, count: 3), T: 3, N: 1, lifParams(decay: 1, reset: TL_LIF_RESET_NONE))
        XCTAssertEqual(none.s, [0, 1, 1])
        XCTAssertEqual(none.v, [0.5, 1, 1.5])
    }

    func testOptionalOutputsAndRateKernels() {
        let (T, N) = (4, 1500)
        let x = randomFloats(T * N, seed: 3, low: 0, high: 1.5)
        var p = lifParams(decay: 0.8)
        let full = forward(x, T: T, N: N, p)
        var s = [Float](repeating: -1, count: T * N)
        XCTAssertEqual(tl_lif_forward(&s, nil, nil, nil, nil, x, T, N, &p), 0) // inference: spikes only
        assertBitwiseEqual(s, full.s)
        var rate = [Float](repeating: -1, count: N)
        XCTAssertEqual(tl_lif_rate_forward(&rate, s, T, N), 0)
        assertBitwiseEqual(rate, full.rate)
        let drate = randomFloats(N, seed: 4)
        var ds = [Float](repeating: -1, count: T * N)
        XCTAssertEqual(tl_lif_rate_backward(&ds, drate, T, N), 0)
        assertBitwiseEqual(ds, (0..<(T * N)).map { drate[$0 % N] / Float(T) })
        // The fused drate of the LIF backward equals passing ds = drate / T.
        let fused = backward(h: full.h, T: T, N: N, p, ds: nil, dv: nil, drate: drate, dState: nil).0
        let split = backward(h: full.h, T: T, N: N, p, ds: ds, dv: nil, drate: nil, dState: nil).0
        assertBitwiseEqual(fused, split)
    }

    func testStepByStepEqualsMultiStep() {
        let (T, N) = (6, 777)
        let x = randomFloats(T * N, seed: 8, low: -0.2, high: 1.4)
        for p in [lifParams(decay: 0.6), lifParams(charge: TL_LIF_TAU, tau: 2, reset: TL_LIF_RESET_SOFT)] {
            let whole = forward(x, T: T, N: N, p, state: [Float](repeating: 0, count: N))
            var state = [Float](repeating: 0, count: N)
            var s: [Float] = [], h: [Float] = []
            for t in 0..<T {
                let o = forward(Array(x[(t * N)..<((t + 1) * N)]), T: 1, N: N, p, state: state)
                state = o.state
                s += o.s
                h += o.h
            }
            assertBitwiseEqual(s, whole.s)
            assertBitwiseEqual(h, whole.h)
            assertBitwiseEqual(state, whole.state)
            // Backward in two chunks, passing the state gradient back, equals one pass over all T.
            let ds = randomFloats(T * N, seed: 9), dFinal = randomFloats(N, seed: 10)
            let (dxAll, d0All) = backward(h: whole.h, T: T, N: N, p, ds: ds, dv: nil, drate: nil, dState: dFinal)
            let cut = 4 * N
            let (dxLate, dMid) = backward(h: Array(whole.h[cut...]), T: T - 4, N: N, p, ds: Array(ds[cut...]), dv: nil, drate: nil, dState: dFinal)
            let (dxEarly, d0) = backward(h: Array(whole.h[..<cut]), T: 4, N: N, p, ds: Array(ds[..<cut]), dv: nil, drate: nil, dState: dMid)
            assertBitwiseEqual(dxEarly + dxLate, dxAll)
            assertBitwiseEqual(d0, d0All)
        }
    }

    /// Runs forward and backward with every optional input and output on buffers from tl_alloc: 32-byte aligned
    /// (the AVX2 path when N % 8 == 0) or shifted by one float (the plain path). Returns every output, concatenated.
    private func runAll(_ x: [Float], T: Int, N: Int, _ p: tl_lif_params, aligned: Bool) -> [[Float]] {
        let shift = aligned ? 0 : 1
        func buffer(_ values: [Float]) -> UnsafeMutablePointer<Float> {
            let raw = tl_alloc((values.count + 8) * 4)!.bindMemory(to: Float.self, capacity: values.count + 8)
            (raw + shift).update(from: values, count: values.count)
            return raw
        }
        let n = T * N
        let bufs = [buffer(x), buffer([Float](repeating: -1, count: n)), buffer([Float](repeating: -1, count: n)),
                    buffer([Float](repeating: -1, count: n)), buffer(randomFloats(n, seed: 41)), buffer(randomFloats(n, seed: 42)),
                    buffer([Float](repeating: -1, count: n))]
        defer { bufs.forEach { tl_free($0) } }
        let (xb, sb, hb, vb, dsb, dvb, dxb) = (bufs[0] + shift, bufs[1] + shift, bufs[2] + shift, bufs[3] + shift,
                                               bufs[4] + shift, bufs[5] + shift, bufs[6] + shift)
        var rate = [Float](repeating: -1, count: N), state = randomFloats(N, seed: 43, low: -0.3, high: 0.9)
        var dState = randomFloats(N, seed: 44)
        let drate = randomFloats(N, seed: 45)
        var q = p
        XCTAssertEqual(tl_lif_forward(sb, hb, vb, &rate, &state, xb, T, N, &q), 0, String(cString: tl_last_error()))
        XCTAssertEqual(tl_lif_backward(dxb, &dState, dsb, dvb, drate, hb, T, N, &q), 0, String(cString: tl_last_error()))
        let outputs: [UnsafeMutablePointer<Float>] = [sb, hb, vb, dxb]
        let out: [[Float]] = outputs.map { (p: UnsafeMutablePointer<Float>) -> [Float] in Array(UnsafeBufferPointer(start: p, count: n)) }
        return out + [rate, state, dState]
    }

    func testVectorPathEqualsPlainPath() {
        // Every mode and surrogate, N a multiple of 8 over several blocks with a short last one.
        let (T, N) = (3, 2056)
        let x = randomFloats(T * N, seed: 40, low: -0.3, high: 1.8)
        for (p, label) in allModes {
            let vec = runAll(x, T: T, N: N, p, aligned: true), plain = runAll(x, T: T, N: N, p, aligned: false)
            for (a, b) in zip(vec, plain) { assertBitwiseEqual(a, b, label) }
        }
        // Non-finite membranes: the vector exp and clamps keep NaN and infinity as the plain loop does.
        var bad = x
        bad[5] = .nan; bad[N + 9] = .infinity; bad[2 * N + 17] = -.infinity
        let p = lifParams(surrogate: TL_SURROGATE_SIGMOID, alpha: 4)
        for (a, b) in zip(runAll(bad, T: T, N: N, p, aligned: true), runAll(bad, T: T, N: N, p, aligned: false)) { assertBitwiseEqual(a, b) }
    }

    func testLargeNonTemporalPathEqualsPlainPath() {
        // T*N >= 4M switches the aligned path to non-temporal stores.
        let (T, N) = (2, 2_097_152)
        let x = randomFloats(T * N, seed: 31, low: -0.2, high: 1.3)
        let p = lifParams(charge: TL_LIF_TAU, tau: 2, reset: TL_LIF_RESET_HARD, surrogate: TL_SURROGATE_ARCTAN, alpha: 2)
        let vec = runAll(x, T: T, N: N, p, aligned: true), plain = runAll(x, T: T, N: N, p, aligned: false)
        for (a, b) in zip(vec, plain) {
            // memcmp first: an element-wise check of 4M floats is slow in a debug build.
            let same = a.count == b.count && a.withUnsafeBytes { ra in b.withUnsafeBytes { rb in memcmp(ra.baseAddress!, rb.baseAddress!, ra.count) == 0 } }
            if !same { assertBitwiseEqual(a, b) }
        }
        XCTAssertGreaterThan(vec[0].prefix(10_000).reduce(0, +), 0)
    }

    func testBadArguments() {
        var p = lifParams()
        var s = [Float](repeating: 0, count: 4), h = s
        let x = [Float](repeating: 1, count: 4)
        assertFails(tl_lif_forward(nil, &h, nil, nil, nil, x, 2, 2, &p), TL_ERR_NULL_POINTER, mentioning: "tl_lif_forward")
        assertFails(tl_lif_forward(&s, &h, nil, nil, nil, nil, 2, 2, &p), TL_ERR_NULL_POINTER, mentioning: "x")
        assertFails(tl_lif_forward(&s, &h, nil, nil, nil, x, 2, 2, nil), TL_ERR_NULL_POINTER, mentioning: "params")
        assertFails(tl_lif_forward(&s, &h, nil, nil, nil, x, 0, 2, &p), TL_ERR_INVALID_ARGUMENT, mentioning: "T")
        assertFails(tl_lif_forward(&s, &h, nil, nil, nil, x, 2, -1, &p), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        XCTAssertEqual(tl_lif_forward(&s, &h, nil, nil, nil, x, 2, 0, &p), 0) // N = 0: no-op
        let bad: [(tl_lif_params, String)] = [
            (lifParams(charge: tl_lif_charge(rawValue: 2)), "charge"), (lifParams(charge: TL_LIF_TAU, tau: 0), "tau"),
            (lifParams(decay: .nan), "decay"), (lifParams(threshold: .infinity), "v_threshold"), (lifParams(vReset: .nan), "v_reset"),
            (lifParams(reset: tl_lif_reset(rawValue: 3)), "reset"), (lifParams(surrogate: tl_lif_surrogate(rawValue: 4)), "surrogate"),
            (lifParams(alpha: 0), "alpha"), (lifParams(alpha: -1), "alpha"),
        ]
        for (q, fragment) in bad {
            var q = q
            assertFails(tl_lif_forward(&s, &h, nil, nil, nil, x, 2, 2, &q), TL_ERR_INVALID_ARGUMENT, mentioning: fragment)
            assertFails(tl_lif_backward(&s, nil, nil, nil, nil, h, 2, 2, &q), TL_ERR_INVALID_ARGUMENT, mentioning: fragment)
        }
        var detach = lifParams()
        detach.detach_reset = 2
        assertFails(tl_lif_forward(&s, &h, nil, nil, nil, x, 2, 2, &detach), TL_ERR_INVALID_ARGUMENT, mentioning: "detach_reset")
        assertFails(tl_lif_backward(nil, nil, nil, nil, nil, h, 2, 2, &p), TL_ERR_NULL_POINTER, mentioning: "dx")
        assertFails(tl_lif_backward(&s, nil, nil, nil, nil, nil, 2, 2, &p), TL_ERR_NULL_POINTER, mentioning: "h")
        assertFails(tl_lif_backward(&s, nil, nil, nil, nil, h, -2, 2, &p), TL_ERR_INVALID_ARGUMENT, mentioning: "T")
        assertFails(tl_lif_rate_forward(nil, s, 2, 2), TL_ERR_NULL_POINTER, mentioning: "rate")
        assertFails(tl_lif_rate_backward(&s, x, 0, 2), TL_ERR_INVALID_ARGUMENT, mentioning: "T")
        assertFails(tl_lif_surrogate_grad(&s, x, 4, 7, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "surrogate")
    }
}

final class LIFBackwardTests: XCTestCase {
    func testHandComputedTwoSteps() {
        // decay 0.5, threshold 1, hard reset to 0, fast sigmoid slope 1; x = [1.2, 0.5]: h = [1.2, 0.5], s = [1, 0].
        let p = lifParams(decay: 0.5, surrogate: TL_SURROGATE_FAST_SIGMOID, alpha: 1)
        let o = forward([1.2, 0.5], T: 2, N: 1, p)
        XCTAssertEqual(o.s, [1, 0])
        // t = 1: gh1 = 1 / 1.5^2 = 0.4444; t = 0: G = 0.5 gh1, gs = 1 + G (0 - 1.2), gh0 = gs / 1.2^2 (1 - s0 = 0).
        let gh1 = 1 / (1.5 * 1.5), g = 0.5 * gh1, gh0 = (1 + g * -1.2) / (1.2 * 1.2)
        let (dx, d0) = backward(h: o.h, T: 2, N: 1, p, ds: [1, 1], dv: nil, drate: nil, dState: [0])
        XCTAssertEqual(Double(dx[1]), gh1, accuracy: 1e-6)
        XCTAssertEqual(Double(dx[0]), gh0, accuracy: 1e-6)
        XCTAssertEqual(Double(d0[0]), 0.5 * gh0, accuracy: 1e-6)
        // Detached reset: the G (v_reset - h) path disappears.
        var q = p
        q.detach_reset = 1
        let (dxd, _) = backward(h: o.h, T: 2, N: 1, q, ds: [1, 1], dv: nil, drate: nil, dState: nil)
        XCTAssertEqual(Double(dxd[0]), 1 / (1.2 * 1.2), accuracy: 1e-6)
    }

    func testFiniteDifferencesOfSmoothLIF() {
        // Replace the Heaviside spike by the smooth function whose derivative is the surrogate; with soft or no reset
        // (not detached) the kernel's backward, fed the smooth model's h, is then the exact gradient of that model.
        let (T, N) = (5, 7)
        let x = randomFloats(T * N, seed: 21, low: 0, high: 1.2)
        let state = randomFloats(N, seed: 22, low: 0, high: 0.5)
        let rs = randomFloats(T * N, seed: 23), rv = randomFloats(T * N, seed: 24), rf = randomFloats(N, seed: 25)
        let surrogates: [(tl_lif_surrogate, Float)] = [(TL_SURROGATE_SIGMOID, 4), (TL_SURROGATE_FAST_SIGMOID, 3),
                                                       (TL_SURROGATE_ARCTAN, 2), (TL_SURROGATE_TRIANGLE, 1.5)]
        for charge in [TL_LIF_DECAY, TL_LIF_TAU] {
            for reset in [TL_LIF_RESET_SOFT, TL_LIF_RESET_NONE] {
                for (kind, alpha) in surrogates {
                    let p = lifParams(charge: charge, decay: 0.7, tau: 2, threshold: 0.6, vReset: 0, reset: reset, surrogate: kind, alpha: alpha)
                    func loss(_ x: [Float], _ st: [Float]) -> Double {
                        let f = smoothForward(x, T: T, N: N, p, state: st)
                        var l = 0.0
                        for i in 0..<(T * N) { l += f.s[i] * Double(rs[i]) + f.v[i] * Double(rv[i]) }
                        for n in 0..<N { l += f.final[n] * Double(rf[n]) }
                        return l
                    }
                    let f = smoothForward(x, T: T, N: N, p, state: state)
                    let (dx, d0) = backward(h: f.h.map { Float($0) }, T: T, N: N, p, ds: rs, dv: rv, drate: nil, dState: rf)
                    let tag = "charge \(charge.rawValue) reset \(reset.rawValue) surrogate \(kind.rawValue)"
                    assertClose(dx, numericalGradient(at: x, eps: 1e-3) { loss($0, state) }, rtol: 2e-3, atol: 2e-3, tag)
                    assertClose(d0, numericalGradient(at: state, eps: 1e-3) { loss(x, $0) }, rtol: 2e-3, atol: 2e-3, tag + " (state)")
                }
            }
        }
    }
}
