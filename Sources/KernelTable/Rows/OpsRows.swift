import TrainingLab

/// Element-wise, broadcast, reduction and layout ops that autograd composes (include/tl_ops.h). Their
/// gradients are other ops of this family (or themselves), so only tl_l2_normalize_rows has a backward.
extension KernelTable {
    static var ops: [KernelRow] {
        [binary("add", tl_add, +), binary("sub", tl_sub, -), binary("mul", tl_mul, *), fill, affine, axpy, lerp, channelBias, sumChannels,
         sumAxis, broadcastAxis, sum, dot, countNonfinite, transpose, gatherRows, scatterAddRows, l2Normalize, signStep]
    }

    /// Odd sizes and one above the parallel threshold.
    private static let opSizes: [KernelShape] = [1, 7, 100_003].map { ["n": Double($0)] }
    private static let opBench: KernelShape = ["n": 4_194_304]

    /// A forward-only op over `n` elements with its bytes per element.
    private static func op(_ name: String, reference: String, tolerance: Tolerance, bytes: Double, shapes: [KernelShape] = opSizes,
                           bench: KernelShape = opBench, note: String = "no backward", make: @escaping (KernelShape) throws -> KernelCase) -> KernelRow {
        KernelRow(name: name, family: "ops", forward: "tl_\(name)", reference: reference, tolerance: tolerance, shapes: shapes,
                  benchShapes: [bench], work: { s in (.bytes(bytes * s.value("n")), nil) }, note: note, make: make)
    }

    private static func binary(_ name: String, _ kernel: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32,
                               _ f: @escaping (Float, Float) -> Float) -> KernelRow {
        op(name, reference: "Swift: the Float operation", tolerance: .exact, bytes: 12) { s in
            let n = s.int("n"), c = KernelCase()
            let a = c.uniform("a", n), b = c.uniform("b", n), y = c.output("y", n)
            c.forward { kernel(y.f, a.f, b.f, n) }
            c.reference { ["y": (0..<n).map { Double(f(a.f[$0], b.f[$0])) }] }
            return c
        }
    }

    private static var fill: KernelRow {
        op("fill", reference: "Swift: the value", tolerance: .exact, bytes: 4) { s in
            let n = s.int("n"), c = KernelCase()
            let x = c.output("x", n)
            c.forward { tl_fill(x.f, n, 0.375) }
            c.reference { ["x": [Double](repeating: 0.375, count: n)] }
            return c
        }
    }

    private static var affine: KernelRow {
        op("affine", reference: "Swift: 2 x + 1 in Double", tolerance: Tolerance(abs: 0, rel: 1e-6), bytes: 8) { s in
            let n = s.int("n"), c = KernelCase()
            let x = c.uniform("x", n), y = c.output("y", n)
            c.forward { tl_affine(y.f, x.f, n, 2, 1) }
            c.reference { ["y": x.values.map { 2 * $0 + 1 }] }
            return c
        }
    }

    private static var axpy: KernelRow {
        op("axpy", reference: "Swift: y - 0.5 x in Double", tolerance: Tolerance(abs: 1e-7, rel: 1e-6), bytes: 12, note: "in place; no backward") { s in
            let n = s.int("n"), c = KernelCase()
            let x = c.uniform("x", n), y = c.uniform("y", n)
            c.inPlace(y)
            c.forward { tl_axpy(y.f, x.f, n, -0.5) }
            c.reference { ["y": (0..<n).map { y[$0] - 0.5 * x[$0] }] }
            return c
        }
    }

    private static var lerp: KernelRow {
        op("lerp", reference: "Swift: y + 0.25 (x - y) in Double", tolerance: Tolerance(abs: 1e-7, rel: 1e-6), bytes: 12, note: "in place; no backward") { s in
            let n = s.int("n"), c = KernelCase()
            let x = c.uniform("x", n), y = c.uniform("y", n)
            c.inPlace(y)
            c.forward { tl_lerp(y.f, x.f, n, 0.25) }
            c.reference { ["y": (0..<n).map { y[$0] + 0.25 * (x[$0] - y[$0]) }] }
            return c
        }
    }

