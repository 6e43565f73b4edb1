import XCTest
import TrainingLab

/// Row-major C = alpha op(A) op(B) + beta C with Double accumulation; beta == 0 ignores C.
private func referenceGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                           b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
    var out = c
    for i in 0..<m {
        for j in 0..<n {
            var acc = 0.0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                acc += Double(av) * Double(bv)
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            out[i * ldc + j] = Float(Double(alpha) * acc + old)
        }
    }
    return out
}

/// One product's operands, stored with leading dimensions larger than needed (padding filled with
/// values that must never be read into the result).
private struct GemmCase {
    let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, pad: Int
    var lda: Int { (transA ? m : k) + pad }
    var ldb: Int { (transB ? k : n) + pad }
    var ldc: Int { n + pad }
    var aCount: Int { (transA ? k : m) * lda }
    var bCount: Int { (transB ? n : k) * ldb }
    var cCount: Int { m * ldc }
}

final class GemmTests: XCTestCase {
    private func check(_ g: GemmCase, alpha: Float, beta: Float, seed: UInt64, threads: Int = 2,
                       line: UInt = #line) {
        let a = randomFloats(g.aCount, seed: seed), b = randomFloats(g.bCount, seed: seed + 1)
        var c = randomFloats(g.cCount, seed: seed + 2)
        if beta == 0 { for i in c.indices where i % 3 == 0 { c[i] = .nan } } // beta 0 must ignore old C
        let expected = referenceGemm(transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: alpha,
                                     a: a, lda: g.lda, b: b, ldb: g.ldb, beta: beta, c: c, ldc: g.ldc)
        var mask = [Bool](repeating: false, count: g.cCount) // only the M x N window is compared
        for i in 0..<g.m { for j in 0..<g.n { mask[i * g.ldc + j] = true } }
        let tol = Float(g.k).squareRoot() * 2e-6
        let label = "\(g) alpha \(alpha) beta \(beta)"
        for (name, fn) in [("tl_sgemm", tl_sgemm), ("tl_sgemm_ref", tl_sgemm_ref)] {
            var out = c
            let status = withThreads(threads) {
                fn(g.transA ? 1 : 0, g.transB ? 1 : 0, g.m, g.n, g.k, alpha, a, g.lda, b, g.ldb, beta, &out, g.ldc)
            }
            XCTAssertEqual(status, 0, "\(name) \(label)", line: line)
            assertClose(zip(out, mask).filter { $0.1 }.map { $0.0 }, zip(expected, mask).filter { $0.1 }.map { $0.0 },
                        rtol: tol, atol: tol, "\(name) \(label)", line: line)
            // Entries of C outside the M x N window (row padding) are untouched.
            if let i = c.indices.first(where: { !mask[$0] && out[$0].bitPattern != c[$0].bitPattern }) {
                XCTFail("\(name) wrote outside C's window at \(i) \(label)", line: line)
            }
        }
    }

    func testAllTransposesWithPaddedLeadingDimensions() {
        var seed: UInt64 = 10
        for transA in [false, true] {
            for transB in [false, true] {
                for (m, n, k) in [(1, 1, 1), (7, 13, 5), (33, 17, 64), (130, 97, 67), (150, 170, 90)] {
                    for pad in [0, 3] {
                        check(GemmCase(transA: transA, transB: transB, m: m, n: n, k: k, pad: pad),
                              alpha: 1, beta: 0, seed: seed)
                        seed += 3
                    }
                }
            }
        }
    }

    func testAlphaBeta() {
        for (alpha, beta) in [(Float(1.5), Float(0.5)), (-0.75, 1), (0, 2), (2, 0)] {
            check(GemmCase(transA: false, transB: true, m: 45, n: 70, k: 31, pad: 1), alpha: alpha, beta: beta, seed: 99)
            check(GemmCase(transA: true, transB: false, m: 260, n: 90, k: 80, pad: 2), alpha: alpha, beta: beta, seed: 77)
        }
    }

