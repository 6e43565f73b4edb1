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

    /// (product of dims before axis, dim at axis, product of dims after axis).
    func split(at axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}