    /// (outer, c, inner) shapes of the channel ops, with the length of a channel's sum (outer inner).
    private static let channelShapes = KernelShape.list(["outer", "c", "inner"], [[3, 5, 7], [1, 1, 1], [2, 16, 1], [64, 32, 100]])
        .map { $0.with("sum", $0.value("outer") * $0.value("inner")) }
    private static let channelBench = (["outer": 128, "c": 64, "inner": 784] as KernelShape).with("sum", 128 * 784)

    private static func channelOp(_ name: String, reference: String, tolerance: Tolerance, bytes: Double,
                                  make: @escaping (Int, Int, Int, KernelCase) -> Void) -> KernelRow {
        KernelRow(name: name, family: "ops", forward: "tl_\(name)", reference: reference, tolerance: tolerance, shapes: channelShapes,
                  benchShapes: [channelBench], work: { s in (.bytes(bytes * s.value("outer") * s.value("c") * s.value("inner")), nil) },
                  note: "no backward",
                  make: { s in
                      let c = KernelCase()
                      make(s.int("outer"), s.int("c"), s.int("inner"), c)
                      return c
                  })
    }

    private static var channelBias: KernelRow {
        channelOp("add_channel_bias", reference: "Swift: x + bias[c] in Float", tolerance: .exact, bytes: 8) { o, ch, i, c in
            let x = c.uniform("x", o * ch * i), bias = c.uniform("bias", ch), y = c.output("y", x.count)
            c.forward { tl_add_channel_bias(y.f, x.f, bias.f, o, ch, i) }
            c.reference { ["y": (0..<x.count).map { Double(x.f[$0] + bias.f[($0 / i) % ch]) }] }
        }
    }

    private static var sumChannels: KernelRow {
        channelOp("sum_channels", reference: "Swift: sums over outer and inner in Double", tolerance: Tolerance(abs: 1e-6, rel: 1e-6, growth: "sum"),
                  bytes: 4) { o, ch, i, c in
            let x = c.uniform("x", o * ch * i), out = c.output("out", ch)
            c.forward { tl_sum_channels(out.f, x.f, o, ch, i) }
            c.reference {
                var sums = [Double](repeating: 0, count: ch)
                for k in 0..<x.count { sums[(k / i) % ch] += x[k] }
                return ["out": sums]
            }
        }
    }

    private static var sumAxis: KernelRow {
        channelOp("sum_axis", reference: "Swift: sums over the middle axis in Double", tolerance: Tolerance(abs: 1e-6, rel: 1e-6, growth: "c"), bytes: 4) { o, ch, i, c in
            let x = c.uniform("x", o * ch * i), out = c.output("out", o * i)
            c.forward { tl_sum_axis(out.f, x.f, o, ch, i) }
            c.reference {
                var sums = [Double](repeating: 0, count: o * i)
                for k in 0..<x.count { sums[k / (ch * i) * i + k % i] += x[k] }
                return ["out": sums]
            }
        }
    }

    private static var broadcastAxis: KernelRow {
        channelOp("broadcast_axis", reference: "Swift: x repeated along the middle axis", tolerance: .exact, bytes: 4) { o, ch, i, c in
            let x = c.uniform("x", o * i), y = c.output("y", o * ch * i)
            c.forward { tl_broadcast_axis(y.f, x.f, o, ch, i) }
            c.reference { ["y": (0..<y.count).map { x[$0 / (ch * i) * i + $0 % i] }] }
        }
    }

    private static let sumSizes: [KernelShape] = [1, 7, 100_003, 1_000_003].map { ["n": Double($0)] }

    private static var sum: KernelRow {
        op("sum", reference: "Swift: sum in Double", tolerance: Tolerance(abs: 1e-9, rel: 1e-12), bytes: 4, shapes: sumSizes) { s in
            let n = s.int("n"), c = KernelCase()
            let x = c.uniform("x", n), out = c.output("out", 1, .f64)
            c.forward { tl_sum(out.f64, x.f, n) }
            c.reference { ["out": [x.values.reduce(0, +)]] }
            return c
        }
    }