    func testOneAndTwoThreadsBitwiseEqual() {
        // Sizes above the parallel threshold, cut by rows (M > N) and by columns (N >= M), odd edges.
        for (m, n, k, ta, tb) in [(301, 129, 257, 0, 0), (97, 515, 300, 1, 1), (256, 256, 256, 0, 1), (1000, 40, 700, 1, 0),
                                  (128, 9, 1152, 0, 0)] { // the last one rounds differently when cut by thread count
            let lda = ta == 1 ? m : k, ldb = tb == 1 ? k : n
            let a = randomFloats(m * k, seed: 5), b = randomFloats(k * n, seed: 6)
            let run = { (threads: Int) -> [Float] in
                var c = [Float](repeating: 0, count: m * n)
                withThreads(threads) {
                    XCTAssertEqual(tl_sgemm(Int32(ta), Int32(tb), m, n, k, 1, a, lda, b, ldb, 0, &c, n), 0)
                }
                return c
            }
            assertBitwiseEqual(run(1), run(2), "\(m)x\(n)x\(k)")
        }
    }

    func testStridedBatched() {
        let (m, n, k) = (19, 23, 11)
        let (lda, ldb, ldc) = (k + 1, n + 2, n + 3)
        let strideA = m * lda + 5, strideB = k * ldb, strideC = m * ldc + 7
        for batch in [1, 2, 5] {
            for threads in [1, 2] {
                for shareA in [false, true] {
                    let sa = shareA ? 0 : strideA
                    let a = randomFloats(strideA * batch, seed: 20), b = randomFloats(strideB * batch, seed: 21)
                    let c0 = randomFloats(strideC * batch, seed: 22)
                    var c = c0
                    let status = withThreads(threads) {
                        tl_sgemm_strided_batched(0, 0, m, n, k, 0.5, a, lda, sa, b, ldb, strideB, 2, &c, ldc, strideC, batch)
                    }
                    XCTAssertEqual(status, 0)
                    for i in 0..<batch {
                        let ai = Array(a[(i * sa)...]), bi = Array(b[(i * strideB)...])
                        let ci = Array(c0[(i * strideC)..<(i * strideC + m * ldc)])
                        let expected = referenceGemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 0.5, a: ai,
                                                     lda: lda, b: bi, ldb: ldb, beta: 2, c: ci, ldc: ldc)
                        assertClose(Array(c[(i * strideC)..<(i * strideC + m * ldc)]), expected, rtol: 1e-5, atol: 1e-5,
                                    "batch \(batch) item \(i) threads \(threads) shareA \(shareA)")
                    }
                    // Gaps between the outputs are untouched.
                    for i in 0..<batch where i * strideC + m * ldc < c.count {
                        let gap = (i * strideC + m * ldc)..<min((i + 1) * strideC, c.count)
                        XCTAssertEqual(Array(c[gap]), Array(c0[gap]))
                    }
                }
            }
        }
        // Large enough to be split inside each product (batch < threads) and across products.
        let (bm, bn, bk) = (160, 200, 96)
        let a = randomFloats(3 * bm * bk, seed: 30), b = randomFloats(3 * bk * bn, seed: 31)
        let one = { (batch: Int, threads: Int) -> [Float] in
            var c = [Float](repeating: 0, count: batch * bm * bn)
            withThreads(threads) {
                XCTAssertEqual(tl_sgemm_strided_batched(1, 0, bm, bn, bk, 1, a, bm, bm * bk, b, bn, bk * bn, 0, &c, bn,
                                                        bm * bn, batch), 0)
            }
            return c
        }
        for batch in [1, 3] {
            let got = one(batch, 2)
            for i in 0..<batch {
                let expected = referenceGemm(transA: true, transB: false, m: bm, n: bn, k: bk, alpha: 1,
                                             a: Array(a[(i * bm * bk)...]), lda: bm, b: Array(b[(i * bk * bn)...]),
                                             ldb: bn, beta: 0, c: [Float](repeating: 0, count: bm * bn), ldc: bn)
                assertClose(Array(got[(i * bm * bn)..<((i + 1) * bm * bn)]), expected, rtol: 1e-4, atol: 1e-4)
            }
            assertBitwiseEqual(got, one(batch, 1), "batch \(batch)")
        }
        var c = [Float](repeating: 1, count: 4)
        XCTAssertEqual(tl_sgemm_strided_batched(0, 0, 2, 2, 2, 1, a, 2, 4, b, 2, 4, 0, &c, 2, 4, 0), 0, "empty batch")
        XCTAssertEqual(c, [1, 1, 1, 1])
    }

    func testBadArguments() {
        let a = [Float](repeating: 1, count: 64), b = [Float](repeating: 1, count: 64)
        var c = [Float](repeating: 0, count: 64)
        assertFails(tl_sgemm(0, 0, 4, 4, 4, 1, nil, 4, b, 4, 0, &c, 4), TL_ERR_NULL_POINTER, mentioning: "A")
        assertFails(tl_sgemm(0, 0, 4, 4, 4, 1, a, 4, nil, 4, 0, &c, 4), TL_ERR_NULL_POINTER, mentioning: "B")
        assertFails(tl_sgemm(0, 0, 4, 4, 4, 1, a, 4, b, 4, 0, nil, 4), TL_ERR_NULL_POINTER, mentioning: "C")
        assertFails(tl_sgemm(2, 0, 4, 4, 4, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "trans_a")
        assertFails(tl_sgemm(0, -1, 4, 4, 4, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "trans_b")
        assertFails(tl_sgemm(0, 0, 0, 4, 4, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "M")
        assertFails(tl_sgemm(0, 0, 4, -2, 4, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_sgemm(0, 0, 4, 4, 0, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "K")
        assertFails(tl_sgemm(0, 0, 4, 4, 5, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "lda")
        assertFails(tl_sgemm(1, 0, 5, 4, 4, 1, a, 4, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "lda")
        assertFails(tl_sgemm(0, 0, 4, 5, 4, 1, a, 4, b, 4, 0, &c, 5), TL_ERR_INVALID_ARGUMENT, mentioning: "ldb")
        assertFails(tl_sgemm(0, 1, 4, 4, 5, 1, a, 5, b, 4, 0, &c, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "ldb")
        assertFails(tl_sgemm(0, 0, 4, 4, 4, 1, a, 4, b, 4, 0, &c, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "ldc")
        assertFails(tl_sgemm_ref(0, 0, 4, 4, 4, 1, a, 4, b, 4, 0, &c, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "tl_sgemm_ref")
        assertFails(tl_sgemm_strided_batched(0, 0, 2, 2, 2, 1, a, 2, 4, b, 2, 4, 0, &c, 2, 4, -1),
                    TL_ERR_INVALID_ARGUMENT, mentioning: "batch")
        assertFails(tl_sgemm_strided_batched(0, 0, 2, 2, 2, 1, a, 2, -4, b, 2, 4, 0, &c, 2, 4, 2),
                    TL_ERR_INVALID_ARGUMENT, mentioning: "stride_a")
        assertFails(tl_sgemm_strided_batched(0, 0, 2, 2, 2, 1, a, 2, 4, b, 2, 4, 0, &c, 2, 3, 2),
                    TL_ERR_INVALID_ARGUMENT, mentioning: "stride_c")
        assertFails(tl_sgemm_openblas_direct(0, 0, 4, 4, 4, 1, a, 4, b, 4, 0, nil, 4), TL_ERR_NULL_POINTER,
                    mentioning: "tl_sgemm_openblas_direct")
    }

    func testOpenBLASDirectMatchesReference() {
        let n = 96
        let a = randomFloats(n * n, seed: 40), b = randomFloats(n * n, seed: 41)
        var c1 = [Float](repeating: 0, count: n * n), c2 = c1
        XCTAssertEqual(tl_sgemm_openblas_direct(0, 0, n, n, n, 1, a, n, b, n, 0, &c1, n), 0)
        XCTAssertEqual(tl_sgemm_ref(0, 0, n, n, n, 1, a, n, b, n, 0, &c2, n), 0)
        assertClose(c1, c2, rtol: 1e-4, atol: 1e-4)
    }
}
