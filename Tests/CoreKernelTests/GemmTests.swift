import XCTest
import Foundation
import TrainingLab

/// One product's operands, stored with leading dimensions larger than needed; the padding holds NaN,
/// which would spread into the result if it were ever read.
private struct GemmCase: CustomStringConvertible {
    let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, pad: Int
    var alpha: Float = 1, beta: Float = 0
    var lda: Int { (transA ? m : k) + pad }
    var ldb: Int { (transB ? k : n) + pad }
    var ldc: Int { n + pad }
    var description: String { "\(m)x\(n)x\(k) \(transA ? "T" : "N")\(transB ? "T" : "N") pad \(pad) alpha \(alpha) beta \(beta)" }

    /// rows x cols values with `pad` NaNs after each row.
    static func matrix(_ rows: Int, _ cols: Int, pad: Int, seed: UInt64) -> [Float] {
        let values = randomFloats(rows * cols, seed: seed)
        var out = [Float](repeating: .nan, count: rows * (cols + pad))
        for r in 0..<rows { for c in 0..<cols { out[r * (cols + pad) + c] = values[r * cols + c] } }
        return out
    }

    func operands(seed: UInt64) -> (a: [Float], b: [Float], c: [Float]) {
        let a = GemmCase.matrix(transA ? k : m, transA ? m : k, pad: pad, seed: seed)
        let b = GemmCase.matrix(transB ? n : k, transB ? k : n, pad: pad, seed: seed + 1)
        var c = randomFloats(m * ldc, seed: seed + 2)
        if beta == 0 { for i in c.indices where i % 3 == 0 { c[i] = .nan } } // beta 0 must ignore old C
        return (a, b, c)
    }

    /// C after tl_sgemm on `threads` threads.
    func ours(_ a: [Float], _ b: [Float], _ c: [Float], threads: Int, file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        var out = c
        let status = withThreads(threads) {
            tl_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, &out, ldc)
        }
        XCTAssertEqual(status, 0, "\(self)", file: file, line: line)
        return out
    }
}

/// The reference (tl_sgemm_ref, double accumulation) and, per element, a bound on the float error of any
/// summation order: (K + 16) * 2^-23 * (|alpha| sum_k |a||b| + |beta c|), from running the reference on |A|, |B|.
private func referenceAndBound(_ g: GemmCase, _ a: [Float], _ b: [Float], _ c: [Float]) -> (ref: [Float], bound: [Float]) {
    var ref = c
    XCTAssertEqual(tl_sgemm_ref(g.transA ? 1 : 0, g.transB ? 1 : 0, g.m, g.n, g.k, g.alpha, a, g.lda, b, g.ldb, g.beta, &ref, g.ldc), 0)
    var magnitude = [Float](repeating: 0, count: c.count)
    XCTAssertEqual(tl_sgemm_ref(g.transA ? 1 : 0, g.transB ? 1 : 0, g.m, g.n, g.k, 1, a.map(abs), g.lda, b.map(abs), g.ldb, 0,
                                &magnitude, g.ldc), 0)
    let unit = Float(g.k + 16) * 0x1p-23
    let bound = magnitude.indices.map { i in
        unit * (abs(g.alpha) * magnitude[i] + (g.beta == 0 ? 0 : abs(g.beta * c[i]))) + Float.leastNormalMagnitude
    }
    return (ref, bound)
}

/// Asserts that `out` is within the bound of the reference inside C's M x N window and bitwise the old C outside it.
private func assertMatches(_ out: [Float], _ g: GemmCase, _ c: [Float], _ ref: [Float], _ bound: [Float], _ label: String,
                           file: StaticString = #filePath, line: UInt = #line) {
    for i in 0..<g.m {
        for j in 0..<g.ldc {
            let e = i * g.ldc + j
            if j >= g.n {
                if out[e].bitPattern != c[e].bitPattern { return XCTFail("\(label) \(g): wrote C's padding at (\(i), \(j))", file: file, line: line) }
            } else if !(abs(out[e] - ref[e]) <= bound[e]) {
                return XCTFail("\(label) \(g): C(\(i), \(j)) = \(out[e]), reference \(ref[e]), bound \(bound[e])", file: file, line: line)
            }
        }
    }
}

