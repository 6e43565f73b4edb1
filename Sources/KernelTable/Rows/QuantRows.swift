import Foundation
import TrainingLab

/// Quantisation (include/tl_quant.h): fixed point with nearest and stochastic rounding, symmetric int8,
/// histograms and AdaPT's KL test, against references written from the header's definitions.
extension KernelTable {
    static var quant: [KernelRow] { [fixed, int8Quantize, int8Dequantize, int8Fake, minmax, histogram, klDivergence, fixedKL] }

    static let nearest = Int32(TL_ROUND_NEAREST.rawValue), stochastic = Int32(TL_ROUND_STOCHASTIC.rawValue)

    private static var fixed: KernelRow {
        let configs: [(Double, Double)] = [(8, 4), (1, 0), (2, 1), (16, 12), (24, 30), (32, 16), (32, 0), (6, -3), (12, 64), (9, -64)]
        // Offsets: 0, 5, above 2^32, and one where the counter's low word wraps.
        let roundings: [(Double, Double)] = [(0, 0), (1, 0), (1, 5), (1, Double(UInt64(1) << 33 | 3)), (1, Double(4 * ((UInt64(1) << 32) - 5) + 2))]
        var shapes: [KernelShape] = []
        for n in [1.0, 3, 7, 33, 1000, 40_003] {
            for (wl, fl) in configs {
                for (r, offset) in roundings { shapes.append(["n": n, "wl": wl, "fl": fl, "rounding": r, "offset": offset]) }
            }
        }
        shapes += [0.0, 1].map { ["n": 300_001, "wl": 10, "fl": 6, "rounding": $0, "offset": 7] }
        return KernelRow(
            name: "quant_fixed", family: "quant", forward: "tl_quant_fixed_forward", backward: "tl_quant_fixed_backward",
            reference: "Swift: Q(x; WL, FL) one element at a time with the header's roundings (stochastic from tl_rng_u32)",
            tolerance: .exact, backwardTolerance: .exact, shapes: shapes,
            benchShapes: [0.0, 1].map { ["n": 16_777_216, "wl": 8, "fl": 4, "rounding": $0, "offset": 0] },
            work: { s in (.bytes(8 * s.value("n")), .bytes(12 * s.value("n"))) },
            note: "seed 77; the backward is the clipped straight-through estimator, not a derivative: checked against its reference only",
            make: { s in
                let n = s.int("n"), (wl, fl) = (s.int("wl"), s.int("fl")), rounding = Int32(s.int("rounding"))
                let offset = UInt64(s.value("offset")), c = KernelCase()
                let x = c.input("x", kernelRandom(n, seed: c.seed(), low: -40, high: 40).map { $0 * $0 * $0 / 100 }, gradient: true)
                let y = c.output("y", n, gradient: true)
                let saturated = c.output("saturated", 1, .size)
                c.forward { tl_quant_fixed_forward(y.f, x.f, n, Int32(wl), Int32(fl), rounding, 77, offset, saturated.size) }
                c.backward { tl_quant_fixed_backward(x.grad.f, y.up.f, x.f, n, Int32(wl), Int32(fl)) }
                c.reference {
                    let (q, sat) = Reference.fixedPoint(x.floats, wl: wl, fl: fl, rounding: rounding, seed: 77, offset: offset)
                    return ["y": q.map(Double.init), "saturated": [Double(sat)]]
                }
                c.referenceBackward {
                    let (_, _, lo, hi) = Reference.fixedLimits(wl: wl, fl: fl)
                    let step = Double(Float(sign: .plus, exponent: -fl, significand: 1))
                    return ["dx": (0..<n).map { x[$0] >= Double(lo) * step && x[$0] <= Double(hi) * step ? y.up[$0] : 0 }]
                }
                return c
            })
    }

    /// (channels, inner): per tensor, odd sizes, many channels, a long channel, one element per channel;
    /// channel 0 is all zero (scale 0) and channel 1 holds an outlier. Then sizes for the thread split.
    private static let int8Shapes = KernelShape.list(["channels", "inner"], [[1, 1], [1, 1000], [3, 7], [16, 9], [5, 40_000], [64, 1], [1, 300_000],
                                                                             [3, 100_000], [300, 1000]])
    private static let int8Bench: KernelShape = ["channels": 256, "inner": 65536]

