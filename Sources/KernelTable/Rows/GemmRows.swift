import TrainingLab

/// Matrix products (include/tl_gemm.h) against tl_sgemm_ref, the core's plain triple loop in double.
extension KernelTable {
    static var gemm: [KernelRow] { [sgemm, sgemmStridedBatched] }

    /// Every transpose pair at odd sizes with padded leading dimensions (padding holds values that must stay
    /// untouched), alpha/beta pairs (beta 0 with NaN in C, which must be ignored), and a square above the
    /// parallel threshold; GemmTests sweeps the micro-kernels' tile and block edges on two threads.
    private static var sgemm: KernelRow {
        var shapes: [KernelShape] = []
        for ta in [0.0, 1] {
            for tb in [0.0, 1] {
                for (m, n, k) in [(1, 1, 1), (7, 13, 5), (33, 17, 64), (130, 97, 67), (150, 170, 90)] {
                    for pad in [0.0, 3] { shapes.append(gemmShape(m, n, k, ta, tb, pad: pad)) }
                }
            }
        }
        for (alpha, beta) in [(1.5, 0.5), (-0.75, 1), (0, 2), (2, 0)] {
            shapes.append(gemmShape(45, 70, 31, 0, 1, pad: 1, alpha: alpha, beta: beta))
            shapes.append(gemmShape(260, 90, 80, 1, 0, pad: 2, alpha: alpha, beta: beta))
        }
        shapes.append(gemmShape(256, 256, 256, 0, 1, pad: 0))
        return KernelRow(
            name: "sgemm", family: "gemm", forward: "tl_sgemm", reference: "tl_sgemm_ref (C, double accumulation)",
            tolerance: Tolerance(abs: 2e-6, rel: 2e-6, growth: "K"), isas: KernelISA.gemmPaths, shapes: shapes,
            benchShapes: [gemmShape(1024, 1024, 1024, 0, 0, pad: 0)],
            work: { s in (.flops(2 * s.value("M") * s.value("N") * s.value("K")), nil) },
            note: "no backward (the autograd op is two more products); products above 2^26 multiply-adds are compared on 16 sampled rows",
            make: { s in
                let c = KernelCase()
                let g = GemmOperands(s, c, batch: 1)
                c.forward { tl_sgemm(g.ta, g.tb, g.m, g.n, g.k, g.alpha, g.a.f, g.lda, g.b.f, g.ldb, g.beta, g.c.f, g.ldc) }
                c.sampledReference { ["C": g.expected(batch: 1)] }
                return c
            })
    }

    /// Strided batches with gaps between the matrices (which must stay untouched), a shared A (stride 0),
    /// and batches large enough to be split inside each product and across products.
    private static var sgemmStridedBatched: KernelRow {
        var shapes: [KernelShape] = []
        for batch in [1.0, 2, 5] {
            for share in [0.0, 1] {
                shapes.append(gemmShape(19, 23, 11, 0, 0, pad: 2, alpha: 0.5, beta: 2).with("batch", batch).with("gap", 7).with("shareA", share))
            }
        }
        for batch in [1.0, 3] { shapes.append(gemmShape(160, 200, 96, 1, 0, pad: 0).with("batch", batch).with("gap", 0).with("shareA", 0)) }
        return KernelRow(
            name: "sgemm_strided_batched", family: "gemm", forward: "tl_sgemm_strided_batched",
            reference: "tl_sgemm_ref per matrix", tolerance: Tolerance(abs: 2e-6, rel: 2e-6, growth: "K"), isas: KernelISA.gemmPaths,
            shapes: shapes, benchShapes: [gemmShape(128, 128, 128, 0, 0, pad: 0).with("batch", 16).with("gap", 0).with("shareA", 0)],
            work: { s in (.flops(2 * s.value("batch") * s.value("M") * s.value("N") * s.value("K")), nil) },
            note: "no backward",
            make: { s in
                let c = KernelCase()
                let batch = s.int("batch")
                let g = GemmOperands(s, c, batch: batch)
                c.forward {
                    tl_sgemm_strided_batched(g.ta, g.tb, g.m, g.n, g.k, g.alpha, g.a.f, g.lda, g.strideA, g.b.f, g.ldb, g.strideB,
                                             g.beta, g.c.f, g.ldc, g.strideC, batch)
                }
                c.sampledReference { ["C": g.expected(batch: batch)] }
                return c
            })
    }

    static func gemmShape(_ m: Int, _ n: Int, _ k: Int, _ ta: Double, _ tb: Double, pad: Double, alpha: Double = 1,
                          beta: Double = 0) -> KernelShape {
        ["M": Double(m), "N": Double(n), "K": Double(k), "ta": ta, "tb": tb, "pad": pad, "alpha": alpha, "beta": beta]
    }
}

/// The operands of a product (or of a batch of them) in one case: row-major with leading dimensions
/// larger than needed by `pad`, matrices `gap` floats apart in a batch, C in place (it is read when beta != 0).
private struct GemmOperands {
    let ta: Int32, tb: Int32, m: Int, n: Int, k: Int, alpha: Float, beta: Float
    let lda: Int, ldb: Int, ldc: Int, strideA: Int, strideB: Int, strideC: Int
    let a: KernelBuffer, b: KernelBuffer, c: KernelBuffer

    init(_ s: KernelShape, _ kc: KernelCase, batch: Int) {
        (ta, tb, m, n, k) = (Int32(s.int("ta")), Int32(s.int("tb")), s.int("M"), s.int("N"), s.int("K"))
        (alpha, beta) = (s.float("alpha"), s.float("beta"))
        let pad = s.int("pad"), gap = s.has("gap") ? s.int("gap") : 0
        lda = (ta == 1 ? m : k) + pad
        ldb = (tb == 1 ? k : n) + pad
        ldc = n + pad
        let aSize = (ta == 1 ? k : m) * lda, bSize = (tb == 1 ? n : k) * ldb
        strideA = s.has("shareA") && s.flag("shareA") ? 0 : aSize + gap
        strideB = bSize
        strideC = m * ldc + gap
        a = kc.uniform("A", max(aSize, strideA * batch))
        b = kc.uniform("B", bSize * batch)
        var old = kernelRandom(strideC * batch, seed: kc.seed())
        if beta == 0 { for i in old.indices where i % 3 == 0 { old[i] = .nan } }  // beta 0 must ignore old C
        c = kc.input("C", old)
        kc.inPlace(c)
    }

    /// Products above 2^26 multiply-adds are compared on 16 rows spread over each C.
    var sampled: Bool { m * n * k > 1 << 26 }

    /// Expected C of a batch from tl_sgemm_ref, one row at a time: every element (padding and gaps keep
    /// their old values), or the sampled rows only.
    func expected(batch: Int) -> Expected {
        let rows = sampled ? Array(Set((0..<16).map { $0 * m / 16 })).sorted() : Array(0..<m)
        var indices: [Int] = [], values: [Double] = []
        var all = c.values
        for item in 0..<batch {
            for i in rows {
                let start = item * strideC + i * ldc
                var row = (0..<ldc).map { c.f[start + $0] }
                let aRow = a.f + item * strideA + (ta == 1 ? i : i * lda)
                _ = tl_sgemm_ref(ta, tb, 1, n, k, alpha, aRow, lda, b.f + item * strideB, ldb, beta, &row, ldc)
                indices += start..<(start + ldc)
                values += row.map(Double.init)
                for j in 0..<ldc { all[start + j] = Double(row[j]) }
            }
        }
        return sampled ? .at(indices, values) : .all(all)
    }
}
