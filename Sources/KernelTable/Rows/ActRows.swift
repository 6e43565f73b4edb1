import Foundation
import TrainingLab

/// Activations (include/tl_act.h).
extension KernelTable {
    static var act: [KernelRow] {
        [
            elementwise("relu", "tl_relu_forward", "tl_relu_backward", savesOutput: true, margin: 0.05,
                        forward: { tl_relu_forward($0, $1, $2) }, backward: { tl_relu_backward($0, $1, $2, $3) },
                        reference: { max($0, 0) }, derivative: { $0 > 0 ? 1 : 0 }),
            elementwise("leaky_relu", "tl_leaky_relu_forward", "tl_leaky_relu_backward", savesOutput: true, margin: 0.05,
                        forward: { tl_leaky_relu_forward($0, $1, $2, 0.1) }, backward: { tl_leaky_relu_backward($0, $1, $2, $3, 0.1) },
                        reference: { $0 > 0 ? $0 : Double(Float(0.1)) * $0 }, derivative: { $0 > 0 ? 1 : Double(Float(0.1)) },
                        note: "slope 0.1"),
            elementwise("gelu_erf", "tl_gelu_forward", "tl_gelu_backward", savesOutput: false, margin: 0,
                        forward: { tl_gelu_forward($0, $1, $2, TL_GELU_ERF) }, backward: { tl_gelu_backward($0, $1, $2, $3, TL_GELU_ERF) },
                        reference: { Reference.gelu($0, tanhForm: false) }, derivative: { Reference.geluDerivative($0, tanhForm: false) },
                        note: "mode TL_GELU_ERF"),
            elementwise("gelu_tanh", "tl_gelu_forward", "tl_gelu_backward", savesOutput: false, margin: 0,
                        forward: { tl_gelu_forward($0, $1, $2, TL_GELU_TANH) }, backward: { tl_gelu_backward($0, $1, $2, $3, TL_GELU_TANH) },
                        reference: { Reference.gelu($0, tanhForm: true) }, derivative: { Reference.geluDerivative($0, tanhForm: true) },
                        note: "mode TL_GELU_TANH"),
            elementwise("sigmoid", "tl_sigmoid_forward", "tl_sigmoid_backward", savesOutput: true, margin: 0,
                        forward: { tl_sigmoid_forward($0, $1, $2) }, backward: { tl_sigmoid_backward($0, $1, $2, $3) },
                        reference: { 1 / (1 + Foundation.exp(-$0)) },
                        derivative: { let s = 1 / (1 + Foundation.exp(-$0)); return s * (1 - s) }),
            elementwise("tanh", "tl_tanh_forward", "tl_tanh_backward", savesOutput: true, margin: 0,
                        forward: { tl_tanh_forward($0, $1, $2) }, backward: { tl_tanh_backward($0, $1, $2, $3) },
                        reference: { Foundation.tanh($0) }, derivative: { let t = Foundation.tanh($0); return 1 - t * t }),
            softmax(log: false),
            softmax(log: true),
        ]
    }

