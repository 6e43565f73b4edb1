import TrainingLab

/// Normalisation (include/tl_norm.h): batch norm (training, inference, fused with ReLU, a residual add
/// and 2x2 max pooling), layer norm and group norm, against one Double reference of normalisation over
/// index groups.
extension KernelTable {
    static var norm: [KernelRow] {
        [batchNormTrain, batchNormEval, fusedTrain(residual: false), fusedTrain(residual: true), fusedEval(residual: false),
         fusedEval(residual: true), poolTrain, poolEval, layerNorm, groupNorm]
    }

    static let normEps: Float = 1e-5

    /// (N, C, S): planes, the (N,C) row path (S = 1), batch 1, uneven row blocks (130 rows in 64 blocks),
    /// then sizes for the parallel paths.
    private static let batchNormShapes = [[4, 3, 5], [2, 5, 1], [1, 2, 7], [3, 4, 16], [130, 3, 1], [2, 1, 2], [5, 2, 19],
                                          [16, 16, 256], [4096, 16, 1], [8, 3, 1500]].map { ncs($0) }
    /// Training-size planes (smallcnn's and resnet20's first layers) and one DRAM-sized shape.
    private static let batchNormBenchShapes = [[128, 32, 784], [128, 16, 1024], [128, 64, 3136]].map { ncs($0) }

    static func ncs(_ d: [Int]) -> KernelShape { ["n": Double(d[0]), "c": Double(d[1]), "s": Double(d[2])] }

    private static let normFD = Tolerance(abs: 2e-3, rel: 1e-2)

