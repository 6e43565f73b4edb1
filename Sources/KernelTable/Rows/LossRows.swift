import Foundation
import TrainingLab

/// Losses (include/tl_loss.h): per-sample values and their backwards from a per-sample upstream gradient.
extension KernelTable {
    static var loss: [KernelRow] { [crossEntropy, softCrossEntropy, kl, klProb, mse, margin, reduce] }

    /// (N, C): a single class, odd sizes, a batch of 128, 1000 classes.
    private static let lossSizes = [(1, 1), (1, 10), (2, 3), (7, 13), (5, 17), (128, 10), (3, 1000), (4, 33)]
    private static let lossFD = Tolerance(abs: 2e-3, rel: 1e-2)

    static func nc(_ n: Int, _ c: Int, _ options: [(String, Double)]) -> KernelShape {
        KernelShape([("n", Double(n)), ("c", Double(c))] + options)
    }

    private static var crossEntropy: KernelRow {
        let options: [(Double, Double)] = [(0, 1), (0.1, 1), (0.5, 1), (1, 1), (0.1, 0.25), (0.1, 4)]
        var shapes = lossSizes.flatMap { s in options.map { nc(s.0, s.1, [("smoothing", $0.0), ("T", $0.1)]) } }
        shapes += [nc(6, 100, [("smoothing", 0.3), ("T", 2)]), nc(128, 1000, [("smoothing", 0.1), ("T", 2)]), nc(9, 21, [("smoothing", 0.1), ("T", 0.25)])]
        return KernelRow(
            name: "cross_entropy", family: "loss", forward: "tl_loss_ce_forward", backward: "tl_loss_ce_backward",
            reference: "Swift: -sum t log softmax(z/T) with the smoothed target, in Double; dloss (softmax - t) / T",
            tolerance: Tolerance(abs: 2e-6, rel: 2e-5), backwardTolerance: Tolerance(abs: 1e-7, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: lossFD, shapes: [(1, 1), (1, 2), (3, 5), (4, 17), (2, 40)].flatMap { s in
                [(0.0, 1.0), (0.1, 1), (0.2, 2.5), (0, 0.5)].map { nc(s.0, s.1, [("smoothing", $0.0), ("T", $0.1)]) }
            }),
            shapes: shapes, benchShapes: [nc(128, 10, [("smoothing", 0.1), ("T", 1)]), nc(128, 1000, [("smoothing", 0.1), ("T", 1)])],
            work: { s in (.elements(s.value("n") * s.value("c")), .elements(s.value("n") * s.value("c"))) },
            make: { s in
                let (n, cl) = (s.int("n"), s.int("c")), (eps, t) = (s.float("smoothing"), s.float("T")), c = KernelCase()
                let z = c.uniform("logits", n * cl, -4, 4, gradient: true)
                let labels = c.input("labels", n, .i32, Reference.labels(n, classes: cl, seed: c.seed()))
                let loss = c.output("loss", n, gradient: true)
                c.forward { tl_loss_ce_forward(loss.f, z.f, labels.i32, n, cl, eps, t) }
                c.backward { tl_loss_ce_backward(z.grad.f, loss.up.f, z.f, labels.i32, n, cl, eps, t) }
                let target = { (row: Int, k: Int) in (k == Int(labels[row]) ? 1 - Double(eps) : 0) + Double(eps) / Double(cl) }
                c.reference {
                    let values = z.values
                    return ["loss": (0..<n).map { row in
                        let ls = Reference.logSoftmaxRow(values, row, cl, temperature: Double(t))
                        return (0..<cl).reduce(0.0) { $0 - target(row, $1) * ls[$1] }
                    }]
                }
                c.referenceBackward {
                    let values = z.values
                    return ["dlogits": (0..<n).flatMap { row in
                        Reference.logSoftmaxRow(values, row, cl, temperature: Double(t)).enumerated().map { k, ls in
                            loss.up[row] * (Foundation.exp(ls) - target(row, k)) / Double(t)
                        }
                    }]
                }
                return c
            })
    }