/// Runs `body` with TL_ISA = `isa`, after checking that the CPU has it (else the test is skipped, naming
/// it) and that the GEMM then really runs that micro-kernel.
private func withGemmISA(_ isa: String, _ body: () throws -> Void) throws {
    var cpu = tl_cpu_info()
    XCTAssertEqual(tl_cpu_info_get(&cpu), 0)
    let has = ["avx512": cpu.avx512f != 0 && cpu.avx512dq != 0 && cpu.avx512bw != 0 && cpu.avx512vl != 0,
               "avx2": cpu.avx2 != 0 && cpu.fma != 0, "portable": true][isa]!
    guard has else { throw XCTSkip("this CPU lacks \(isa): its GEMM micro-kernel is not tested here") }
    setenv("TL_ISA", isa, 1)
    defer { unsetenv("TL_ISA") }
    let kernel = String(cString: tl_gemm_kernel_name())
    XCTAssertTrue(kernel.hasPrefix(isa + " "), "TL_ISA=\(isa) runs \(kernel)")
    try body()
}

final class GemmTests: XCTestCase {
    func testAVX512Path() throws { try withGemmISA("avx512") { checkPath("avx512") } }
    func testAVX2Path() throws { try withGemmISA("avx2") { checkPath("avx2") } }
    func testPortablePath() throws { try withGemmISA("portable") { checkPath("portable") } }

    /// Everything a micro-kernel and the loops around it must get right, for the path TL_ISA selects.
    private func checkPath(_ isa: String) {
        oddShapes(isa)
        blockEdgesAndThreads(isa)
        stridedBatched(isa)
        insideParallelRegionsAndConcurrently(isa)
    }

    /// Sizes around and between the tile sizes (MR 4..8, NR 16..48), all four transposes, padded and tight
    /// leading dimensions, alpha/beta combinations including beta 0 over NaN; 1 and 2 threads bitwise.
    private func oddShapes(_ isa: String) {
        let sizes = [1, 2, 7, 15, 17, 31, 33, 65, 100, 257]
        let scalars: [(Float, Float)] = [(1, 0), (1.5, 0.5), (-0.75, 1), (0, 2), (2, 0)]
        var seed: UInt64 = 100
        for (x, m) in sizes.enumerated() {
            for (y, n) in sizes.enumerated() {
                for (z, k) in sizes.enumerated() where (x + 2 * y + 3 * z) % 3 == 0 { // a third of the grid, every size in every role
                    for transA in [false, true] {
                        for transB in [false, true] {
                            var g = GemmCase(transA: transA, transB: transB, m: m, n: n, k: k, pad: (x + y + z) % 2 == 0 ? 3 : 0)
                            (g.alpha, g.beta) = scalars[(x + y + z + (transA ? 1 : 0) + (transB ? 2 : 0)) % scalars.count]
                            let (a, b, c) = g.operands(seed: seed)
                            seed += 3
                            let (ref, bound) = referenceAndBound(g, a, b, c)
                            let one = g.ours(a, b, c, threads: 1)
                            assertMatches(one, g, c, ref, bound, isa)
                            assertBitwiseEqual(one, g.ours(a, b, c, threads: 2), "\(isa) \(g): 1 vs 2 threads")
                        }
                    }
                }
            }
        }
    }

    /// Products large enough to run on two threads and to span several K, M and N blocks (KC, MC, NC),
    /// split along rows or along columns, including the skinny shapes of convolutions and linear layers,
    /// and (the last three) with at least 256 rows and columns, where the threads share packed blocks.
    private func blockEdgesAndThreads(_ isa: String) {
        let shapes: [(Int, Int, Int, Bool, Bool)] = [
            (301, 129, 257, false, false), (97, 515, 300, true, true), (1000, 40, 700, true, false), (128, 9, 1152, false, false),
            (16, 3000, 64, false, false), (64, 1100, 1000, false, true), (6000, 20, 30, true, false), (33, 1031, 77, true, true),
            (300, 700, 900, false, true), (520, 260, 400, true, false), (4100, 256, 24, true, true),
        ]
        for (i, (m, n, k, transA, transB)) in shapes.enumerated() {
            var g = GemmCase(transA: transA, transB: transB, m: m, n: n, k: k, pad: i % 2)
            (g.alpha, g.beta) = i % 3 == 0 ? (1, 0) : (0.5, -1)
            let (a, b, c) = g.operands(seed: 500 + UInt64(i) * 3)
            let (ref, bound) = referenceAndBound(g, a, b, c)
            let two = g.ours(a, b, c, threads: 2)
            assertMatches(two, g, c, ref, bound, isa)
            assertBitwiseEqual(two, g.ours(a, b, c, threads: 1), "\(isa) \(g): 1 vs 2 threads")
        }
    }

