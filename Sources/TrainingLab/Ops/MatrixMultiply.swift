import CTrainingLab

/// op(a) op(b) for 2-D tensors, op = transpose when requested.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    guard a.rank == 2, b.rank == 2 else { throw TensorError("matmul: needs 2-D tensors, got \(a.shape) and \(b.shape)") }
    let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    guard k == k2 else { throw TensorError("matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")") }
    let y = Tensor(uninitializedShape: [m, n])
    try gemm(transposeA, transposeB, m, n, k, a, b, y)
    FlopCounter.add(2 * m * n * k)
    return y.recording("matmul", inputs: [a, b]) { g, _, needs in
        var da: Tensor?, db: Tensor?
        if needs[0] {
            // d op(a) = g op(b)ᵀ; stored transposed when a was used transposed.
            let t = Tensor(uninitializedShape: a.shape)
            if transposeA { try gemm(transposeB, true, a.shape[0], a.shape[1], n, b, g, t) }
            else { try gemm(false, !transposeB, a.shape[0], a.shape[1], n, g, b, t) }
            da = t
        }
        if needs[1] {
            let t = Tensor(uninitializedShape: b.shape)
            if transposeB { try gemm(true, transposeA, b.shape[0], b.shape[1], m, g, a, t) }
            else { try gemm(!transposeA, false, b.shape[0], b.shape[1], m, a, g, t) }
            db = t
        }
        return [da, db]
    }
}

/// c (m, n) = op(a) op(b) with row-major leading dimensions taken from the stored shapes.
func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: Tensor, _ b: Tensor, _ c: Tensor, beta: Float = 0) throws {
    try tlCheck(tl_sgemm(ta ? 1 : 0, tb ? 1 : 0, m, n, k, 1, a.pointer, a.shape[1], b.pointer, b.shape[1], beta, c.pointer, n))
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
