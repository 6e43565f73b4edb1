import Foundation
import TrainingLab

/// Leaky integrate-and-fire neurons (include/tl_lif.h).
extension KernelTable {
    static var lif: [KernelRow] { [lifRow, lifRate, surrogate] }

    /// (kind, alpha) of every surrogate at the parameters the methods use.
    private static let surrogates: [(tl_lif_surrogate, Double)] = [(TL_SURROGATE_SIGMOID, 4), (TL_SURROGATE_FAST_SIGMOID, 25),
                                                                   (TL_SURROGATE_ARCTAN, 2), (TL_SURROGATE_TRIANGLE, 1)]

    static func lifShape(_ t: Int, _ n: Int, charge: tl_lif_charge = TL_LIF_DECAY, decay: Double = 0.5, tau: Double = 2, threshold: Double = 1,
                         vReset: Double = 0, reset: tl_lif_reset = TL_LIF_RESET_HARD, detach: Bool = false,
                         surrogate: tl_lif_surrogate = TL_SURROGATE_FAST_SIGMOID, alpha: Double = 25, full: Bool = true) -> KernelShape {
        ["T": Double(t), "N": Double(n), "charge": Double(charge.rawValue), "decay": decay, "tau": tau, "threshold": threshold,
         "v_reset": vReset, "reset": Double(reset.rawValue), "detach": detach ? 1 : 0, "surrogate": Double(surrogate.rawValue),
         "alpha": alpha, "full": full ? 1 : 0]
    }

    public static func lifParams(_ s: KernelShape) -> tl_lif_params {
        tl_lif_params(charge: Int32(s.int("charge")), decay: s.float("decay"), tau: s.float("tau"), v_threshold: s.float("threshold"),
                      v_reset: s.float("v_reset"), reset: Int32(s.int("reset")), detach_reset: Int32(s.int("detach")),
                      surrogate: Int32(s.int("surrogate")), alpha: s.float("alpha"))
    }

    private static var lifRow: KernelRow {
        // Forward paths: decay and tau charge, every reset, odd N (plain loop) and N % 8 == 0 (vector path).
        let configs: [(Int, Int) -> KernelShape] = [
            { lifShape($0, $1, decay: 0.9) }, { lifShape($0, $1, reset: TL_LIF_RESET_SOFT, detach: true) },
            { lifShape($0, $1, decay: 0.7, threshold: 0.8, vReset: -0.2, reset: TL_LIF_RESET_NONE) },
            { lifShape($0, $1, charge: TL_LIF_TAU, tau: 2) },
            { lifShape($0, $1, charge: TL_LIF_TAU, tau: 1.7, threshold: 0.5, vReset: 0.1, reset: TL_LIF_RESET_SOFT) },
            { lifShape($0, $1, charge: TL_LIF_TAU, tau: 3, vReset: -0.3, reset: TL_LIF_RESET_NONE) },
        ]
        var shapes = [(1, 1), (1, 9), (3, 1), (4, 1023), (8, 1025), (5, 2050), (2, 3001), (3, 2056)].flatMap { tn in configs.map { $0(tn.0, tn.1) } }
        // Every charge form x reset x detach x surrogate (decay 0.8, tau 2.5, threshold 1, reset to -0.1).
        for (t, n) in [(1, 3), (3, 1), (6, 1029), (3, 2056)] {
            for charge in [TL_LIF_DECAY, TL_LIF_TAU] {
                for reset in [TL_LIF_RESET_HARD, TL_LIF_RESET_SOFT, TL_LIF_RESET_NONE] {
                    for detach in [false, true] {
                        for (kind, alpha) in surrogates {
                            shapes.append(lifShape(t, n, charge: charge, decay: 0.8, tau: 2.5, vReset: -0.1, reset: reset, detach: detach,
                                                   surrogate: kind, alpha: alpha))
                        }
                    }
                }
            }
        }
        shapes += [lifShape(4, 50_001, decay: 0.9, surrogate: TL_SURROGATE_SIGMOID, alpha: 4), lifShape(4, 50_001, charge: TL_LIF_TAU, detach: true),
                   lifShape(2, 1000, decay: 0.9, full: false)]
        return KernelRow(
            name: "lif", family: "lif", forward: "tl_lif_forward", backward: "tl_lif_backward",
            reference: "Swift: one neuron at a time with the header's roundings (forward, bitwise); BPTT in Double (backward)",
            tolerance: .exact, backwardTolerance: Tolerance(abs: 1e-5, rel: 1e-4), shapes: shapes,
            benchShapes: [lifShape(8, 128 * 64 * 16 * 16, decay: 0.9, reset: TL_LIF_RESET_SOFT, detach: true, full: false)],
            work: { s in let e = s.value("T") * s.value("N"); return (.bytes(12 * e), .bytes(12 * e)) },
            note: "the backward uses a surrogate spike derivative, not the derivative of the forward: checked against the reference "
                + "BPTT (LIFTests checks it is the exact gradient of a smooth LIF by finite differences); full = 0 keeps only s and h "
                + "(the bench: snntorch Leaky's settings)",
            make: { s in
                let (t, n, full) = (s.int("T"), s.int("N"), s.flag("full")), c = KernelCase()
                var params = lifParams(s)
                let x = c.uniform("x", t * n, -0.3, 1.8, gradient: true)
                let v0 = full ? c.uniform("v0", n, -0.2, 0.8, gradient: true) : nil
                let spikes = c.output("s", t * n, gradient: true), h = c.output("h", t * n)
                let v = full ? c.output("v", t * n, gradient: true) : nil
                let rate = full ? c.output("rate", n, gradient: true) : nil
                let state = full ? c.output("state", n, gradient: true) : nil
                c.forward {
                    if let v0, let state { state.f.update(from: v0.f, count: n) }
                    return tl_lif_forward(spikes.f, h.f, v?.f, rate?.f, state?.f, x.f, t, n, &params)
                }
                c.backward {
                    if let v0, let state { v0.grad.f.update(from: state.up.f, count: n) }
                    return tl_lif_backward(x.grad.f, v0?.grad.f, spikes.up.f, v?.up.f, rate?.up.f, h.f, t, n, &params)
                }
                c.reference {
                    let r = Reference.lifForward(x.floats, t: t, n: n, params, state: v0?.floats)
                    var out = ["s": r.s, "h": r.h].mapValues { $0.map(Double.init) }
                    if full { (out["v"], out["rate"], out["state"]) = (r.v.map(Double.init), r.rate.map(Double.init), r.state.map(Double.init)) }
                    return out
                }
                c.referenceBackward {
                    let h = Reference.lifForward(x.floats, t: t, n: n, params, state: v0?.floats).h
                    let (dx, d0) = Reference.lifBackward(h: h, t: t, n: n, params, ds: spikes.up.floats, dv: v?.up.floats, drate: rate?.up.floats,
                                                         dState: state?.up.floats)
                    return full ? ["dx": dx, "dv0": d0] : ["dx": dx]
                }
                return c
            })
    }

