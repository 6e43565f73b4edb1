import CTrainingLab

/// op(a) op(b) for 2-D tensors, op = transpose when requested.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    guard a.rank == 2, b.rank == 2 else { throw TensorError("matmul: needs 2-D tensors, got \(a.shape) and \(b.shape)") }
    let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    guard k == k2 else { throw TensorError("matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")") }
    return try product(a, b, transposeA, transposeB, m: m, n: n, k: k, batch: 1, outShape: [m, n], name: "matmul")
}

/// The product and its recording, shared by `matmul` and `batchedMatmul`: `batch` products op(a_i) op(b_i)
/// of matrices stored back to back, the output (batch, m, n) under `outShape`.
func product(_ a: Tensor, _ b: Tensor, _ transposeA: Bool, _ transposeB: Bool, m: Int, n: Int, k: Int, batch: Int,
             outShape: [Int], name: String) throws -> Tensor {
    let y = Tensor(uninitializedShape: outShape)
    try gemm(transposeA, transposeB, m, n, k, a, b, y, batch: batch)
    FlopCounter.add(2 * batch * m * n * k)
    // Rows and columns of each stored matrix, for the gradients that have the operands' layout.
    let (ar, ac) = transposeA ? (k, m) : (m, k)
    let (br, bc) = transposeB ? (n, k) : (k, n)
    return y.recording(name, inputs: [a, b]) { g, _, needs in
        var da: Tensor?, db: Tensor?
        if needs[0] {
            // d op(a) = g op(b)ᵀ; stored transposed when a was used transposed.
            let t = Tensor(uninitializedShape: a.shape)
            if transposeA { try gemm(transposeB, true, ar, ac, n, b, g, t, batch: batch) }
            else { try gemm(false, !transposeB, ar, ac, n, g, b, t, batch: batch) }
            da = t
        }
        if needs[1] {
            let t = Tensor(uninitializedShape: b.shape)
            if transposeB { try gemm(true, transposeA, br, bc, m, g, a, t, batch: batch) }
            else { try gemm(!transposeA, false, br, bc, m, a, g, t, batch: batch) }
            db = t
        }
        return [da, db]
    }
}

/// c (batch, m, n) = op(a) op(b) per matrix, with row-major leading dimensions taken from the stored
/// shapes' last axis and matrices stored back to back (a batch of 1 is one plain product).
func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: Tensor, _ b: Tensor, _ c: Tensor,
          batch: Int = 1, beta: Float = 0) throws {
    let (lda, ldb) = (a.shape[a.rank - 1], b.shape[b.rank - 1])
    try tlCheck(tl_sgemm_strided_batched(ta ? 1 : 0, tb ? 1 : 0, m, n, k, 1, a.pointer, lda, m * k, b.pointer, ldb, k * n,
                                         beta, c.pointer, n, m * n, batch))
}

/// y (N, out) = x (N, in) wᵀ (out, in) + bias (out).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
    guard x.rank == 2, weight.rank == 2, x.shape[1] == weight.shape[1] else {
        throw TensorError("linear: input \(x.shape) does not match weight \(weight.shape) (expected (N, \(weight.rank == 2 ? weight.shape[1] : -1)))")
    }
    let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
    let y = Tensor(uninitializedShape: [n, outFeatures])
    try gemm(false, true, n, outFeatures, inFeatures, x, weight, y)
    FlopCounter.add(2 * n * outFeatures * inFeatures)
    if let bias { try tlCheck(tl_add_channel_bias(y.pointer, y.pointer, bias.pointer, n, outFeatures, 1)) }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return y.recording("linear", inputs: inputs) { g, _, needs in
        var grads: [Tensor?] = [nil, nil, nil]
        if needs[0] {
            let dx = Tensor(uninitializedShape: x.shape)
            try gemm(false, false, n, inFeatures, outFeatures, g, weight, dx)
            grads[0] = dx
        }
        if needs[1] {
            let dw = Tensor(uninitializedShape: weight.shape)
            try gemm(true, false, outFeatures, inFeatures, n, g, x, dw)
            grads[1] = dw
        }
        if needs.count > 2 && needs[2] {
            let db = Tensor(uninitializedShape: [outFeatures])
            try tlCheck(tl_sum_channels(db.pointer, g.pointer, n, outFeatures, 1))
            grads[2] = db
        }
        return Array(grads.prefix(inputs.count))
    }
}