    private static var batchNormTrain: KernelRow {
        KernelRow(
            name: "batchnorm_train", family: "norm", forward: "tl_batchnorm_train_forward", backward: "tl_batchnorm_train_backward",
            reference: "Swift: two-pass batch statistics in Double, running averages with the unbiased variance, exact gradient",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5), backwardTolerance: Tolerance(abs: 1e-5, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 5e-3, tolerance: normFD, shapes: batchNormShapes.prefix(7).map { $0.with("ramp", 1) }),
            shapes: batchNormShapes, benchShapes: batchNormBenchShapes,
            work: { s in let e = s.value("n") * s.value("c") * s.value("s"); return (.bytes(12 * e), .bytes(20 * e)) },
            note: "momentum 0.1, eps 1e-5",
            make: { s in
                let (n, ch, sp) = (s.int("n"), s.int("c"), s.int("s")), c = KernelCase()
                let x = normInput(c, n * ch * sp, s)
                let gamma = c.uniform("gamma", ch, 0.5, 1.5, gradient: true), beta = c.uniform("beta", ch, gradient: true)
                let rm = c.uniform("running_mean", ch), rv = c.uniform("running_var", ch, 0.5, 1.5)
                let y = c.output("y", x.count, gradient: true)
                let mean = c.output("save_mean", ch, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                let rstd = c.output("save_rstd", ch, tolerance: Tolerance(abs: 0, rel: 1e-5))
                c.inPlace(rm, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                c.inPlace(rv, tolerance: Tolerance(abs: 1e-6, rel: 1e-5))
                c.forward { tl_batchnorm_train_forward(y.f, mean.f, rstd.f, rm.f, rv.f, x.f, gamma.f, beta.f, n, ch, sp, 0.1, normEps) }
                c.backward {
                    tl_batchnorm_train_backward(x.grad.f, gamma.grad.f, beta.grad.f, y.up.f, x.f, gamma.f, mean.f, rstd.f, n, ch, sp)
                }
                let layout = NormLayout.batch(n, ch, sp)
                c.slack("dx") { conditionedSlack(x, layout) }
                c.reference {
                    let r = Reference.normalize(x.values, gamma.values, beta.values, layout, eps: normEps)
                    let m = Double(n * sp)
                    return ["y": r.y, "save_mean": r.mean, "save_rstd": r.rstd,
                            "running_mean": zip(rm.values, r.mean).map { 0.9 * $0 + 0.1 * $1 },
                            "running_var": zip(rv.values, r.variance).map { 0.9 * $0 + 0.1 * $1 * m / (m - 1) }]
                }
                c.referenceBackward {
                    let g = Reference.normalizeBackward(y.up.values, x.values, gamma.values, layout, eps: normEps, params: ch)
                    return ["dx": g.dx, "dgamma": g.dgamma, "dbeta": g.dbeta]
                }
                return c
            })
    }

    private static var batchNormEval: KernelRow {
        KernelRow(
            name: "batchnorm_eval", family: "norm", forward: "tl_batchnorm_eval_forward", backward: "tl_batchnorm_eval_backward",
            reference: "Swift: the per-channel affine map of the running statistics, in Double",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-5), backwardTolerance: Tolerance(abs: 1e-5, rel: 1e-5),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2),
                                                 shapes: [[2, 3, 5], [4, 5, 1], [1, 1, 1]].map { ncs($0) }),
            shapes: [[2, 3, 5], [4, 5, 1], [1, 1, 1], [16, 16, 256], [4096, 16, 1]].map { ncs($0) },
            benchShapes: [batchNormBenchShapes[0]],
            work: { s in let e = s.value("n") * s.value("c") * s.value("s"); return (.bytes(8 * e), .bytes(16 * e)) },
            make: { s in
                let (n, ch, sp) = (s.int("n"), s.int("c"), s.int("s")), c = KernelCase()
                let x = c.uniform("x", n * ch * sp, -2, 2, gradient: true)
                let gamma = c.uniform("gamma", ch, 0.5, 1.5, gradient: true), beta = c.uniform("beta", ch, gradient: true)
                let rm = c.uniform("running_mean", ch), rv = c.uniform("running_var", ch, 0.2, 2)
                let y = c.output("y", x.count, gradient: true)
                c.forward { tl_batchnorm_eval_forward(y.f, x.f, gamma.f, beta.f, rm.f, rv.f, n, ch, sp, normEps) }
                c.backward { tl_batchnorm_eval_backward(x.grad.f, gamma.grad.f, beta.grad.f, y.up.f, x.f, gamma.f, rm.f, rv.f, n, ch, sp, normEps) }
                let scale = { (k: Int) in 1 / (rv[k] + Double(normEps)).squareRoot() }
                c.reference { ["y": (0..<x.count).map { i in let k = (i / sp) % ch; return (x[i] - rm[k]) * scale(k) * gamma[k] + beta[k] }] }
                c.referenceBackward {
                    var dgamma = [Double](repeating: 0, count: ch), dbeta = dgamma
                    let dx = (0..<x.count).map { i -> Double in
                        let k = (i / sp) % ch, dy = y.up[i]
                        dgamma[k] += dy * (x[i] - rm[k]) * scale(k)
                        dbeta[k] += dy
                        return dy * gamma[k] * scale(k)
                    }
                    return ["dx": dx, "dgamma": dgamma, "dbeta": dbeta]
                }
                return c
            })
    }

    /// (N, C, S) of the fused kernels: the (N,C) row path, batch 1, tails of the 16-lane sums (S = 19, 37), a
    /// plane of 64, and sizes for the parallel paths.
    private static let fusedShapes = [[4, 3, 5], [2, 5, 1], [1, 2, 7], [3, 4, 16], [130, 3, 1], [2, 2, 2], [5, 2, 19], [2, 3, 37],
                                      [2, 2, 64], [8, 16, 300], [4000, 12, 1]].map { ncs($0) }

    private static func fusedTrain(residual: Bool) -> KernelRow {
        let name = residual ? "batchnorm_add_relu_train" : "batchnorm_relu_train"
        return KernelRow(
            name: name, family: "norm", forward: "tl_\(name)_forward", backward: "tl_\(name)_backward",
            reference: "Swift: relu(batch norm(x)\(residual ? " + r" : "")) in Double and its exact gradient",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5), backwardTolerance: Tolerance(abs: 2e-5, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 3e-3, rel: 2e-2),
                                                 shapes: [[2, 3, 4], [6, 2, 1], [1, 2, 9]].map { ncs($0).with("clear", 1) }),
            shapes: fusedShapes, benchShapes: [batchNormBenchShapes[1]],
            work: { s in let e = s.value("n") * s.value("c") * s.value("s"); return (.bytes((residual ? 16 : 12) * e), .bytes((residual ? 24 : 20) * e)) },
            note: "gamma[1] < 0; finite-difference inputs keep pre-activations >= 0.08 from the ReLU kink",
            make: { s in
                let (n, ch, sp) = (s.int("n"), s.int("c"), s.int("s")), c = KernelCase()
                let v = FusedInputs(n, ch, sp, clear: s.has("clear"), window: nil)
                let x = c.input("x", v.x, gradient: true), gamma = c.input("gamma", v.gamma, gradient: true)
                let beta = c.input("beta", v.beta, gradient: true)
                let r = residual ? c.input("r", v.r, gradient: true) : nil
                let rm = c.input("running_mean", [Float](repeating: 0.5, count: ch)), rv = c.input("running_var", [Float](repeating: 2, count: ch))
                let y = c.output("y", x.count, gradient: true)
                let mean = c.output("save_mean", ch, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                let rstd = c.output("save_rstd", ch, tolerance: Tolerance(abs: 0, rel: 1e-5))
                c.inPlace(rm, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                c.inPlace(rv, tolerance: Tolerance(abs: 1e-6, rel: 1e-5))
                c.gradientTolerance("beta", Tolerance(abs: 1e-5, rel: 1e-5))
                if let r {
                    c.gradientTolerance("r", .exact)
                    c.forward { tl_batchnorm_add_relu_train_forward(y.f, mean.f, rstd.f, rm.f, rv.f, x.f, r.f, gamma.f, beta.f, n, ch, sp, 0.1, normEps) }
                    c.backward {
                        tl_batchnorm_add_relu_train_backward(x.grad.f, r.grad.f, gamma.grad.f, beta.grad.f, y.up.f, y.f, x.f, gamma.f,
                                                             mean.f, rstd.f, n, ch, sp)
                    }
                } else {
                    c.forward { tl_batchnorm_relu_train_forward(y.f, mean.f, rstd.f, rm.f, rv.f, x.f, gamma.f, beta.f, n, ch, sp, 0.1, normEps) }
                    c.backward {
                        tl_batchnorm_relu_train_backward(x.grad.f, gamma.grad.f, beta.grad.f, y.up.f, x.f, gamma.f, beta.f, mean.f, rstd.f, n, ch, sp)
                    }
                }
                let layout = NormLayout.batch(n, ch, sp)
                c.slack("dx") { conditionedSlack(x, layout) }
                c.reference {
                    let bn = Reference.normalize(x.values, gamma.values, beta.values, layout, eps: normEps)
                    let pre = r.map { zip(bn.y, $0.values).map(+) } ?? bn.y
                    let m = Double(n * sp)
                    return ["y": pre.map { max($0, 0) }, "save_mean": bn.mean, "save_rstd": bn.rstd,
                            "running_mean": bn.mean.map { 0.45 + 0.1 * $0 }, "running_var": bn.variance.map { 1.8 + 0.1 * $0 * m / (m - 1) }]
                }
                c.referenceBackward {
                    let bn = Reference.normalize(x.values, gamma.values, beta.values, layout, eps: normEps)
                    let pre = r.map { zip(bn.y, $0.values).map(+) } ?? bn.y
                    let g = zip(pre, y.up.values).map { $0 > 0 ? $1 : 0 }
                    let b = Reference.normalizeBackward(g, x.values, gamma.values, layout, eps: normEps, params: ch)
                    var out = ["dx": b.dx, "dgamma": b.dgamma, "dbeta": b.dbeta]
                    if r != nil { out["dr"] = g }
                    return out
                }
                return c
            })
    }

    private static func fusedEval(residual: Bool) -> KernelRow {
        let name = residual ? "batchnorm_add_relu_eval" : "batchnorm_relu_eval"
        return KernelRow(
            name: name, family: "norm", forward: "tl_\(name)_forward", reference: "Swift: relu(affine map\(residual ? " + r" : "")) in Double",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-5), shapes: fusedShapes, benchShapes: [batchNormBenchShapes[1]],
            work: { s in let e = s.value("n") * s.value("c") * s.value("s"); return (.bytes((residual ? 12 : 8) * e), nil) },
            note: "inference only (no backward); FusedNormTests checks it is bitwise the unfused kernels",
            make: { s in
                let (n, ch, sp) = (s.int("n"), s.int("c"), s.int("s")), c = KernelCase()
                let v = FusedInputs(n, ch, sp, clear: false, window: nil)
                let x = c.input("x", v.x), gamma = c.input("gamma", v.gamma), beta = c.input("beta", v.beta)
                let r = residual ? c.input("r", v.r) : nil
                let rm = c.uniform("running_mean", ch), rv = c.uniform("running_var", ch, 0.2, 2)
                let y = c.output("y", x.count)
                if let r {
                    c.forward { tl_batchnorm_add_relu_eval_forward(y.f, x.f, r.f, gamma.f, beta.f, rm.f, rv.f, n, ch, sp, normEps) }
                } else {
                    c.forward { tl_batchnorm_relu_eval_forward(y.f, x.f, gamma.f, beta.f, rm.f, rv.f, n, ch, sp, normEps) }
                }
                c.reference {
                    ["y": (0..<x.count).map { i in
                        let k = (i / sp) % ch
                        let bn = (x[i] - rm[k]) / (rv[k] + Double(normEps)).squareRoot() * gamma[k] + beta[k]
                        return max(bn + (r?[i] ?? 0), 0)
                    }]
                }
                return c
            })
    }

    /// (N, C, H, W) of the pooled forms: output rows of 1, 7 (one short vector), 8, 14 (8 + 6), 17 (8 + 8 + 1);
    /// odd heights and widths (an unpooled last row / column); 2x2 inputs; sizes for the parallel paths.
    private static let poolFusedShapes = [[2, 3, 4, 4], [1, 2, 5, 7], [2, 2, 14, 14], [1, 2, 6, 16], [2, 1, 3, 28], [1, 2, 2, 35],
                                          [3, 2, 2, 2], [1, 1, 9, 17], [8, 16, 28, 28], [16, 8, 15, 14]].map { nchw($0) }

    private static var poolTrain: KernelRow {
        KernelRow(
            name: "batchnorm_relu_maxpool2_train", family: "norm", forward: "tl_batchnorm_relu_maxpool2_train_forward",
            backward: "tl_batchnorm_relu_maxpool2_train_backward",
            reference: "Swift: 2x2 max pooling of relu(batch norm(x)) in Double, gradient to the first maximum of each window",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5), backwardTolerance: Tolerance(abs: 2e-5, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 3e-3, rel: 2e-2),
                                                 shapes: [[2, 2, 4, 5], [1, 2, 3, 4]].map { nchw($0).with("clear", 1) }),
            shapes: poolFusedShapes, benchShapes: [nchw([128, 32, 28, 28])],
            work: { s in let e = s.value("n") * s.value("c") * s.value("h") * s.value("w"); return (.bytes(9 * e), .bytes(13 * e)) },
            note: "finite-difference inputs keep pre-activations >= 0.08 from 0 and from the other values of their window",
            make: { s in
                let (n, ch, h, w) = (s.int("n"), s.int("c"), s.int("h"), s.int("w")), c = KernelCase()
                let v = FusedInputs(n, ch, h * w, clear: s.has("clear"), window: (h, w))
                let x = c.input("x", v.x, gradient: true), gamma = c.input("gamma", v.gamma, gradient: true)
                let beta = c.input("beta", v.beta, gradient: true)
                let rm = c.input("running_mean", [Float](repeating: 0.5, count: ch)), rv = c.input("running_var", [Float](repeating: 2, count: ch))
                let y = c.output("y", n * ch * (h / 2) * (w / 2), gradient: true)
                let mean = c.output("save_mean", ch, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                let rstd = c.output("save_rstd", ch, tolerance: Tolerance(abs: 0, rel: 1e-5))
                c.inPlace(rm, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                c.inPlace(rv, tolerance: Tolerance(abs: 1e-6, rel: 1e-5))
                c.gradientTolerance("beta", Tolerance(abs: 1e-5, rel: 1e-5))
                c.forward { tl_batchnorm_relu_maxpool2_train_forward(y.f, mean.f, rstd.f, rm.f, rv.f, x.f, gamma.f, beta.f, n, ch, h, w, 0.1, normEps) }
                c.backward {
                    tl_batchnorm_relu_maxpool2_train_backward(x.grad.f, gamma.grad.f, beta.grad.f, y.up.f, y.f, x.f, gamma.f, beta.f,
                                                              mean.f, rstd.f, n, ch, h, w)
                }
                let layout = NormLayout.batch(n, ch, h * w)
                c.slack("dx") { conditionedSlack(x, layout) }
                c.reference {
                    let bn = Reference.normalize(x.values, gamma.values, beta.values, layout, eps: normEps)
                    let m = Double(n * h * w)
                    return ["y": Reference.pool2x2Winners(bn.y, n * ch, h, w).map { max($0.value, 0) }, "save_mean": bn.mean,
                            "save_rstd": bn.rstd, "running_mean": bn.mean.map { 0.45 + 0.1 * $0 },
                            "running_var": bn.variance.map { 1.8 + 0.1 * $0 * m / (m - 1) }]
                }
                c.referenceBackward {
                    let bn = Reference.normalize(x.values, gamma.values, beta.values, layout, eps: normEps)
                    var g = [Double](repeating: 0, count: x.count)
                    for (o, win) in Reference.pool2x2Winners(bn.y, n * ch, h, w).enumerated() where win.value > 0 { g[win.index] = y.up[o] }
                    let b = Reference.normalizeBackward(g, x.values, gamma.values, layout, eps: normEps, params: ch)
                    return ["dx": b.dx, "dgamma": b.dgamma, "dbeta": b.dbeta]
                }
                return c
            })
    }

    private static var poolEval: KernelRow {
        KernelRow(
            name: "batchnorm_relu_maxpool2_eval", family: "norm", forward: "tl_batchnorm_relu_maxpool2_eval_forward",
            reference: "Swift: 2x2 max pooling of relu(affine map of the running statistics) in Double",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-5), shapes: poolFusedShapes, benchShapes: [nchw([128, 32, 28, 28])],
            work: { s in let e = s.value("n") * s.value("c") * s.value("h") * s.value("w"); return (.bytes(5 * e), nil) },
            note: "inference only (no backward)",
            make: { s in
                let (n, ch, h, w) = (s.int("n"), s.int("c"), s.int("h"), s.int("w")), c = KernelCase()
                let v = FusedInputs(n, ch, h * w, clear: false, window: nil)
                let x = c.input("x", v.x), gamma = c.input("gamma", v.gamma), beta = c.input("beta", v.beta)
                let rm = c.uniform("running_mean", ch), rv = c.uniform("running_var", ch, 0.2, 2)
                let y = c.output("y", n * ch * (h / 2) * (w / 2))
                c.forward { tl_batchnorm_relu_maxpool2_eval_forward(y.f, x.f, gamma.f, beta.f, rm.f, rv.f, n, ch, h, w, normEps) }
                c.reference {
                    let bn = (0..<x.count).map { i -> Double in
                        let k = (i / (h * w)) % ch
                        return (x[i] - rm[k]) / (rv[k] + Double(normEps)).squareRoot() * gamma[k] + beta[k]
                    }
                    return ["y": Reference.pool2x2Winners(bn, n * ch, h, w).map { max($0.value, 0) }]
                }
                return c
            })
    }

    private static var layerNorm: KernelRow {
        // (R, D): odd sizes, uneven row blocks (130 rows), D = 1, 4100 rows (64-row blocks: the float
        // accumulators flush), a large row count for the threads; variants without gamma, beta or both.
        let shapes: [KernelShape] = [[3, 7], [5, 33], [130, 17], [2, 1], [1, 64], [4, 16], [4100, 3], [512, 256]].map { rd($0) }
            + [rd([5, 33]).with("gamma", 0).with("beta", 0), rd([130, 17]).with("beta", 0), rd([3, 7]).with("gamma", 0)]
        return KernelRow(
            name: "layernorm", family: "norm", forward: "tl_layernorm_forward", backward: "tl_layernorm_backward",
            reference: "Swift: two-pass row statistics in Double and the exact gradient",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5), backwardTolerance: Tolerance(abs: 1e-5, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 5e-3, tolerance: normFD,
                                                 shapes: shapes.filter { $0.int("r") * $0.int("d") <= 300 }.map { $0.with("ramp", 1) }),
            shapes: shapes, benchShapes: [rd([4096, 768])],
            work: { s in let e = s.value("r") * s.value("d"); return (.bytes(8 * e), .bytes(12 * e)) },
            note: "dx gets 2e-6 rstd^2 more per row (4e-7 rstd for D = 1, whose exact 0 is rstd g - rstd g with rstd ~ 316)",
            make: { s in
                let (r, d) = (s.int("r"), s.int("d")), c = KernelCase()
                let x = normInput(c, r * d, s)
                let gamma = s.flag("gamma") ? c.uniform("gamma", d, 0.5, 1.5, gradient: true) : nil
                let beta = s.flag("beta") ? c.uniform("beta", d, gradient: true) : nil
                let y = c.output("y", x.count, gradient: true)
                let mean = c.output("mean", r, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                let rstd = c.output("rstd", r, tolerance: Tolerance(abs: 0, rel: 1e-5))
                c.slack("dx") { conditionedSlack(x, .rows(r, d)) }
                c.forward { tl_layernorm_forward(y.f, mean.f, rstd.f, x.f, gamma?.f, beta?.f, r, d, normEps) }
                c.backward { tl_layernorm_backward(x.grad.f, gamma?.grad.f, beta?.grad.f, y.up.f, x.f, gamma?.f, mean.f, rstd.f, r, d) }
                normReference(c, x: x, gamma: gamma, beta: beta, y: y, mean: mean, rstd: rstd, layout: .rows(r, d), params: d)
                return c
            })
    }

    private static var groupNorm: KernelRow {
        // (N, C, S, G): several groupings of one shape, instance norm (G = C), layer-norm-like (G = 1), S = 1.
        let shapes: [KernelShape] = [[2, 6, 5, 3], [2, 6, 5, 1], [2, 6, 5, 6], [2, 6, 5, 2], [3, 4, 1, 2], [1, 8, 9, 4], [1, 3, 17, 3],
                                     [8, 16, 512, 4]].map { ncsg($0) } + [ncsg([2, 6, 5, 3]).with("gamma", 0).with("beta", 0)]
        return KernelRow(
            name: "groupnorm", family: "norm", forward: "tl_groupnorm_forward", backward: "tl_groupnorm_backward",
            reference: "Swift: two-pass group statistics in Double and the exact gradient",
            tolerance: Tolerance(abs: 2e-5, rel: 1e-5), backwardTolerance: Tolerance(abs: 2e-5, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 5e-3, tolerance: normFD, shapes: shapes.prefix(7).map { $0.with("ramp", 1) }),
            shapes: shapes, benchShapes: [ncsg([128, 32, 784, 32])],
            work: { s in let e = s.value("n") * s.value("c") * s.value("s"); return (.bytes(12 * e), .bytes(20 * e)) },
            note: "the bench shape is instance norm (G = C)",
            make: { s in
                let (n, ch, sp, g) = (s.int("n"), s.int("c"), s.int("s"), s.int("g")), c = KernelCase()
                let x = normInput(c, n * ch * sp, s)
                let gamma = s.flag("gamma") ? c.uniform("gamma", ch, 0.5, 1.5, gradient: true) : nil
                let beta = s.flag("beta") ? c.uniform("beta", ch, gradient: true) : nil
                let y = c.output("y", x.count, gradient: true)
                let mean = c.output("mean", n * g, tolerance: Tolerance(abs: 1e-6, rel: 1e-6))
                let rstd = c.output("rstd", n * g, tolerance: Tolerance(abs: 0, rel: 1e-5))
                c.slack("dx") { conditionedSlack(x, .groups(n, ch, sp, g)) }
                c.forward { tl_groupnorm_forward(y.f, mean.f, rstd.f, x.f, gamma?.f, beta?.f, n, ch, sp, g, normEps) }
                c.backward {
                    tl_groupnorm_backward(x.grad.f, gamma?.grad.f, beta?.grad.f, y.up.f, x.f, gamma?.f, mean.f, rstd.f, n, ch, sp, g)
                }
                normReference(c, x: x, gamma: gamma, beta: beta, y: y, mean: mean, rstd: rstd, layout: .groups(n, ch, sp, g), params: ch)
                return c
            })
    }

    /// The normalised input: uniform in [-2, 3), or for finite differences (`ramp`) a shuffled ramp over it, so
    /// that no small group is nearly constant (the probes would then measure curvature, not the gradient).
    private static func normInput(_ c: KernelCase, _ count: Int, _ s: KernelShape) -> KernelBuffer {
        c.input("x", s.has("ramp") ? Reference.distinctPlanes(1, count, seed: c.seed()).map { $0 * 5 / 6 + 0.5 } : kernelRandom(count, seed: c.seed(), low: -2, high: 3),
                gradient: true)
    }

    static func rd(_ d: [Int]) -> KernelShape { ["r": Double(d[0]), "d": Double(d[1]), "gamma": 1, "beta": 1] }
    static func ncsg(_ d: [Int]) -> KernelShape { ["n": Double(d[0]), "c": Double(d[1]), "s": Double(d[2]), "g": Double(d[3]), "gamma": 1, "beta": 1] }

    /// The references of layer and group norm: y, mean, rstd and the gradients of the present inputs.
    private static func normReference(_ c: KernelCase, x: KernelBuffer, gamma: KernelBuffer?, beta: KernelBuffer?, y: KernelBuffer,
                                      mean: KernelBuffer, rstd: KernelBuffer, layout: NormLayout, params: Int) {
        c.reference {
            let r = Reference.normalize(x.values, gamma?.values, beta?.values, layout, eps: normEps)
            return [y.name: r.y, mean.name: r.mean, rstd.name: r.rstd]
        }
        c.referenceBackward {
            let g = Reference.normalizeBackward(y.up.values, x.values, gamma?.values, layout, eps: normEps, params: params)
            var out = ["dx": g.dx]
            if gamma != nil { out["dgamma"] = g.dgamma }
            if beta != nil { out["dbeta"] = g.dbeta }
            return out
        }
    }
}

