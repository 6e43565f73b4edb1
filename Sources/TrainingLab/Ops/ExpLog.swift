import CTrainingLab

/// Element-wise exp and log, and log-sum-exp over selected entries of an axis (the smooth maximum and
/// the normaliser of set and contrastive losses).

public func exp(_ x: Tensor) throws -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    try tlCheck(tl_exp_forward(y.pointer, x.pointer, x.count))
    return y.recording("exp", inputs: [x]) { g, out, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_exp_backward(dx.pointer, g.pointer, out.pointer, x.count))
        return [dx]
    }
}

/// Natural logarithm; 0 gives -inf and negative values NaN, as in libm.
public func log(_ x: Tensor) throws -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    try tlCheck(tl_log_forward(y.pointer, x.pointer, x.count))
    return y.recording("log", inputs: [x]) { g, _, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_log_backward(dx.pointer, g.pointer, x.pointer, x.count))
        return [dx]
    }
}

/// log sum exp of x along `axis` (removed), over the entries where `mask` (same element count as x,
/// row-major) is true; nil selects all. Max-shifted and summed in double, so large values do not
/// overflow; a slice with nothing selected gives -inf and no gradient. For a matrix, axis 1 reduces
/// each row and axis 0 each column. keepDims leaves the axis with size 1.
public func logSumExp(_ x: Tensor, axis: Int, mask: [Bool]? = nil, keepDims: Bool = false) throws -> Tensor {
    let a = try x.axisIndex(axis, op: "logSumExp")
    if let mask, mask.count != x.count {
        throw TensorError("logSumExp: mask of \(mask.count) entries for a tensor of shape \(x.shape)")
    }
    let bytes = mask.map { $0.map { UInt8($0 ? 1 : 0) } }
    let (outer, length, inner) = x.split(at: a)
    let out = Tensor(uninitializedShape: x.reducedShape(a, keepDims: keepDims))
    try tlCheck(tl_masked_logsumexp_forward(out.pointer, x.pointer, bytes, outer, length, inner))
    return out.recording("logsumexp", inputs: [x]) { g, result, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_masked_logsumexp_backward(dx.pointer, g.pointer, x.pointer, result.pointer, bytes, outer, length, inner))
        return [dx]
    }
}
