import CTrainingLab

/// Reductions along one axis (negative axes count from the end). keepDims leaves the reduced axis with
/// size 1, so the result broadcasts back against the input. The extremes are named maximum/minimum so
/// that, inside Tensor extensions, they do not shadow Swift's max/min. logSumExp(_:axis:mask:keepDims:) is in ExpLog.swift.
extension Tensor {
    /// Sum over `axis`.
    public func sum(alongAxis axis: Int, keepDims: Bool = false) throws -> Tensor {
        let a = try axisIndex(axis, op: "sum(alongAxis:)")
        let (outer, length, inner) = split(at: a)
        let out = Tensor(uninitializedShape: reducedShape(a, keepDims: keepDims))
        try tlCheck(tl_sum_axis(out.pointer, pointer, outer, length, inner))
        let inShape = shape
        return out.recording("sum_axis", inputs: [self]) { g, _, _ in
            let dx = Tensor(uninitializedShape: inShape)
            try tlCheck(tl_broadcast_axis(dx.pointer, g.pointer, outer, length, inner))
            return [dx]
        }
    }

    /// Mean over `axis`.
    public func mean(alongAxis axis: Int, keepDims: Bool = false) throws -> Tensor {
        let a = try axisIndex(axis, op: "mean(alongAxis:)")
        guard shape[a] > 0 else { throw TensorError("mean(alongAxis: \(axis)): the axis of shape \(shape) is empty") }
        return try sum(alongAxis: a, keepDims: keepDims) * (1 / Float(shape[a]))
    }

    /// Maximum over `axis`; the gradient goes to the first maximal element of each slice.
    public func maximum(alongAxis axis: Int, keepDims: Bool = false) throws -> Tensor {
        try extreme(alongAxis: axis, keepDims: keepDims, minimum: false)
    }

    /// Minimum over `axis`; the gradient goes to the first minimal element of each slice.
    public func minimum(alongAxis axis: Int, keepDims: Bool = false) throws -> Tensor {
        try extreme(alongAxis: axis, keepDims: keepDims, minimum: true)
    }

    private func extreme(alongAxis axis: Int, keepDims: Bool, minimum: Bool) throws -> Tensor {
        let op = minimum ? "minimum(alongAxis:)" : "maximum(alongAxis:)"
        let a = try axisIndex(axis, op: op)
        guard shape[a] > 0 else { throw TensorError("\(op): axis \(axis) of shape \(shape) is empty") }
        let (outer, length, inner) = split(at: a)
        let out = Tensor(uninitializedShape: reducedShape(a, keepDims: keepDims))
        var index = [Int64](repeating: 0, count: outer * inner)
        try tlCheck(tl_extreme_axis_forward(out.pointer, &index, pointer, outer, length, inner, minimum ? 1 : 0))
        let inShape = shape
        return out.recording(minimum ? "min_axis" : "max_axis", inputs: [self]) { g, _, _ in
            let dx = Tensor(uninitializedShape: inShape)
            try tlCheck(tl_extreme_axis_backward(dx.pointer, g.pointer, index, outer, length, inner))
            return [dx]
        }
    }

    /// The shape without axis `a`, or with it set to 1 when `keepDims`.
    func reducedShape(_ a: Int, keepDims: Bool) -> [Int] {
        var s = shape
        if keepDims { s[a] = 1 } else { s.remove(at: a) }
        return s
    }
}
