import Foundation
import KernelTable
import TrainingLab

/// One product of a GEMM case: op(A) (m, k), op(B) (k, n), row-major with the given leading dimensions.
private struct GemmShape {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool
    var lda: Int, ldb: Int, ldc: Int
    var beta: Float = 0

    init(_ m: Int, _ n: Int, _ k: Int, transA: Bool = false, transB: Bool = false, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil,
         beta: Float = 0) {
        (self.m, self.n, self.k, self.transA, self.transB, self.beta) = (m, n, k, transA, transB, beta)
        self.lda = lda ?? (transA ? m : k)
        self.ldb = ldb ?? (transB ? k : n)
        self.ldc = ldc ?? n
    }

    /// Stored rows and columns of A, B and C.
    var a: (rows: Int, cols: Int) { transA ? (k, m) : (m, k) }
    var b: (rows: Int, cols: Int) { transB ? (n, k) : (k, n) }
    var c: (rows: Int, cols: Int) { (m, n) }

    var text: String {
        let strides = [("lda", lda, a.cols), ("ldb", ldb, b.cols), ("ldc", ldc, c.cols)].filter { $0.1 > $0.2 }.map { "\($0.0) \($0.1)" }
        return "\(m)x\(n)x\(k) \(transA ? "T" : "N")\(transB ? "T" : "N")" + strides.map { " " + $0 }.joined() + (beta != 0 ? " beta \(beta)" : "")
    }
}

/// Where product i of a batch finds an operand of `rows` x `cols` stored `ld` apart: side by side (the next
/// block of columns) when its rows are longer than it, as Winograd's products are, else one after the other.
private func operandStep(rows: Int, cols: Int, ld: Int) -> (step: Int, size: Int) {
    ld > cols ? (cols, rows * ld) : (rows * ld, rows * ld)
}

extension BenchSuites {
    /// tl_sgemm (our packed micro-kernels, OpenMP over blocks of C) against one direct cblas_sgemm call
    /// with OpenBLAS's own threads (same count) in the same run: ref_ratio = OpenBLAS time / ours.
    /// Squares, then the products the models make at batch 128: smallcnn's first linear layer
    /// (3136 -> 128: forward x w^T, input gradient, weight gradient), resnet20's strided 32 -> 64
    /// convolution through im2col (per image: forward, input and weight gradients), and the Winograd
    /// convolutions' 36 products per block of 32 tiles (rows 36 * 32 floats apart) at 16, 32 and 64
    /// channels, forward and weight gradient (accumulating, beta 1).
    static var gemm: [BenchCase] {
        let squares = [256, 512, 1024, 2048].map { n in (name: "sgemm_\(n)", shape: GemmShape(n, n, n), count: 1) }
        let tb = 32, ld = 36 * tb
        let skinny: [(name: String, shape: GemmShape, count: Int)] = [
            ("sgemm_smallcnn_fc1_fwd", GemmShape(128, 128, 3136, transB: true), 1),
            ("sgemm_smallcnn_fc1_dx", GemmShape(128, 3136, 128), 1),
            ("sgemm_smallcnn_fc1_dw", GemmShape(128, 3136, 128, transA: true), 1),
            ("sgemm_resnet20_im2col_s2_fwd", GemmShape(64, 64, 288), 1),
            ("sgemm_resnet20_im2col_s2_dx", GemmShape(288, 64, 64, transA: true), 1),
            ("sgemm_resnet20_im2col_s2_dw", GemmShape(64, 288, 64, transB: true, beta: 1), 1),
            ("sgemm_winograd_16ch_x36", GemmShape(16, tb, 16, ldb: ld, ldc: ld), 36),
            ("sgemm_winograd_32ch_x36", GemmShape(32, tb, 32, ldb: ld, ldc: ld), 36),
            ("sgemm_winograd_64ch_x36", GemmShape(64, tb, 64, ldb: ld, ldc: ld), 36),
            ("sgemm_winograd_dw_64ch_x36", GemmShape(64, 64, tb, lda: ld, beta: 1), 36),
        ]
        return (squares + skinny).map { c in gemmCase(name: c.name, shape: c.shape, count: c.count) }
    }