/// Extra tolerance of the input gradient per element: dx = rstd (g - mean g - xhat mean(g xhat)) cancels, and
/// the rounding of x - mean in xhat is amplified by rstd^2 in a group with a small variance (two nearly equal
/// values in a group of two give rstd ~ 300); in a group of one xhat is exactly 0 and only rstd remains.
func conditionedSlack(_ x: KernelBuffer, _ layout: NormLayout) -> [Double] {
    let rstd = Reference.normalize(x.values, nil, nil, layout, eps: KernelTable.normEps).rstd
    var slack = [Double](repeating: 0, count: x.count)
    for g in 0..<layout.groups {
        let r = rstd[g], extra = layout.size == 1 ? 4e-7 * r : 2e-6 * r * r
        for k in 0..<layout.size { slack[layout.index(g, k)] = extra }
    }
    return slack
}

/// Inputs of the fused batch-norm kernels: x with channel offsets, gamma of both signs (a negative scale
/// flips which side of the mean survives the ReLU), beta, a residual. `clear` searches seeds until every
/// pre-activation is >= 0.08 from 0 (with and without the residual) and, for a pooled shape (`window`
/// = (H, W)), from the other values of its 2x2 window, so that finite differences never cross a kink.
private struct FusedInputs {
    var x: [Float], r: [Float], gamma: [Float], beta: [Float]