    private static func int8Input(_ s: KernelShape, _ c: KernelCase) -> KernelBuffer {
        let (channels, inner) = (s.int("channels"), s.int("inner"))
        var x = kernelRandom(channels * inner, seed: c.seed(), low: -3, high: 3)
        if channels * inner < 1_000_000 {
            for i in 0..<inner { x[i] = 0 }
            if channels > 1 { x[inner] = 50 }
        }
        return c.input("x", x)
    }

    private static var int8Quantize: KernelRow {
        KernelRow(
            name: "int8_quantize", family: "quant", forward: "tl_quant_int8_quantize",
            reference: "Swift: scale = max|x_c| / 127, q = clamp(rint(x / scale), -127, 127) in Float", tolerance: .exact,
            shapes: int8Shapes, benchShapes: [int8Bench],
            work: { s in (.bytes(9 * s.value("channels") * s.value("inner")), nil) }, note: "no backward",
            make: { s in
                let (channels, inner) = (s.int("channels"), s.int("inner")), c = KernelCase()
                let x = int8Input(s, c)
                let q = c.output("q", x.count, .i8), scales = c.output("scales", channels)
                c.forward { tl_quant_int8_quantize(q.i8, scales.f, x.f, channels, inner) }
                c.reference {
                    let r = Reference.int8(x.floats, channels: channels)
                    return ["q": r.q.map(Double.init), "scales": r.scales.map(Double.init)]
                }
                return c
            })
    }

    private static var int8Dequantize: KernelRow {
        KernelRow(
            name: "int8_dequantize", family: "quant", forward: "tl_quant_int8_dequantize", reference: "Swift: q * scale in Float",
            tolerance: .exact, shapes: int8Shapes, benchShapes: [int8Bench],
            work: { s in (.bytes(5 * s.value("channels") * s.value("inner")), nil) }, note: "no backward",
            make: { s in
                let (channels, inner) = (s.int("channels"), s.int("inner")), c = KernelCase()
                let q = c.input("q", channels * inner, .i8) { Double(($0 * 7919) % 255 - 127) }
                let scales = c.uniform("scales", channels, 0, 0.1)
                let x = c.output("x", q.count)
                c.forward { tl_quant_int8_dequantize(x.f, q.i8, scales.f, channels, inner) }
                c.reference { ["x": (0..<q.count).map { Double(Float(q.i8[$0]) * scales.f[$0 / inner]) }] }
                return c
            })
    }

    private static var int8Fake: KernelRow {
        KernelRow(
            name: "int8_fake", family: "quant", forward: "tl_quant_int8_fake_forward",
            reference: "Swift: dequantize(quantize(x)) per channel in Float", tolerance: .exact, shapes: int8Shapes, benchShapes: [int8Bench],
            work: { s in (.bytes(12 * s.value("channels") * s.value("inner")), nil) },
            note: "two passes (max |x|, then quantise); its straight-through backward is the identity, no kernel",
            make: { s in
                let (channels, inner) = (s.int("channels"), s.int("inner")), c = KernelCase()
                let x = int8Input(s, c)
                let y = c.output("y", x.count), scales = c.output("scales", channels)
                c.forward { tl_quant_int8_fake_forward(y.f, scales.f, x.f, channels, inner) }
                c.reference {
                    let r = Reference.int8(x.floats, channels: channels)
                    return ["y": (0..<x.count).map { Double(Float(r.q[$0]) * r.scales[$0 / inner]) }, "scales": r.scales.map(Double.init)]
                }
                return c
            })
    }

    /// Inputs with NaN at every 97th element (ignored by min/max and the histogram).
    private static func withNaN(_ x: [Float]) -> [Float] { x.enumerated().map { $0.offset % 97 == 5 ? .nan : $0.element } }

