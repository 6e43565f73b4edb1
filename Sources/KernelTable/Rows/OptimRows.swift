import Foundation
import TrainingLab

/// Optimiser updates and gradient norms (include/tl_optim.h): one in-place step from given state against
/// PyTorch's update formulas written out in Float (torch/optim/sgd.py, adamw.py, single-tensor path).
extension KernelTable {
    static var optim: [KernelRow] { [sgd, adamw, globalNorm, scale, clip] }

    /// The kernel may fuse a multiply-add where the reference rounds twice (PyTorch's own vector kernels fuse
    /// some too): an ulp of the operands (|w| ~ 1) per op; a wrong formula is off by lr g ~ 1e-2.
    private static let stepTolerance = Tolerance(abs: 1e-6, rel: 2e-6)

    private static var sgd: KernelRow {
        var shapes: [KernelShape] = []
        for n in [1.0, 7, 16, 33, 1000, 300_001] {
            for (momentum, wd, nesterov) in [(0.0, 0.0, 0.0), (0, 5e-4, 0), (0.9, 0, 0), (0.9, 5e-4, 0), (0.9, 5e-4, 1), (0.5, 0.1, 1)] {
                for (first, masked) in [(0.0, 0.0), (1, 0), (0, 1), (1, 1)] where momentum != 0 || first == 0 {
                    shapes.append(["n": n, "momentum": momentum, "wd": wd, "nesterov": nesterov, "first": first, "masked": masked])
                }
            }
        }
        let bench = { (masked: Double) -> KernelShape in ["n": 16_777_216, "momentum": 0.9, "wd": 5e-4, "nesterov": 0, "first": 0, "masked": masked] }
        return KernelRow(
            name: "sgd_update", family: "optim", forward: "tl_optim_sgd_step",
            reference: "Swift: torch.optim.SGD (dampening 0) in Float; masked elements keep w and buf (buf 0 on the first step)",
            tolerance: stepTolerance, shapes: shapes, benchShapes: [bench(0), bench(1)],
            work: { s in (.bytes((s.flag("masked") ? 6 : 5) * 4 * s.value("n")), nil) },
            note: "lr 0.05; an update, no backward; the first step starts from a NaN buffer it must not read",
            make: { s in
                let n = s.int("n"), (momentum, wd) = (s.float("momentum"), s.float("wd")), c = KernelCase()
                let (nesterov, first) = (Int32(s.int("nesterov")), Int32(s.int("first")))
                let w = c.uniform("w", n), grad = c.uniform("grad", n)
                let buf = momentum == 0 ? nil : c.input("buf", first == 1 ? [Float](repeating: .nan, count: n) : kernelRandom(n, seed: c.seed()))
                let mask = s.flag("masked") ? c.input("mask", kernelRandom(n, seed: c.seed(), low: 0, high: 1).map { $0 < 0.6 ? 1 : 0 }) : nil
                c.inPlace(w)
                if let buf { c.inPlace(buf) }
                c.forward { tl_optim_sgd_step(w.f, buf?.f, grad.f, mask?.f, n, 0.05, momentum, wd, nesterov, first) }
                c.reference {
                    var wv = w.floats, bv = buf?.floats ?? []
                    Reference.sgdStep(&wv, &bv, grad.floats, mask: mask?.floats, lr: 0.05, momentum: momentum, weightDecay: wd,
                                      nesterov: nesterov == 1, first: first == 1)
                    var out = ["w": wv.map(Double.init)]
                    if buf != nil { out["buf"] = bv.map(Double.init) }
                    return out
                }
                return c
            })
    }