    /// `count` products of `s` (operands placed as operandStep says), ours then OpenBLAS's.
    private static func gemmCase(name: String, shape s: GemmShape, count: Int) -> BenchCase {
        BenchCase(name: name, shape: s.text + (count > 1 ? " x\(count)" : ""), work: .flops(2 * Double(s.m * s.n * s.k * count))) {
            let sa = operandStep(rows: s.a.rows, cols: s.a.cols, ld: s.lda), sb = operandStep(rows: s.b.rows, cols: s.b.cols, ld: s.ldb)
            let sc = operandStep(rows: s.c.rows, cols: s.c.cols, ld: s.ldc)
            let a = BenchBuffer(count: sa.size + sa.step * (count - 1), seed: 1), b = BenchBuffer(count: sb.size + sb.step * (count - 1), seed: 2)
            let c = BenchBuffer(count: sc.size + sc.step * (count - 1), seed: 3, low: -0.01, high: 0.01)
            let (ta, tb): (Int32, Int32) = (s.transA ? 1 : 0, s.transB ? 1 : 0)
            typealias Gemm = (Int32, Int32, Int, Int, Int, Float, UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int, Float,
                              UnsafeMutablePointer<Float>?, Int) -> Int32
            let products = { (gemm: @escaping Gemm) in
                idleBeforeFirstCall {
                    for i in 0..<count {
                        try tlCheck(gemm(ta, tb, s.m, s.n, s.k, 1, a.pointer + i * sa.step, s.lda, b.pointer + i * sb.step, s.ldb, s.beta,
                                         c.pointer + i * sc.step, s.ldc))
                    }
                }
            }
            try validate(s, count: count, ours: products(tl_sgemm), reference: products(tl_sgemm_openblas_direct), c: c, name: name)
            return BenchBodies(body: products(tl_sgemm), reference: products(tl_sgemm_openblas_direct))
        }
    }
}

/// Runs both implementations once from the same C and compares them before anything is timed: operands are
/// uniform in [-1, 1], so a wrong product is off by about sqrt(K) / 3 while rounding stays far below 1e-5 K.
private func validate(_ s: GemmShape, count: Int, ours: () throws -> Void, reference: () throws -> Void, c: BenchBuffer,
                      name: String) throws {
    let start = Array(UnsafeBufferPointer(start: c.pointer, count: c.count))
    let run = { (body: () throws -> Void) -> [Float] in
        start.withUnsafeBufferPointer { c.pointer.update(from: $0.baseAddress!, count: c.count) }
        try body()
        return Array(UnsafeBufferPointer(start: c.pointer, count: c.count))
    }
    let mine = try run(ours), theirs = try run(reference)
    start.withUnsafeBufferPointer { c.pointer.update(from: $0.baseAddress!, count: c.count) }
    let tolerance = 1e-5 * Double(s.k)
    let worst = zip(mine, theirs).map { abs(Double($0) - Double($1)) }.max() ?? 0
    if !(worst <= tolerance) {
        throw KernelValidationError(row: name, shape: ["M": Double(s.m), "N": Double(s.n), "K": Double(s.k)],
                                    failures: ["tl_sgemm differs from OpenBLAS by \(worst) (allowed \(tolerance))"])
    }
}

/// Wraps a body so that its first (untimed warm-up) call first waits 0.3 s. OpenMP's workers spin for
/// 200 ms after a parallel region and OpenBLAS's for about 0.1 s after a call; without the pause the
/// implementation timed second would share the cores with the spinning threads of the one timed first.
func idleBeforeFirstCall(_ body: @escaping () throws -> Void) -> () throws -> Void {
    var first = true
    return {
        if first { first = false; usleep(300_000) }
        try body()
    }
}