    init(_ n: Int, _ c: Int, _ s: Int, clear: Bool, window: (Int, Int)?) {
        var seed: UInt64 = clear ? 500 : UInt64(n * 100 + c * 10 + s)
        repeat {
            x = kernelRandom(n * c * s, seed: seed, low: -2, high: 3)
            gamma = kernelRandom(c, seed: seed + 1, low: 0.5, high: 1.5)
            if c > 1 { gamma[1] = -gamma[1] }
            r = kernelRandom(n * c * s, seed: seed + 2)
            beta = kernelRandom(c, seed: seed + 3, low: -0.5, high: 0.5)
            seed += 10
        } while clear && !isClear(n, c, s, window)
    }

    private func isClear(_ n: Int, _ c: Int, _ s: Int, _ window: (Int, Int)?) -> Bool {
        let layout = NormLayout.batch(n, c, s)
        let bn = Reference.normalize(x.map(Double.init), gamma.map(Double.init), beta.map(Double.init), layout, eps: KernelTable.normEps).y
        if bn.contains(where: { abs($0) < 0.08 }) { return false }
        guard let (h, w) = window else { return !zip(bn, r).contains { abs($0 + Double($1)) < 0.08 } }
        for p in 0..<(n * c) {
            for i in 0..<(h / 2) {
                for j in 0..<(w / 2) {
                    let v = [(0, 0), (0, 1), (1, 0), (1, 1)].map { bn[p * h * w + (2 * i + $0.0) * w + 2 * j + $0.1] }.sorted()
                    if v[3] - v[2] < 0.08 { return false }
                }
            }
        }
        return true
    }
}