    private static var adamw: KernelRow {
        var shapes: [KernelShape] = []
        for n in [1.0, 9, 64, 1000, 200_003] {
            for (lr, wd, beta1) in [(1e-3, 0.01, 0.9), (0.1, 0, 0.9), (0.01, 0.5, 0.3), (0.01, 0.1, 0.6)] {
                for (step, masked) in [(1.0, 0.0), (3, 0), (2, 1)] {
                    shapes.append(["n": n, "lr": lr, "wd": wd, "beta1": beta1, "step": step, "masked": masked])
                }
            }
        }
        return KernelRow(
            name: "adamw_update", family: "optim", forward: "tl_optim_adamw_step",
            reference: "Swift: torch.optim.AdamW (no amsgrad), scalars in Double as Python computes them, tensor ops in Float",
            tolerance: stepTolerance, shapes: shapes, benchShapes: [["n": 16_777_216, "lr": 1e-3, "wd": 0.01, "beta1": 0.9, "step": 5, "masked": 0]],
            work: { s in (.bytes(7 * 4 * s.value("n")), nil) },
            note: "beta2 0.999, eps 1e-8; m, v start from random state; an update, no backward",
            make: { s in
                let n = s.int("n"), (lr, wd, beta1) = (s.float("lr"), s.float("wd"), s.float("beta1")), step = s.int("step")
                let c = KernelCase()
                let w = c.uniform("w", n), grad = c.uniform("grad", n, -2, 2)
                let m = c.uniform("m", n, -0.1, 0.1), v = c.uniform("v", n, 0, 0.01)
                let mask = s.flag("masked") ? c.input("mask", kernelRandom(n, seed: c.seed(), low: 0, high: 1).map { $0 < 0.5 ? 1 : 0 }) : nil
                c.inPlace(w)
                c.inPlace(m)
                c.inPlace(v, tolerance: Tolerance(abs: 1e-9, rel: 2e-6))
                c.forward { tl_optim_adamw_step(w.f, m.f, v.f, grad.f, mask?.f, n, lr, beta1, 0.999, 1e-8, wd, Int64(step)) }
                c.reference {
                    var wv = w.floats, mv = m.floats, vv = v.floats
                    Reference.adamwStep(&wv, &mv, &vv, grad.floats, mask: mask?.floats, lr: lr, beta1: beta1, weightDecay: wd, step: step)
                    return ["w": wv.map(Double.init), "m": mv.map(Double.init), "v": vv.map(Double.init)]
                }
                return c
            })
    }

    /// Sets of arrays (counts; 0 = an empty array passed as NULL): odd sizes with an empty one, one array,
    /// and sizes above the parallel threshold.
    private static let arraySets: [[Int]] = [[1000, 0, 7, 70_000, 1], [2], [3, 0, 4], [400_000, 123_457, 5]]

    static func arraysShape(_ counts: [Int], _ options: [(String, Double)] = []) -> KernelShape {
        KernelShape(counts.enumerated().map { ("count\($0.offset)", Double($0.element)) } + options)
    }

    /// The arrays of a shape as one buffer and pointers into it (NULL for empty arrays).
    private final class ArraySet {
        let counts: [Int]
        let pointers: [UnsafeMutablePointer<Float>?]
        init(_ s: KernelShape, _ buffer: KernelBuffer) {
            counts = s.entries.filter { $0.name.hasPrefix("count") }.map { Int($0.value) }
            var offset = 0
            pointers = counts.map { n in defer { offset += n }; return n == 0 ? nil : buffer.f + offset }
        }
        var readOnly: [UnsafePointer<Float>?] { pointers.map { $0.map { UnsafePointer($0) } } }
        static func total(_ s: KernelShape) -> Int { s.entries.filter { $0.name.hasPrefix("count") }.reduce(0) { $0 + Int($1.value) } }
    }

    private static var globalNorm: KernelRow {
        KernelRow(
            name: "grad_global_norm", family: "optim", forward: "tl_optim_global_norm", reference: "Swift: sqrt of the sum of squares in Double",
            tolerance: Tolerance(abs: 0, rel: 1e-6), shapes: arraySets.map { arraysShape($0) },
            benchShapes: [arraysShape([4 << 20, 4 << 20, 4 << 20, 4 << 20])],
            work: { s in (.bytes(4 * Double(ArraySet.total(s))), nil) }, note: "no backward",
            make: { s in
                let c = KernelCase()
                let x = c.uniform("arrays", ArraySet.total(s), -5, 5), set = ArraySet(s, x)
                c.keep(set)
                let norm = c.output("norm", 1)
                c.forward { tl_optim_global_norm(norm.f, set.readOnly, set.counts, set.counts.count) }
                c.reference { ["norm": [Reference.globalNorm([x.floats])]] }
                return c
            })
    }

    private static var scale: KernelRow {
        KernelRow(
            name: "grad_scale", family: "optim", forward: "tl_optim_scale", reference: "Swift: x * scale in Float", tolerance: .exact,
            shapes: arraySets.map { arraysShape($0) }, benchShapes: [arraysShape([4 << 20, 4 << 20, 4 << 20, 4 << 20])],
            work: { s in (.bytes(8 * Double(ArraySet.total(s))), nil) }, note: "scale 0.5, in place; no backward",
            make: { s in
                let c = KernelCase()
                let x = c.uniform("arrays", ArraySet.total(s)), set = ArraySet(s, x)
                c.keep(set)
                c.inPlace(x)
                c.forward { tl_optim_scale(set.pointers, set.counts, set.counts.count, 0.5) }
                c.reference { ["arrays": x.floats.map { Double($0 * 0.5) }] }
                return c
            })
    }

