import Foundation
import TrainingLab

/// Exponential and logarithm outside the activations (include/tl_explog.h).
extension KernelTable {
    static var explog: [KernelRow] { [expRow, logRow, maskedLogSumExp] }

    private static let elementSizes = [1, 7, 1000, 70_001].map { ["n": Double($0)] as KernelShape }

    private static var expRow: KernelRow {
        KernelRow(
            name: "exp", family: "explog", forward: "tl_exp_forward", backward: "tl_exp_backward", reference: "Swift: exp in Double; dy y",
            tolerance: Tolerance(abs: 0, rel: 1e-6), backwardTolerance: Tolerance(abs: 0, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: [["n": 40] as KernelShape]),
            shapes: elementSizes, benchShapes: [["n": 4_194_304] as KernelShape],
            work: { s in (.bytes(8 * s.value("n")), .bytes(12 * s.value("n"))) },
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let x = c.uniform("x", n, -5, 5, gradient: true), y = c.output("y", n, gradient: true)
                c.forward { tl_exp_forward(y.f, x.f, n) }
                c.backward { tl_exp_backward(x.grad.f, y.up.f, y.f, n) }
                c.reference { ["y": x.values.map { Foundation.exp($0) }] }
                c.referenceBackward { ["dx": (0..<n).map { y.up[$0] * Foundation.exp(x[$0]) }] }
                return c
            })
    }

    private static var logRow: KernelRow {
        KernelRow(
            name: "log", family: "explog", forward: "tl_log_forward", backward: "tl_log_backward", reference: "Swift: log in Double; dy / x",
            tolerance: Tolerance(abs: 1e-7, rel: 1e-6), backwardTolerance: Tolerance(abs: 0, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: [["n": 40] as KernelShape]),
            shapes: elementSizes, benchShapes: [["n": 4_194_304] as KernelShape],
            work: { s in (.bytes(8 * s.value("n")), .bytes(12 * s.value("n"))) },
            note: "x in [0.01, 10); log(0) = -inf and log(-1) = NaN are checked in ExpLogTests",
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let x = c.uniform("x", n, 0.01, 10, gradient: true), y = c.output("y", n, gradient: true)
                c.forward { tl_log_forward(y.f, x.f, n) }
                c.backward { tl_log_backward(x.grad.f, y.up.f, x.f, n) }
                c.reference { ["y": x.values.map { Foundation.log($0) }] }
                c.referenceBackward { ["dx": (0..<n).map { y.up[$0] / x[$0] }] }
                return c
            })
    }

    private static var maskedLogSumExp: KernelRow {
        let sizes = [[7, 9, 1], [1, 9, 7], [3, 300, 5], [64, 600, 1], [512, 512, 1]]
        let shape = { (d: [Int], masked: Double) -> KernelShape in
            ["outer": Double(d[0]), "axis": Double(d[1]), "inner": Double(d[2]), "masked": masked, "range": 20]
        }
        return KernelRow(
            name: "masked_logsumexp", family: "explog", forward: "tl_masked_logsumexp_forward", backward: "tl_masked_logsumexp_backward",
            reference: "Swift: max-shifted log-sum-exp over the selected entries in Double (-inf when none)",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5), backwardTolerance: Tolerance(abs: 1e-6, rel: 1e-5),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 2e-3, rel: 2e-2),
                                                 shapes: [["outer": 3, "axis": 6, "inner": 4, "masked": 1, "range": 3]]),
            shapes: sizes.flatMap { [shape($0, 0), shape($0, 1)] }, benchShapes: [shape([256, 256, 1], 1)],
            work: { s in let e = s.value("outer") * s.value("axis") * s.value("inner"); return (.bytes(5 * e), .bytes(9 * e)) },
            note: "masks select 60% with slice (0, 0) empty",
            make: { s in
                let (o, a, i) = (s.int("outer"), s.int("axis"), s.int("inner")), range = s.float("range"), c = KernelCase()
                let x = c.uniform("x", o * a * i, -range, range, gradient: true)
                let bits = kernelRandom(o * a * i, seed: c.seed(), low: 0, high: 1)
                let mask = s.flag("masked") ? c.input("mask", o * a * i, .u8) { k in k < a * i && k % i == 0 ? 0 : bits[k] < 0.6 ? 1 : 0 } : nil
                let out = c.output("out", o * i, gradient: true)
                c.forward { tl_masked_logsumexp_forward(out.f, x.f, mask?.u8, o, a, i) }
                c.backward { tl_masked_logsumexp_backward(x.grad.f, out.up.f, x.f, out.f, mask?.u8, o, a, i) }
                let picked = { (oo: Int, ii: Int) in (0..<a).map { (oo * a + $0) * i + ii }.filter { mask == nil || mask!.u8[$0] != 0 } }
                let lse = { (k: [Int]) -> Double in
                    guard let m = k.map({ x[$0] }).max() else { return -.infinity }
                    return m + Foundation.log(k.reduce(0.0) { $0 + Foundation.exp(x[$1] - m) })
                }
                c.reference { ["out": (0..<(o * i)).map { lse(picked($0 / i, $0 % i)) }] }
                c.referenceBackward {
                    var dx = [Double](repeating: 0, count: x.count)
                    for k in 0..<(o * i) {
                        let members = picked(k / i, k % i), value = lse(members)
                        for j in members { dx[j] = out.up[k] * Foundation.exp(x[j] - value) }
                    }
                    return ["dx": dx]
                }
                return c
            })
    }
}