/// Normalisation groups over a flat tensor: group g has `size` elements, member k at flat index(g, k); the
/// affine parameters of element i are gamma[param(i)], beta[param(i)].
public struct NormLayout {
    public let groups: Int
    public let size: Int
    public let index: (Int, Int) -> Int
    public let param: (Int) -> Int

    /// Batch norm of (N, C, S): one group per channel over N and S.
    public static func batch(_ n: Int, _ c: Int, _ s: Int) -> NormLayout {
        NormLayout(groups: c, size: n * s, index: { ch, k in ((k / s) * c + ch) * s + k % s }, param: { ($0 / s) % c })
    }

    /// Layer norm of (R, D): one group per row.
    public static func rows(_ r: Int, _ d: Int) -> NormLayout {
        NormLayout(groups: r, size: d, index: { row, k in row * d + k }, param: { $0 % d })
    }

    /// Group norm of (N, C, S) with G groups of C/G consecutive channels.
    public static func groups(_ n: Int, _ c: Int, _ s: Int, _ g: Int) -> NormLayout {
        NormLayout(groups: n * g, size: c / g * s, index: { q, k in q * (c / g * s) + k }, param: { ($0 / s) % c })
    }
}

extension Reference {
    /// y = gamma (x - mean) rstd + beta over each group (biased variance, rstd = 1/sqrt(var + eps)), with the
    /// group means, rstds and variances; gamma/beta nil = 1/0.
    public static func normalize(_ x: [Double], _ gamma: [Double]?, _ beta: [Double]?, _ layout: NormLayout, eps: Float)
        -> (y: [Double], mean: [Double], rstd: [Double], variance: [Double]) {
        var y = [Double](repeating: 0, count: x.count), means: [Double] = [], rstds: [Double] = [], variances: [Double] = []
        for g in 0..<layout.groups {
            let (m, v) = moments(x, g, layout)
            let r = 1 / (v + Double(eps)).squareRoot()
            for k in 0..<layout.size {
                let i = layout.index(g, k), p = layout.param(i)
                y[i] = (x[i] - m) * r * (gamma?[p] ?? 1) + (beta?[p] ?? 0)
            }
            means.append(m)
            rstds.append(r)
            variances.append(v)
        }
        return (y, means, rstds, variances)
    }