    /// An element-wise activation y = f(x) whose backward reads the saved output y (savesOutput) or the input x.
    /// Test inputs span [-8, 8) with exact zeros, tiny and huge values; the finite-difference inputs keep
    /// `margin` away from the kink at 0.
    private static func elementwise(_ name: String, _ forwardName: String, _ backwardName: String, savesOutput: Bool, margin: Float,
                                    forward: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32,
                                    backward: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32,
                                    reference: @escaping (Double) -> Double, derivative: @escaping (Double) -> Double,
                                    note: String = "") -> KernelRow {
        KernelRow(
            name: name, family: "act", forward: forwardName, backward: backwardName,
            reference: "Swift: f(x) and f'(x) dy in Double",
            // GELU's reference in the far negative tail is ~1e-30: abs keeps those from counting.
            tolerance: Tolerance(abs: 1e-30, rel: 1e-5),
            // Output-based gradients lose relative accuracy where y(1-y) or 1-y^2 cancel (|x| large).
            backwardTolerance: Tolerance(abs: 2e-7, rel: 2e-5),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 2e-3, rel: 1e-2),
                                                 shapes: [["n": 64, "margin": Double(margin)]]),
            shapes: [1, 7, 8, 33, 1000, 70_001, 300_001].map { ["n": Double($0)] },
            benchShapes: [["n": 128 * 32 * 28 * 28]],
            work: { s in (.bytes(8 * s.value("n")), .bytes(12 * s.value("n"))) },
            note: note,
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let x = c.input("x", s.has("margin") ? awayFromKink(kernelRandom(n, seed: c.seed(), low: -4, high: 4), s.float("margin"))
                                                     : Reference.activationInputs(n, seed: c.seed()), gradient: true)
                let y = c.output("y", n, gradient: true)
                c.forward { forward(y.f, x.f, n) }
                c.backward { backward(x.grad.f, y.up.f, savesOutput ? y.f : x.f, n) }
                c.reference { ["y": x.values.map(reference)] }
                c.referenceBackward { ["dx": zip(x.values, y.up.values).map { derivative($0) * $1 }] }
                return c
            })
    }

    /// Inputs moved at least `margin` away from 0 (the kink of ReLU-like functions).
    static func awayFromKink(_ x: [Float], _ margin: Float) -> [Float] { x.map { abs($0) < margin ? $0 + 2 * margin : $0 } }

    private static func softmax(log: Bool) -> KernelRow {
        let name = log ? "log_softmax" : "softmax"
        return KernelRow(
            name: name, family: "act", forward: "tl_\(name)_forward", backward: "tl_\(name)_backward",
            reference: "Swift: max-shifted \(name) over the middle axis and its backward from y, in Double",
            tolerance: Tolerance(abs: log ? 1e-5 : 1e-7, rel: 1e-5), backwardTolerance: Tolerance(abs: 1e-6, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2),
                                                 shapes: [[3, 5, 1], [2, 4, 3], [1, 1, 2], [2, 3, 9]].map { axisShape($0, range: 2) }),
            // Rows, odd sizes, a single class, tiles of the strided path (256) and its remainder, and large
            // shapes for the thread split.
            shapes: [[1, 1, 1], [3, 10, 1], [5, 1, 4], [2, 5, 3], [4, 3, 17], [2, 7, 300], [1, 13, 513], [64, 1000, 1], [3, 9, 1],
                     [3, 77, 1], [128, 1000, 1], [4, 64, 600], [1, 8, 20_000]].map { axisShape($0, range: 10) },
            benchShapes: [axisShape([128, 1000, 1], range: 5)],
            work: { s in let n = s.value("outer") * s.value("axis") * s.value("inner"); return (.bytes(8 * n), .bytes(12 * n)) },
            make: { s in
                let (o, a, i) = (s.int("outer"), s.int("axis"), s.int("inner")), c = KernelCase()
                let range = s.float("range")
                let x = c.uniform("x", o * a * i, -range, range, gradient: true)
                let y = c.output("y", o * a * i, gradient: true)
                c.forward { log ? tl_log_softmax_forward(y.f, x.f, o, a, i) : tl_softmax_forward(y.f, x.f, o, a, i) }
                c.backward { log ? tl_log_softmax_backward(x.grad.f, y.up.f, y.f, o, a, i) : tl_softmax_backward(x.grad.f, y.up.f, y.f, o, a, i) }
                c.reference { ["y": Reference.softmax(x.values, o, a, i, log: log)] }
                c.referenceBackward {
                    let p = Reference.softmax(x.values, o, a, i, log: false), dy = y.up.values
                    var dx = [Double](repeating: 0, count: dy.count)
                    for oo in 0..<o {
                        for j in 0..<i {
                            let at = { (k: Int) in (oo * a + k) * i + j }
                            let sum = (0..<a).reduce(0.0) { $0 + dy[at($1)] * (log ? 1 : p[at($1)]) }
                            for k in 0..<a { dx[at(k)] = log ? dy[at(k)] - p[at(k)] * sum : p[at(k)] * (dy[at(k)] - sum) }
                        }
                    }
                    return ["dx": dx]
                }
                return c
            })
    }

    /// An (outer, axis, inner) shape with the half-width of the uniform inputs.
    static func axisShape(_ d: [Int], range: Double) -> KernelShape {
        ["outer": Double(d[0]), "axis": Double(d[1]), "inner": Double(d[2]), "range": range]
    }
}

extension Reference {
    /// Inputs spanning the interesting range of every activation, with exact zeros, tiny and huge values.
    public static func activationInputs(_ n: Int, seed: UInt64) -> [Float] {
        var x = kernelRandom(n, seed: seed, low: -8, high: 8)
        let specials: [Float] = [0, -0.0, 1e-6, -1e-6, 1e-3, -1e-3, 0.3, -0.3, 0.62, 0.63, -0.63, 20, -20, 50, -50, 90, -90, 1e4, -1e4]
        for (i, v) in specials.enumerated() where i < n { x[(i * 7919) % n] = v }
        return x
    }

    public static func gelu(_ x: Double, tanhForm: Bool) -> Double {
        if tanhForm {
            // 0.5 (1 + tanh u) == 1 / (1 + exp(-2u)), which does not cancel for large negative x.
            let u = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
            return x / (1 + Foundation.exp(-2 * u))
        }
        return 0.5 * x * erfc(-x / 2.0.squareRoot())
    }

    public static func geluDerivative(_ x: Double, tanhForm: Bool) -> Double {
        if tanhForm {
            let c = (2 / Double.pi).squareRoot()
            let u = c * (x + 0.044715 * x * x * x)
            let t = Foundation.tanh(u)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        }
        return 0.5 * erfc(-x / 2.0.squareRoot()) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
    }

    /// Softmax or log-softmax over the middle axis of x (outer, axis, inner), shifted by the maximum.
    public static func softmax(_ x: [Double], _ outer: Int, _ axis: Int, _ inner: Int, log: Bool) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for o in 0..<outer {
            for j in 0..<inner {
                let at = { (a: Int) in (o * axis + a) * inner + j }
                let m = (0..<axis).map { x[at($0)] }.max()!
                let s = (0..<axis).reduce(0.0) { $0 + Foundation.exp(x[at($1)] - m) }
                for a in 0..<axis { y[at(a)] = log ? x[at(a)] - m - Foundation.log(s) : Foundation.exp(x[at(a)] - m) / s }
            }
        }
        return y
    }
}
