/// Matrix products over leading batch dimensions: a (..., M, K) × b (..., K, N) -> (..., M, N), with the
/// same batch dimensions on both sides (attention scores, per-sample projections). transposeA takes a as
/// (..., K, M), transposeB takes b as (..., N, K). One strided-batched GEMM call forward, two backward.
public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    let shapes = "\(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")"
    guard a.rank >= 2, b.rank >= 2 else { throw TensorError("batchedMatmul: needs tensors of rank >= 2, got \(shapes)") }
    let batchShape = Array(a.shape.dropLast(2))
    guard Array(b.shape.dropLast(2)) == batchShape else {
        throw TensorError("batchedMatmul: batch dimensions differ: \(shapes)")
    }
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = transposeA ? (ac, ar) : (ar, ac)
    let (k2, n) = transposeB ? (bc, br) : (br, bc)
    guard k == k2 else { throw TensorError("batchedMatmul: inner dimensions differ: \(shapes)") }
    guard m > 0, n > 0, k > 0 else { throw TensorError("batchedMatmul: empty matrices: \(shapes)") }
    return try product(a, b, transposeA, transposeB, m: m, n: n, k: k, batch: Tensor.elementCount(batchShape),
                       outShape: batchShape + [m, n], name: "batched_matmul")
}
