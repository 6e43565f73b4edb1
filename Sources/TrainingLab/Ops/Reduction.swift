import CTrainingLab

extension Tensor {
    /// Sum of all elements as a scalar tensor (accumulated in double, thread-count independent).
    public func sum() throws -> Tensor {
        var s = 0.0
        try tlCheck(tl_sum(&s, pointer, count))
        let shape = self.shape
        return Tensor(scalar: Float(s)).recording("sum", inputs: [self]) { g, _, _ in
            [Tensor(shape: shape, repeating: g.pointer[0])]
        }
    }

    /// Mean of all elements as a scalar tensor.
    public func mean() throws -> Tensor {
        guard count > 0 else { throw TensorError("mean: empty tensor of shape \(shape)") }
        return try sum() * (1 / Float(count))
    }

    /// Sum over `axis`, removing it.
    public func sum(alongAxis axis: Int) throws -> Tensor {
        guard axis >= 0 && axis < rank else { throw TensorError("sum(alongAxis: \(axis)): tensor has rank \(rank)") }
        let (outer, length, inner) = split(at: axis)
        var outShape = shape
        outShape.remove(at: axis)
        let out = Tensor(uninitializedShape: outShape)
        try tlCheck(tl_sum_axis(out.pointer, pointer, outer, length, inner))
        let inShape = shape
        return out.recording("sum_axis", inputs: [self]) { g, _, _ in
            let dx = Tensor(uninitializedShape: inShape)
            try tlCheck(tl_broadcast_axis(dx.pointer, g.pointer, outer, length, inner))
            return [dx]
        }
    }

    /// (product of dims before axis, dim at axis, product of dims after axis).
    func split(at axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}