    private static var lifRate: KernelRow {
        KernelRow(
            name: "lif_rate", family: "lif", forward: "tl_lif_rate_forward", backward: "tl_lif_rate_backward",
            reference: "Swift: sum over t in order, then one division, in Float", tolerance: .exact, backwardTolerance: .exact,
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: [["T": 3, "N": 5] as KernelShape, ["T": 1, "N": 2]]),
            shapes: [(1, 1), (4, 1500), (8, 50_001)].map { ["T": Double($0.0), "N": Double($0.1)] }, benchShapes: [["T": 8, "N": 2_097_152] as KernelShape],
            work: { s in (.bytes(4 * (s.value("T") + 1) * s.value("N")), .bytes(4 * (s.value("T") + 1) * s.value("N"))) },
            make: { s in
                let (t, n) = (s.int("T"), s.int("N")), c = KernelCase()
                let spikes = c.uniform("s", t * n, 0, 1, gradient: true)
                let rate = c.output("rate", n, gradient: true)
                c.forward { tl_lif_rate_forward(rate.f, spikes.f, t, n) }
                c.backward { tl_lif_rate_backward(spikes.grad.f, rate.up.f, t, n) }
                c.reference { ["rate": (0..<n).map { i in Double((0..<t).reduce(Float(0)) { $0 + spikes.f[$1 * n + i] } / Float(t)) }] }
                c.referenceBackward { ["ds": (0..<(t * n)).map { Double(rate.up.f[$0 % n] / Float(t)) }] }
                return c
            })
    }

    private static var surrogate: KernelRow {
        let kinds = surrogates + [(TL_SURROGATE_SIGMOID, 25), (TL_SURROGATE_TRIANGLE, 0.5)]
        return KernelRow(
            name: "lif_surrogate_grad", family: "lif", forward: "tl_lif_surrogate_grad", reference: "Swift: the header's formulas in Double",
            tolerance: Tolerance(abs: 1e-12, rel: 2e-6), shapes: kinds.map { ["n": 1004, "surrogate": Double($0.0.rawValue), "alpha": $0.1] },
            benchShapes: [["n": 1_048_576, "surrogate": Double(TL_SURROGATE_FAST_SIGMOID.rawValue), "alpha": 25]],
            work: { s in (.bytes(8 * s.value("n")), nil) }, note: "z in [-3, 3) with 0, 1, -1, 0.5; the backward's surrogate itself, no backward",
            make: { s in
                let n = s.int("n"), kind = Int32(s.int("surrogate")), alpha = s.float("alpha"), c = KernelCase()
                var z = kernelRandom(n, seed: c.seed(), low: -3, high: 3)
                for (i, v) in [Float(0), 1, -1, 0.5].enumerated() where i < n { z[i] = v as Float }
                let zb = c.input("z", z)
                let g = c.output("grad", n)
                c.forward { tl_lif_surrogate_grad(g.f, zb.f, n, kind, alpha) }
                c.reference { ["grad": zb.values.map { Reference.surrogate($0, kind, Double(alpha)) }] }
                return c
            })
    }
}