    /// The exact gradient of `normalize` (through the group statistics).
    public static func normalizeBackward(_ dy: [Double], _ x: [Double], _ gamma: [Double]?, _ layout: NormLayout, eps: Float,
                                         params: Int) -> (dx: [Double], dgamma: [Double], dbeta: [Double]) {
        var dx = [Double](repeating: 0, count: x.count)
        var dgamma = [Double](repeating: 0, count: params), dbeta = dgamma
        for g in 0..<layout.groups {
            let (m, v) = moments(x, g, layout)
            let r = 1 / (v + Double(eps)).squareRoot(), count = Double(layout.size)
            var sg = 0.0, sgx = 0.0
            for k in 0..<layout.size {
                let i = layout.index(g, k), p = layout.param(i), xhat = (x[i] - m) * r, gi = dy[i] * (gamma?[p] ?? 1)
                sg += gi
                sgx += gi * xhat
                dgamma[p] += dy[i] * xhat
                dbeta[p] += dy[i]
            }
            for k in 0..<layout.size {
                let i = layout.index(g, k), xhat = (x[i] - m) * r, gi = dy[i] * (gamma?[layout.param(i)] ?? 1)
                dx[i] = r * (gi - sg / count - xhat * sgx / count)
            }
        }
        return (dx, dgamma, dbeta)
    }

    /// Mean and biased variance of group g, two-pass.
    private static func moments(_ x: [Double], _ g: Int, _ layout: NormLayout) -> (mean: Double, variance: Double) {
        var sum = 0.0
        for k in 0..<layout.size { sum += x[layout.index(g, k)] }
        let mean = sum / Double(layout.size)
        var v = 0.0
        for k in 0..<layout.size { let d = x[layout.index(g, k)] - mean; v += d * d }
        return (mean, v / Double(layout.size))
    }

    /// Per 2x2 window (stride 2, floor mode) of `planes` planes (H, W): the flat index of its first maximum and that value.
    public static func pool2x2Winners(_ v: [Double], _ planes: Int, _ h: Int, _ w: Int) -> [(index: Int, value: Double)] {
        var out: [(index: Int, value: Double)] = []
        for p in 0..<planes {
            for i in 0..<(h / 2) {
                for j in 0..<(w / 2) {
                    var best = (index: -1, value: -Double.infinity)
                    for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        let k = p * h * w + (2 * i + di) * w + 2 * j + dj
                        if v[k] > best.value { best = (k, v[k]) }
                    }
                    out.append(best)
                }
            }
        }
        return out
    }
}