    private static var minmax: KernelRow {
        KernelRow(
            name: "quant_minmax", family: "quant", forward: "tl_quant_minmax", reference: "Swift: min and max ignoring NaN", tolerance: .exact,
            shapes: [1, 17, 5000, 200_001].map { ["n": Double($0)] }, benchShapes: [["n": 1_048_576]],
            work: { s in (.bytes(4 * s.value("n")), nil) }, note: "no backward",
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let x = c.input("x", withNaN(kernelRandom(n, seed: c.seed(), low: -3, high: 2)))
                let range = c.output("range", 2)
                c.forward { tl_quant_minmax(range.f, x.f, n) }
                c.reference { let v = x.values.filter { !$0.isNaN }; return ["range": [v.min()!, v.max()!]] }
                return c
            })
    }

    private static var histogram: KernelRow {
        var shapes: [KernelShape] = []
        for n in [1.0, 17, 5000, 200_001] {
            for bins in [1.0, 7, 150] { for clamp in [0.0, 1] { shapes.append(["n": n, "bins": bins, "clamp": clamp]) } }
        }
        return KernelRow(
            name: "quant_histogram", family: "quant", forward: "tl_quant_histogram",
            reference: "Swift: bin = (x - lo) * bins / (hi - lo) in Double, edges as the header says", tolerance: .exact,
            shapes: shapes, benchShapes: [["n": 1_048_576, "bins": 150, "clamp": 0]],
            work: { s in (.elements(s.value("n")), nil) }, note: "range [-2.5, 1.5] over inputs in [-3, 2) with NaNs; no backward",
            make: { s in
                let (n, bins, clamp) = (s.int("n"), s.int("bins"), s.flag("clamp")), c = KernelCase()
                let x = c.input("x", withNaN(kernelRandom(n, seed: c.seed(), low: -3, high: 2)))
                let counts = c.output("counts", bins, .size)
                c.forward { tl_quant_histogram(counts.size, x.f, n, bins, -2.5, 1.5, clamp ? 1 : 0) }
                c.reference { ["counts": Reference.histogram(x.floats, bins: bins, lo: -2.5, hi: 1.5, clamp: clamp).map(Double.init)] }
                return c
            })
    }

    private static var klDivergence: KernelRow {
        KernelRow(
            name: "quant_kl_divergence", family: "quant", forward: "tl_quant_kl_divergence",
            reference: "Swift: KL of the eps-smoothed normalised counts in Double", tolerance: Tolerance(abs: 1e-15, rel: 1e-12),
            shapes: [1, 3, 150, 4096].flatMap { b in [0, 1e-10, 0.01].map { ["bins": Double(b), "eps": $0] } },
            benchShapes: [["bins": 4096, "eps": 1e-10]], work: { s in (.elements(s.value("bins")), nil) },
            note: "some q bins empty (infinite without smoothing); no backward",
            make: { s in
                let (bins, eps) = (s.int("bins"), s.value("eps")), c = KernelCase()
                let p = c.input("p_counts", bins, .size) { Double(($0 * 37 + 11) % 23) }
                let q = c.input("q_counts", bins, .size) { Double(($0 * 53 + 5) % 19) }
                let kl = c.output("kl", 1, .f64)
                c.forward { tl_quant_kl_divergence(kl.f64, p.size, q.size, bins, eps) }
                c.reference { ["kl": [Reference.kl(p.values.map { Int($0) }, q.values.map { Int($0) }, eps: eps)]] }
                return c
            })
    }

    private static var fixedKL: KernelRow {
        let configs: [(Double, Double, Double, Double)] = [(8, 4, 0, 0), (8, 4, 1, 0), (12, 9, 1, 1), (6, 2, 0, 1), (4, 4, 1, 0)]
        return KernelRow(
            name: "quant_fixed_kl", family: "quant", forward: "tl_quant_fixed_kl",
            reference: "Swift: the fixed-point, histogram and KL references composed", tolerance: Tolerance(abs: 1e-12, rel: 1e-12),
            shapes: [1000.0, 30_001].flatMap { n in configs.map { ["n": n, "wl": $0.0, "fl": $0.1, "rounding": $0.2, "clamp": $0.3] } },
            benchShapes: [["n": 1_048_576, "wl": 12, "fl": 8, "rounding": 1, "clamp": 0]],
            work: { s in (.elements(s.value("n")), nil) }, note: "50 bins (150 at the bench shape), seed 13, offset 100, eps 1e-10; no backward",
            make: { s in
                let n = s.int("n"), (wl, fl) = (s.int("wl"), s.int("fl")), rounding = Int32(s.int("rounding")), clamp = s.flag("clamp")
                let bins = n > 100_000 ? 150 : 50, c = KernelCase()
                let x = c.input("x", kernelRandom(n, seed: c.seed(), low: -1, high: 1).map { $0 * abs($0) * 1.7 })
                let kl = c.output("kl", 1, .f64), range = c.output("range", 2)
                c.forward { tl_quant_fixed_kl(kl.f64, range.f, x.f, n, bins, Int32(wl), Int32(fl), rounding, 13, 100, 1e-10, clamp ? 1 : 0) }
                c.reference {
                    let v = x.floats, lo = v.min()!, hi = v.max()!
                    let q = Reference.fixedPoint(v, wl: wl, fl: fl, rounding: rounding, seed: 13, offset: 100).y
                    let kl = Reference.kl(Reference.histogram(v, bins: bins, lo: lo, hi: hi, clamp: false),
                                          Reference.histogram(q, bins: bins, lo: lo, hi: hi, clamp: clamp), eps: 1e-10)
                    return ["kl": [kl], "range": [Double(lo), Double(hi)]]
                }
                return c
            })
    }
}