extension Reference {
    /// LIF forward one neuron at a time with the roundings documented in tl_lif.h (fused where the kernel uses fmaf).
    public static func lifForward(_ x: [Float], t: Int, n: Int, _ p: tl_lif_params, state: [Float]?)
        -> (s: [Float], h: [Float], v: [Float], rate: [Float], state: [Float]) {
        var s = [Float](repeating: 0, count: t * n), h = s, v = s, rate = [Float](repeating: 0, count: n)
        var final = state ?? [Float](repeating: 0, count: n)
        let invTau = 1 / p.tau
        for i in 0..<n {
            var m = final[i], acc: Float = 0
            for step in 0..<t {
                let k = step * n + i
                let charge = p.charge == Int32(TL_LIF_DECAY.rawValue) ? x[k].addingProduct(p.decay, m) : m.addingProduct(x[k] - (m - p.v_reset), invTau)
                let fire = charge >= p.v_threshold
                switch p.reset {
                case Int32(TL_LIF_RESET_HARD.rawValue): m = fire ? p.v_reset : charge
                case Int32(TL_LIF_RESET_SOFT.rawValue): m = fire ? charge - p.v_threshold : charge
                default: m = charge
                }
                (s[k], h[k], v[k]) = (fire ? 1 : 0, charge, m)
                acc += s[k]
            }
            final[i] = m
            rate[i] = acc / Float(t)
        }
        return (s, h, v, rate, final)
    }

    /// Surrogate spike derivative sigma'(z) from the formulas in tl_lif.h.
    public static func surrogate(_ z: Double, _ kind: Int32, _ a: Double) -> Double {
        switch kind {
        case Int32(TL_SURROGATE_SIGMOID.rawValue): let s = 1 / (1 + Foundation.exp(-a * z)); return a * s * (1 - s)
        case Int32(TL_SURROGATE_FAST_SIGMOID.rawValue): return 1 / ((a * abs(z) + 1) * (a * abs(z) + 1))
        case Int32(TL_SURROGATE_ARCTAN.rawValue): let u = Double.pi / 2 * a * z; return a / 2 / (1 + u * u)
        default: return max(0, a - abs(z)) / (a * a)
        }
    }

    /// BPTT from the saved pre-reset membrane h: dx and dL/d(initial state).
    public static func lifBackward(h: [Float], t: Int, n: Int, _ p: tl_lif_params, ds: [Float]?, dv: [Float]?, drate: [Float]?,
                                   dState: [Float]?) -> (dx: [Double], dState: [Double]) {
        var dx = [Double](repeating: 0, count: t * n), d0 = [Double](repeating: 0, count: n)
        let tauForm = p.charge == Int32(TL_LIF_TAU.rawValue)
        let a = tauForm ? 1 - 1 / Double(p.tau) : Double(p.decay), b = tauForm ? 1 / Double(p.tau) : 1
        let th = Double(p.v_threshold), vr = Double(p.v_reset)
        for i in 0..<n {
            var g = dState.map { Double($0[i]) } ?? 0
            for step in stride(from: t - 1, through: 0, by: -1) {
                let k = step * n + i
                let hv = Double(h[k]), s: Double = hv >= th ? 1 : 0
                let sg = surrogate(hv - th, p.surrogate, Double(p.alpha))
                let total = g + (dv.map { Double($0[k]) } ?? 0)
                var gs = (ds.map { Double($0[k]) } ?? 0) + (drate.map { Double($0[i]) / Double(t) } ?? 0)
                var dvdh = 1.0, dvds = 0.0
                switch p.reset {
                case Int32(TL_LIF_RESET_HARD.rawValue): dvdh = 1 - s; dvds = vr - hv
                case Int32(TL_LIF_RESET_SOFT.rawValue): dvds = -th
                default: break
                }
                if p.detach_reset == 0 { gs += total * dvds }
                let gh = total * dvdh + gs * sg
                dx[k] = gh * b
                g = a * gh
            }
            d0[i] = g
        }
        return (dx, d0)
    }
}