    /// Batches of 1, 2 and 5 with padded strides, A shared through stride 0, 1 and 2 threads; each item
    /// matches tl_sgemm bitwise and the gaps between outputs are untouched.
    private func stridedBatched(_ isa: String) {
        let g = GemmCase(transA: false, transB: true, m: 19, n: 70, k: 300, pad: 2, alpha: 0.5, beta: 2)
        let strideA = g.m * g.lda + 5, strideB = g.n * g.ldb + 1, strideC = g.m * g.ldc + 7
        for batch in [1, 2, 5] {
            for shareA in [false, true] {
                let sa = shareA ? 0 : strideA
                let a = randomFloats(strideA * batch, seed: 20), b = randomFloats(strideB * batch, seed: 21)
                let c0 = randomFloats(strideC * batch, seed: 22)
                var results: [[Float]] = []
                for threads in [1, 2] {
                    var c = c0
                    XCTAssertEqual(withThreads(threads) {
                        tl_sgemm_strided_batched(0, 1, g.m, g.n, g.k, g.alpha, a, g.lda, sa, b, g.ldb, strideB, g.beta, &c, g.ldc, strideC, batch)
                    }, 0)
                    results.append(c)
                }
                assertBitwiseEqual(results[0], results[1], "\(isa) batch \(batch): 1 vs 2 threads")
                let c = results[1]
                for i in 0..<batch {
                    let single = g.ours(Array(a[(i * sa)...]), Array(b[(i * strideB)...]), Array(c0[(i * strideC)..<(i * strideC + g.m * g.ldc)]), threads: 1)
                    assertBitwiseEqual(Array(c[(i * strideC)..<(i * strideC + g.m * g.ldc)]), single, "\(isa) batch \(batch) item \(i) shareA \(shareA)")
                    let gap = (i * strideC + g.m * g.ldc)..<min((i + 1) * strideC, c.count)
                    XCTAssertEqual(Array(c[gap]), Array(c0[gap]), "\(isa) batch \(batch): gap after item \(i)")
                }
            }
        }
        var c = [Float](repeating: 1, count: 4)
        XCTAssertEqual(tl_sgemm_strided_batched(0, 0, 2, 2, 2, 1, [1, 2, 3, 4], 2, 4, [1, 2, 3, 4], 2, 4, 0, &c, 2, 4, 0), 0, "empty batch")
        XCTAssertEqual(c, [1, 1, 1, 1])
    }

    /// tl_sgemm_strided_batched runs its products inside an OpenMP parallel region, where the GEMM must
    /// stay on its thread (and give the bits it gives on two threads outside); calls from several threads
    /// at once must not share packing buffers.
    private func insideParallelRegionsAndConcurrently(_ isa: String) {
        let g = GemmCase(transA: true, transB: false, m: 160, n: 200, k: 96, pad: 0)
        let a = randomFloats(3 * g.m * g.k, seed: 30), b = randomFloats(3 * g.k * g.n, seed: 31)
        var batched = [Float](repeating: 0, count: 3 * g.m * g.n)
        XCTAssertEqual(withThreads(2) {
            tl_sgemm_strided_batched(1, 0, g.m, g.n, g.k, 1, a, g.m, g.m * g.k, b, g.n, g.k * g.n, 0, &batched, g.n, g.m * g.n, 3)
        }, 0)
        var singles = [[Float]](repeating: [], count: 3)
        singles.withUnsafeMutableBufferPointer { results in
            DispatchQueue.concurrentPerform(iterations: 3) { i in
                results[i] = g.ours(Array(a[(i * g.m * g.k)...]), Array(b[(i * g.k * g.n)...]), [Float](repeating: 0, count: g.m * g.n), threads: 2)
            }
        }
        for i in 0..<3 {
            assertBitwiseEqual(Array(batched[(i * g.m * g.n)..<((i + 1) * g.m * g.n)]), singles[i], "\(isa) item \(i): batched vs alone")
        }
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
        let g = GemmCase(transA: false, transB: true, m: 96, n: 80, k: 112, pad: 1)
        let (a, b, c) = g.operands(seed: 40)
        var out = c
        XCTAssertEqual(tl_sgemm_openblas_direct(0, 1, g.m, g.n, g.k, 1, a, g.lda, b, g.ldb, 0, &out, g.ldc), 0)
        let (ref, bound) = referenceAndBound(g, a, b, c)
        assertMatches(out, g, c, ref, bound, "OpenBLAS")
    }
}