    private static var dot: KernelRow {
        op("dot", reference: "Swift: sum of products in Double", tolerance: Tolerance(abs: 1e-9, rel: 1e-12), bytes: 8, shapes: sumSizes) { s in
            let n = s.int("n"), c = KernelCase()
            let a = c.uniform("a", n), b = c.uniform("b", n), out = c.output("out", 1, .f64)
            c.forward { tl_dot(out.f64, a.f, b.f, n) }
            c.reference { ["out": [(0..<n).reduce(0.0) { $0 + a[$1] * b[$1] }]] }
            return c
        }
    }

    private static var countNonfinite: KernelRow {
        op("count_nonfinite", reference: "Swift: count of NaN and infinities", tolerance: .exact, bytes: 4, note: "every 13th element NaN or +-inf; no backward") { s in
            let n = s.int("n"), c = KernelCase()
            let special: [Float] = [.nan, .infinity, -.infinity]
            let x = c.input("x", kernelRandom(n, seed: c.seed()).enumerated().map { $0.offset % 13 == 3 ? special[$0.offset % 3] : $0.element })
            let count = c.output("count", 1, .size)
            c.forward { tl_count_nonfinite(count.size, x.f, n) }
            c.reference { ["count": [Double(x.values.filter { !$0.isFinite }.count)]] }
            return c
        }
    }

    private static var transpose: KernelRow {
        KernelRow(
            name: "transpose", family: "ops", forward: "tl_transpose", reference: "Swift: y[j][i] = x[i][j]", tolerance: .exact,
            shapes: KernelShape.list(["rows", "cols"], [[1, 1], [37, 41], [1, 9], [300, 257]]), benchShapes: [["rows": 2048, "cols": 2048]],
            work: { s in (.bytes(8 * s.value("rows") * s.value("cols")), nil) }, note: "its own backward (transposed back); no backward",
            make: { s in
                let (r, cl) = (s.int("rows"), s.int("cols")), c = KernelCase()
                let x = c.uniform("x", r * cl), y = c.output("y", r * cl)
                c.forward { tl_transpose(y.f, x.f, r, cl) }
                c.reference { ["y": (0..<(r * cl)).map { x[($0 % r) * cl + $0 / r] }] }
                return c
            })
    }

    /// (m picked rows, n rows, row length); indices repeat.
    private static let rowShapes = KernelShape.list(["m", "n", "row"], [[3, 37, 41], [1, 1, 1], [100, 10, 7], [4096, 1000, 64]])

    private static var gatherRows: KernelRow {
        KernelRow(
            name: "gather_rows", family: "ops", forward: "tl_gather_rows", reference: "Swift: the indexed rows", tolerance: .exact,
            shapes: rowShapes, benchShapes: [["m": 4096, "n": 10_000, "row": 256]], work: { s in (.bytes(8 * s.value("m") * s.value("row")), nil) },
            note: "its backward is tl_scatter_add_rows (a row of its own)",
            make: { s in
                let (m, n, row) = (s.int("m"), s.int("n"), s.int("row")), c = KernelCase()
                let x = c.uniform("x", n * row), index = c.input("index", m, .i64) { Double(($0 * 7 + 3) % n) }
                let y = c.output("y", m * row)
                c.forward { tl_gather_rows(y.f, x.f, index.i64, m, n, row) }
                c.reference { ["y": (0..<(m * row)).map { x[Int(index.i64[$0 / row]) * row + $0 % row] }] }
                return c
            })
    }

