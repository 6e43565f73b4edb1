import CTrainingLab

/// NumPy broadcasting for the element-wise arithmetic of Arithmetic.swift: shapes are aligned at their
/// last axes, and a dimension of 1 (or a missing leading one) repeats to match the other operand. The
/// gradient of a repeated operand is the output gradient summed over the repeated dimensions.

/// The broadcast shape of `a` and `b`, or an error naming `op` and both shapes.
func broadcastShape(_ op: String, _ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    let pa = padded(a, to: rank), pb = padded(b, to: rank)
    return try (0..<rank).map { d in
        guard pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1 else {
            throw TensorError("\(op): shapes \(a) and \(b) do not broadcast (dimension \(d - rank) is \(pa[d]) vs \(pb[d]))")
        }
        return pa[d] == 1 ? pb[d] : pa[d]
    }
}

/// `shape` with leading 1s up to `rank` dimensions (at least one, so scalars have an axis for the kernels).
private func padded(_ shape: [Int], to rank: Int) -> [Int] {
    Array(repeating: 1, count: max(rank, 1) - shape.count) + shape
}

/// a op b with broadcasting, without recording.
private func broadcastKernel(_ op: tl_binary_op, _ a: Tensor, _ b: Tensor, outShape: [Int]) throws -> Tensor {
    guard outShape.count <= Int(TL_MAX_RANK) else { throw TensorError("broadcast: rank \(outShape.count) exceeds \(TL_MAX_RANK)") }
    let out = Tensor(uninitializedShape: outShape)
    let rank = max(outShape.count, 1)
    try tlCheck(tl_broadcast_binary(Int32(op.rawValue), out.pointer, a.pointer, padded(a.shape, to: rank), b.pointer,
                                    padded(b.shape, to: rank), padded(outShape, to: rank), Int32(rank)))
    return out
}

/// `g` (the broadcast shape) summed down to `shape`: the gradient of an operand of that shape.
private func summed(_ g: Tensor, to shape: [Int]) throws -> Tensor {
    if g.shape == shape { return g }
    let out = Tensor(uninitializedShape: shape)
    let rank = max(g.rank, 1)
    try tlCheck(tl_sum_to_shape(out.pointer, g.pointer, padded(g.shape, to: rank), padded(shape, to: rank), Int32(rank)))
    return out
}

/// a op b for tensors of different but broadcast-compatible shapes, recorded with its gradient.
func broadcasting(_ op: tl_binary_op, _ name: String, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    let outShape = try broadcastShape(name, a.shape, b.shape)
    let out = try broadcastKernel(op, a, b, outShape: outShape)
    return out.recording(name, inputs: [a, b]) { g, y, needs in
        // Each operand's gradient before summing: g (add), ±g (sub), g·other (mul), g / b and -g·y / b (div).
        func grad(_ k: Int) throws -> Tensor? {
            guard needs[k] else { return nil }
            let shape = k == 0 ? a.shape : b.shape
            switch (op, k) {
            case (TL_BINARY_ADD, _), (TL_BINARY_SUB, 0): return try summed(g, to: shape)
            case (TL_BINARY_SUB, _): return try affine(summed(g, to: shape), -1, 0)
            case (TL_BINARY_MUL, _): return try summed(broadcastKernel(TL_BINARY_MUL, g, k == 0 ? b : a, outShape: outShape), to: shape)
            case (_, 0): return try summed(broadcastKernel(TL_BINARY_DIV, g, b, outShape: outShape), to: shape)
            default:
                let gy = try broadcastKernel(TL_BINARY_MUL, g, y, outShape: outShape)
                return try affine(summed(broadcastKernel(TL_BINARY_DIV, gy, b, outShape: outShape), to: shape), -1, 0)
            }
        }
        return [try grad(0), try grad(1)]
    }
}