    private static var clip: KernelRow {
        KernelRow(
            name: "clip_grad_norm", family: "optim", forward: "tl_optim_clip_grad_norm",
            reference: "Swift: torch.nn.utils.clip_grad_norm_ (factor min(1, max_norm / (norm + 1e-6)) applied in Float)",
            tolerance: Tolerance(abs: 0, rel: 1e-6),
            shapes: arraySets.flatMap { [arraysShape($0, [("max_norm", 1)]), arraysShape($0, [("max_norm", 1e9)])] },
            benchShapes: [arraysShape([4 << 20, 4 << 20, 4 << 20, 4 << 20], [("max_norm", 1)])],
            work: { s in (.bytes(12 * Double(ArraySet.total(s))), nil) }, note: "in place; no backward",
            make: { s in
                let c = KernelCase(), maxNorm = s.float("max_norm")
                let x = c.uniform("arrays", ArraySet.total(s)), set = ArraySet(s, x)
                c.keep(set)
                c.inPlace(x)
                let total = c.output("total_norm", 1)
                c.forward { tl_optim_clip_grad_norm(total.f, set.pointers, set.counts, set.counts.count, maxNorm) }
                c.reference {
                    let norm = Reference.globalNorm([x.floats])
                    // The factor as PyTorch computes it from its float total (the sums may round the last bit differently).
                    let factor = min(1, maxNorm / (Float(norm) + 1e-6))
                    return ["total_norm": [norm], "arrays": x.floats.map { Double(factor == 1 ? $0 : $0 * factor) }]
                }
                return c
            })
    }
}

extension Reference {
    /// One torch.optim.SGD step (dampening 0) in Float on w and buf (empty when momentum is 0); `first` is
    /// PyTorch's empty buffer (buf = d). Elements with mask 0 keep w and buf (buf 0 on the first step).
    public static func sgdStep(_ w: inout [Float], _ buf: inout [Float], _ grad: [Float], mask: [Float]?, lr: Float, momentum: Float,
                               weightDecay: Float, nesterov: Bool, first: Bool) {
        for i in w.indices {
            if let mask, mask[i] == 0 {
                if momentum != 0 && first { buf[i] = 0 }
                continue
            }
            var d = grad[i] + weightDecay * w[i]  // d_p.add(param, alpha=wd)
            if momentum != 0 {
                buf[i] = first ? d : buf[i] * momentum + d  // torch.clone(d_p), or buf.mul_(momentum).add_(d_p)
                d = nesterov ? d + momentum * buf[i] : buf[i]
            }
            w[i] = w[i] + -lr * d  // param.add_(d_p, alpha=-lr)
        }
    }

    /// One torch.optim.AdamW step (no amsgrad, beta2 0.999, eps 1e-8 unless given): scalars in Double as Python
    /// computes them, tensor ops in Float. `step` counts updates including this one; mask 0 freezes w, m and v.
    public static func adamwStep(_ w: inout [Float], _ m: inout [Float], _ v: inout [Float], _ grad: [Float], mask: [Float]?, lr: Float,
                                 beta1: Float, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float, step: Int) {
        let decay = Float(1 - Double(lr) * Double(weightDecay)), weight = Float(1 - Double(beta1))
        let bc1 = 1 - pow(Double(beta1), Double(step)), bc2 = 1 - pow(Double(beta2), Double(step))
        let stepSize = Float(Double(lr) / bc1), bc2Sqrt = Float(bc2.squareRoot()), oneMinusBeta2 = Float(1 - Double(beta2))
        for i in w.indices where mask.map({ $0[i] != 0 }) ?? true {
            w[i] = w[i] * decay  // param.mul_(1 - lr * wd)
            let g = grad[i]
            m[i] = weight < 0.5 ? m[i] + weight * (g - m[i]) : g - (g - m[i]) * (1 - weight)  // lerp_
            v[i] = v[i] * beta2 + oneMinusBeta2 * g * g  // mul_(beta2).addcmul_(g, g, value=1-beta2)
            let denom = v[i].squareRoot() / bc2Sqrt + eps
            w[i] = w[i] + (-stepSize) * m[i] / denom  // addcdiv_(exp_avg, denom, value=-step_size)
        }
    }

    /// sqrt of the sum of squares of every array, in Double.
    public static func globalNorm(_ arrays: [[Float]]) -> Double {
        arrays.joined().reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
}