    private static var scatterAddRows: KernelRow {
        KernelRow(
            name: "scatter_add_rows", family: "ops", forward: "tl_scatter_add_rows", reference: "Swift: rows added at their indices in order, in Double",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-6), shapes: rowShapes, benchShapes: [["m": 4096, "n": 10_000, "row": 256]],
            work: { s in (.bytes(12 * s.value("m") * s.value("row")), nil) }, note: "in place; no backward",
            make: { s in
                let (m, n, row) = (s.int("m"), s.int("n"), s.int("row")), c = KernelCase()
                let x = c.uniform("x", m * row), index = c.input("index", m, .i64) { Double(($0 * 7 + 3) % n) }
                let y = c.uniform("y", n * row)
                c.inPlace(y)
                c.forward { tl_scatter_add_rows(y.f, x.f, index.i64, m, n, row) }
                c.reference {
                    var v = y.values
                    for k in 0..<(m * row) { v[Int(index.i64[k / row]) * row + k % row] += x[k] }
                    return ["y": v]
                }
                return c
            })
    }

    private static var l2Normalize: KernelRow {
        let shape = { (rows: Int, d: Int, zero: Double) -> KernelShape in ["rows": Double(rows), "d": Double(d), "zero_row": zero] }
        return KernelRow(
            name: "l2_normalize_rows", family: "ops", forward: "tl_l2_normalize_rows_forward", backward: "tl_l2_normalize_rows_backward",
            reference: "Swift: x / max(||x||, eps) per row in Double; (dy - y <dy, y>) / norm",
            tolerance: Tolerance(abs: 1e-7, rel: 1e-5), backwardTolerance: Tolerance(abs: 1e-6, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: [shape(4, 9, 0), shape(3, 1, 0)]),
            shapes: [shape(5, 9, 1), shape(1, 1, 0), shape(3, 128, 1), shape(1000, 257, 0)], benchShapes: [shape(4096, 512, 0)],
            work: { s in let e = s.value("rows") * s.value("d"); return (.bytes(8 * e), .bytes(12 * e)) },
            note: "eps 1e-6; zero_row = 1 makes the last row zero (clamped to eps)",
            make: { s in
                let (rows, d) = (s.int("rows"), s.int("d")), c = KernelCase()
                var values = kernelRandom(rows * d, seed: c.seed())
                if s.flag("zero_row") { for k in 0..<d { values[(rows - 1) * d + k] = 0 } }
                let x = c.input("x", values, gradient: true)
                let y = c.output("y", rows * d, gradient: true), norms = c.output("norms", rows)
                c.forward { tl_l2_normalize_rows_forward(y.f, norms.f, x.f, rows, d, 1e-6) }
                c.backward { tl_l2_normalize_rows_backward(x.grad.f, y.up.f, y.f, norms.f, rows, d, 1e-6) }
                let norm = { (r: Int) in max((0..<d).reduce(0.0) { $0 + x[r * d + $1] * x[r * d + $1] }.squareRoot(), Double(Float(1e-6))) }
                c.reference {
                    let n = (0..<rows).map(norm)
                    return ["y": (0..<(rows * d)).map { x[$0] / n[$0 / d] }, "norms": n]
                }
                c.referenceBackward {
                    var dx = [Double](repeating: 0, count: rows * d)
                    for r in 0..<rows {
                        let n = norm(r), clamped = n <= Double(Float(1e-6))
                        let yv = (0..<d).map { x[r * d + $0] / n }
                        let proj = clamped ? 0 : (0..<d).reduce(0.0) { $0 + y.up[r * d + $1] * yv[$1] }
                        for k in 0..<d { dx[r * d + k] = (y.up[r * d + k] - yv[k] * proj) / n }
                    }
                    return ["dx": dx]
                }
                return c
            })
    }

    private static var signStep: KernelRow {
        op("sign_step_project", reference: "Swift: clip(x + step sign(g)) to the eps-ball and [lo, hi], in Float", tolerance: .exact, bytes: 16,
           note: "step 0.03, eps 0.1, [0, 1]; in place; no backward") { s in
            let n = s.int("n"), c = KernelCase()
            let x0 = c.uniform("x0", n, 0, 1)
            let adv = c.input("x_adv", (0..<n).map { x0.f[$0] + Float($0 % 5) * 0.03 - 0.06 })
            let grad = c.input("grad", kernelRandom(n, seed: c.seed()).enumerated().map { $0.offset % 17 == 0 ? 0 : $0.element })
            c.inPlace(adv)
            c.forward { tl_sign_step_project(adv.f, grad.f, x0.f, n, 0.03, 0.1, 0, 1) }
            c.reference {
                ["x_adv": (0..<n).map { i in
                    let g = grad.f[i]
                    let v = adv.f[i] + (g > 0 ? 0.03 : g < 0 ? -0.03 : 0)
                    return Double(min(max(min(max(v, x0.f[i] - 0.1), x0.f[i] + 0.1), 0), 1))
                }]
            }
            return c
        }
    }
}