    private static var softCrossEntropy: KernelRow {
        KernelRow(
            name: "soft_cross_entropy", family: "loss", forward: "tl_loss_soft_ce_forward", backward: "tl_loss_soft_ce_backward",
            reference: "Swift: -sum q log softmax(z/T) in Double", tolerance: Tolerance(abs: 5e-6, rel: 2e-5),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: lossFD, shapes: [(1, 1), (2, 3), (3, 11), (2, 40)].flatMap { s in
                // Rows that do not sum to 1 exercise the sum(q) term.
                [1.0, 0.7, 2.5].map { nc(s.0, s.1, [("T", $0), ("probabilities", 0)]) }
            }),
            shapes: lossSizes.flatMap { s in [1.0, 0.5, 3].map { nc(s.0, s.1, [("T", $0), ("probabilities", 1)]) } }
                + [nc(100, 700, [("T", 1.5), ("probabilities", 1)])],
            benchShapes: [nc(128, 1000, [("T", 1), ("probabilities", 1)])],
            work: { s in (.elements(s.value("n") * s.value("c")), .elements(s.value("n") * s.value("c"))) },
            make: { s in
                let (n, cl, t) = (s.int("n"), s.int("c"), s.float("T")), c = KernelCase()
                let z = c.uniform("logits", n * cl, -4, 4, gradient: true)
                let q = c.input("targets", s.flag("probabilities") ? Reference.probabilities(n, cl, seed: c.seed())
                                                                   : kernelRandom(n * cl, seed: c.seed(), low: 0, high: 0.6), gradient: true)
                let loss = c.output("loss", n, gradient: true)
                c.forward { tl_loss_soft_ce_forward(loss.f, z.f, q.f, n, cl, t) }
                c.backward { tl_loss_soft_ce_backward(z.grad.f, q.grad.f, loss.up.f, z.f, q.f, n, cl, t) }
                c.reference {
                    let values = z.values
                    return ["loss": (0..<n).map { row in
                        let ls = Reference.logSoftmaxRow(values, row, cl, temperature: Double(t))
                        return (0..<cl).reduce(0.0) { $0 - q[row * cl + $1] * ls[$1] }
                    }]
                }
                return c
            })
    }

    private static var kl: KernelRow {
        KernelRow(
            name: "kl_divergence", family: "loss", forward: "tl_loss_kl_forward", backward: "tl_loss_kl_backward",
            reference: "Swift: sum p (log p - log r) of the two softmaxes at temperature T, in Double",
            tolerance: Tolerance(abs: 2e-6, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: lossFD, shapes: [(1, 1), (1, 2), (3, 7), (2, 40)].flatMap { s in
                [1.0, 0.6, 3].map { nc(s.0, s.1, [("T", $0), ("range", 2)]) }
            }),
            shapes: lossSizes.flatMap { s in [1.0, 0.5, 4].map { nc(s.0, s.1, [("T", $0), ("range", 3)]) } } + [nc(64, 600, [("T", 2), ("range", 5)])],
            benchShapes: [nc(128, 1000, [("T", 1), ("range", 3)])],
            work: { s in (.elements(s.value("n") * s.value("c")), .elements(s.value("n") * s.value("c"))) },
            make: { s in
                let (n, cl, t, range) = (s.int("n"), s.int("c"), s.float("T"), s.float("range")), c = KernelCase()
                let a = c.uniform("logits_p", n * cl, -range, range, gradient: true), b = c.uniform("logits_r", n * cl, -range, range, gradient: true)
                let loss = c.output("loss", n, gradient: true)
                c.forward { tl_loss_kl_forward(loss.f, a.f, b.f, n, cl, t) }
                c.backward { tl_loss_kl_backward(a.grad.f, b.grad.f, loss.up.f, a.f, b.f, n, cl, t) }
                c.reference {
                    let (av, bv) = (a.values, b.values)
                    return ["loss": (0..<n).map { row in
                        let la = Reference.logSoftmaxRow(av, row, cl, temperature: Double(t))
                        let lb = Reference.logSoftmaxRow(bv, row, cl, temperature: Double(t))
                        return (0..<cl).reduce(0.0) { $0 + Foundation.exp(la[$1]) * (la[$1] - lb[$1]) }
                    }]
                }
                return c
            })
    }

    private static var klProb: KernelRow {
        KernelRow(
            name: "kl_divergence_prob", family: "loss", forward: "tl_loss_kl_prob_forward", backward: "tl_loss_kl_prob_backward",
            reference: "Swift: sum over p > 0 of p (log p - log r), in Double", tolerance: Tolerance(abs: 1e-6, rel: 1e-5),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2),
                                                 shapes: [nc(6, 9, [("zero_term", 0)]), nc(2, 3, [("zero_term", 0)])]),
            shapes: lossSizes.map { nc($0.0, $0.1, [("zero_term", 1)]) } + [nc(6, 9, [("zero_term", 1)]), nc(64, 600, [("zero_term", 1)])],
            benchShapes: [nc(128, 1000, [("zero_term", 0)])],
            work: { s in (.elements(s.value("n") * s.value("c")), .elements(s.value("n") * s.value("c"))) },
            note: "no gradient to p (the target); zero_term = 1 sets p[4] = 0 against log r = -inf",
            make: { s in
                let (n, cl) = (s.int("n"), s.int("c")), c = KernelCase()
                var pv = Reference.probabilities(n, cl, seed: c.seed()), lr = Reference.probabilities(n, cl, seed: c.seed()).map { Foundation.log($0) }
                if s.flag("zero_term") && pv.count > 4 { pv[4] = 0; lr[4] = -.infinity }  // a zero term contributes 0, even against log r = -inf
                let p = c.input("p", pv), logr = c.input("logr", lr, gradient: true)
                let loss = c.output("loss", n, gradient: true)
                c.forward { tl_loss_kl_prob_forward(loss.f, p.f, logr.f, n, cl) }
                c.backward { tl_loss_kl_prob_backward(logr.grad.f, loss.up.f, p.f, n, cl) }
                c.reference {
                    ["loss": (0..<n).map { row in
                        (0..<cl).reduce(0.0) { s, k in let pk = p[row * cl + k]; return pk == 0 ? s : s + pk * (Foundation.log(pk) - logr[row * cl + k]) }
                    }]
                }
                return c
            })
    }

    private static var mse: KernelRow {
        KernelRow(
            name: "mse", family: "loss", forward: "tl_loss_mse_forward", backward: "tl_loss_mse_backward",
            reference: "Swift: mean squared difference per sample, in Double", tolerance: Tolerance(abs: 1e-7, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: [nc(1, 1, []), nc(3, 7, []), nc(2, 33, [])]),
            shapes: lossSizes.map { nc($0.0, $0.1, []) } + [nc(32, 3000, [])], benchShapes: [nc(128, 1000, [])],
            work: { s in (.bytes(8 * s.value("n") * s.value("c")), .bytes(16 * s.value("n") * s.value("c"))) },
            make: { s in
                let (n, d) = (s.int("n"), s.int("c")), c = KernelCase()
                let x = c.uniform("x", n * d, -3, 3, gradient: true), t = c.uniform("target", n * d, -3, 3, gradient: true)
                let loss = c.output("loss", n, gradient: true)
                c.forward { tl_loss_mse_forward(loss.f, x.f, t.f, n, d) }
                c.backward { tl_loss_mse_backward(x.grad.f, t.grad.f, loss.up.f, x.f, t.f, n, d) }
                c.reference { ["loss": (0..<n).map { row in (0..<d).reduce(0.0) { let e = x[row * d + $1] - t[row * d + $1]; return $0 + e * e } / Double(d) }] }
                return c
            })
    }

    private static var margin: KernelRow {
        KernelRow(
            name: "margin", family: "loss", forward: "tl_loss_margin_forward", backward: "tl_loss_margin_backward",
            reference: "Swift: max over c != y of z_c, minus z_y; gradient onehot(first runner-up) - onehot(y)",
            tolerance: .exact, backwardTolerance: .exact,
            // Random logits have gaps far above the step, so the max is differentiable there.
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 1e-3, rel: 1e-2),
                                                 shapes: [(1, 2), (3, 5), (4, 10), (2, 33)].map { nc($0.0, $0.1, []) }),
            shapes: lossSizes.filter { $0.1 >= 2 }.map { nc($0.0, $0.1, []) } + [nc(4000, 10, [])], benchShapes: [nc(128, 1000, [])],
            work: { s in (.elements(s.value("n") * s.value("c")), .elements(s.value("n") * s.value("c"))) },
            make: { s in
                let (n, cl) = (s.int("n"), s.int("c")), c = KernelCase()
                let z = c.uniform("logits", n * cl, -4, 4, gradient: true)
                let labels = c.input("labels", n, .i32, Reference.labels(n, classes: cl, seed: c.seed()))
                let loss = c.output("loss", n, gradient: true)
                c.forward { tl_loss_margin_forward(loss.f, z.f, labels.i32, n, cl) }
                c.backward { tl_loss_margin_backward(z.grad.f, loss.up.f, z.f, labels.i32, n, cl) }
                let runnerUp = { (row: Int) -> Int in
                    var best = -1
                    for k in 0..<cl where k != Int(labels[row]) && (best < 0 || z[row * cl + k] > z[row * cl + best]) { best = k }
                    return best
                }
                c.reference { ["loss": (0..<n).map { Double(Float(z[$0 * cl + runnerUp($0)]) - Float(z[$0 * cl + Int(labels[$0])])) }] }
                c.referenceBackward {
                    var g = [Double](repeating: 0, count: n * cl)
                    for row in 0..<n {
                        g[row * cl + runnerUp(row)] += loss.up[row]
                        g[row * cl + Int(labels[row])] -= loss.up[row]
                    }
                    return ["dlogits": g]
                }
                return c
            })
    }

    private static var reduce: KernelRow {
        let modes = [TL_REDUCTION_SUM, TL_REDUCTION_MEAN, TL_REDUCTION_WEIGHTED_SUM, TL_REDUCTION_WEIGHTED_MEAN, TL_REDUCTION_WEIGHTED_NORMALIZED]
        let shape = { (n: Int, mode: tl_reduction) -> KernelShape in ["n": Double(n), "mode": Double(mode.rawValue)] }
        return KernelRow(
            name: "loss_reduce", family: "loss", forward: "tl_loss_reduce", backward: "tl_loss_reduce_backward",
            reference: "Swift: sum, mean, weighted sum / mean / normalised mean in Double", tolerance: Tolerance(abs: 1e-6, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-4, rel: 1e-3), shapes: modes.map { shape(5, $0) }),
            shapes: [1, 4, 1000, 100_003].flatMap { n in modes.map { shape(n, $0) } },
            benchShapes: [shape(1 << 20, TL_REDUCTION_WEIGHTED_MEAN)],
            work: { s in (.bytes(8 * s.value("n")), .bytes(8 * s.value("n"))) },
            note: "weights are not differentiated (the backward gives none)",
            make: { s in
                let n = s.int("n"), mode = Int32(s.int("mode")), c = KernelCase()
                let loss = c.uniform("loss", n, 0, 3, gradient: true), w = c.uniform("weights", n, 0, 2)
                let out = c.output("out", 1, gradient: true)
                c.forward { tl_loss_reduce(out.f, loss.f, w.f, n, mode) }
                c.backward { tl_loss_reduce_backward(loss.grad.f, out.up.f[0], w.f, n, mode) }
                let weighted = mode >= Int32(TL_REDUCTION_WEIGHTED_SUM.rawValue)
                let divisor = { () -> Double in
                    switch mode {
                    case Int32(TL_REDUCTION_MEAN.rawValue), Int32(TL_REDUCTION_WEIGHTED_MEAN.rawValue): return Double(n)
                    case Int32(TL_REDUCTION_WEIGHTED_NORMALIZED.rawValue): return w.values.reduce(0, +)
                    default: return 1
                    }
                }
                c.reference { ["out": [(0..<n).reduce(0.0) { $0 + (weighted ? w[$1] : 1) * loss[$1] } / divisor()]] }
                c.referenceBackward { let d = divisor(); return ["dloss": (0..<n).map { out.up[0] * (weighted ? w[$0] : 1) / d }] }
                return c
            })
    }
}

extension Reference {
    /// log softmax(z / T) of row `row` of z (N, C).
    public static func logSoftmaxRow(_ z: [Double], _ row: Int, _ c: Int, temperature: Double) -> [Double] {
        let x = z[(row * c)..<((row + 1) * c)].map { $0 / temperature }
        let m = x.max()!
        let lse = m + Foundation.log(x.reduce(0.0) { $0 + Foundation.exp($1 - m) })
        return x.map { $0 - lse }
    }

    /// Labels in [0, classes) from the core generator.
    public static func labels(_ n: Int, classes: Int, seed: UInt64) -> (Int) -> Double {
        let u = kernelRandom(n, seed: seed, low: 0, high: 1)
        return { Double(min(classes - 1, Int(u[$0] * Float(classes)))) }
    }

    /// Rows of probabilities (N, C): softmax of random logits in [-3, 3).
    public static func probabilities(_ n: Int, _ c: Int, seed: UInt64) -> [Float] {
        let z = kernelRandom(n * c, seed: seed, low: -3, high: 3).map(Double.init)
        return (0..<n).flatMap { row in logSoftmaxRow(z, row, c, temperature: 1).map { Float(Foundation.exp($0)) } }
    }
}