extension Reference {
    /// Fixed-point limits as documented in tl_quant.h: scale 2^FL, step 2^-FL, integer range
    /// [-2^(WL-1), largest float <= 2^(WL-1) - 1].
    public static func fixedLimits(wl: Int, fl: Int) -> (scale: Float, step: Float, lo: Float, hi: Float) {
        let hd = Double(1 << (wl - 1)) - 1
        var hf = Float(hd)
        if Double(hf) > hd { hf = hf.nextDown }
        return (Float(sign: .plus, exponent: fl, significand: 1), Float(sign: .plus, exponent: -fl, significand: 1),
                -Float(sign: .plus, exponent: wl - 1, significand: 1), hf)
    }

    /// Fixed-point fake-quant, one element at a time, and the number of saturated elements.
    public static func fixedPoint(_ x: [Float], wl: Int, fl: Int, rounding: Int32, seed: UInt64, offset: UInt64) -> (y: [Float], saturated: Int) {
        let (scale, step, lo, hi) = fixedLimits(wl: wl, fl: fl)
        var sat = 0
        let y = x.enumerated().map { i, v -> Float in
            let s = v * scale
            var r: Float
            if rounding == KernelTable.nearest {
                r = s.rounded(.toNearestOrEven)
            } else {
                let u = tl_u32_to_unit(tl_rng_u32(seed, offset &+ UInt64(i)))
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

    /// Symmetric int8 per leading-dimension channel: q and one scale per channel (an all-zero channel: 0, 0).
    public static func int8(_ x: [Float], channels: Int) -> (q: [Int8], scales: [Float]) {
        let inner = x.count / channels
        var q = [Int8](repeating: 0, count: x.count), scales = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let scale = x[(c * inner)..<((c + 1) * inner)].reduce(Float(0)) { max($0, abs($1)) } / 127
            scales[c] = scale
            guard scale != 0 else { continue }
            for i in (c * inner)..<((c + 1) * inner) { q[i] = Int8(min(max((x[i] / scale).rounded(.toNearestOrEven), -127), 127)) }
        }
        return (q, scales)
    }

    /// Counts of x over [lo, hi] in equal bins (x == hi in the last); outside values dropped or clamped, NaN ignored.
    public static func histogram(_ x: [Float], bins: Int, lo: Float, hi: Float, clamp: Bool) -> [Int] {
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

    /// KL(P || Q) of two count histograms normalised and smoothed by eps; +inf when q has no mass.
    public static func kl(_ p: [Int], _ q: [Int], eps: Double) -> Double {
        let sp = Double(p.reduce(0, +)), sq = Double(q.reduce(0, +))
        if sq == 0 { return .infinity }
        let norm = 1 + Double(p.count) * eps
        var kl = 0.0
        for i in p.indices {
            let pi = (Double(p[i]) / sp + eps) / norm, qi = (Double(q[i]) / sq + eps) / norm
            if pi > 0 { kl += qi > 0 ? pi * Foundation.log(pi / qi) : .infinity }
        }
        return kl
    }
}
