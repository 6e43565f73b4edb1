import CTrainingLab

extension Tensor {
    /// The axes reordered: dimension k of the result is dimension `axes[k]` of this tensor (a copy, since
    /// tensors are contiguous). The gradient is the inverse permutation of the output gradient.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, axes.sorted() == Array(0..<rank) else {
            throw TensorError("permuted: \(axes) is not a permutation of the \(rank) axes of \(shape)")
        }
        let out = try permuting(axes)
        var inverse = axes
        for (k, axis) in axes.enumerated() { inverse[axis] = k }
        return out.recording("permute", inputs: [self]) { g, _, _ in [try g.permuting(inverse)] }
    }

    /// Axes `a` and `b` swapped (negative axes count from the end); `transposed()` is the 2-D case.
    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        let i = try axisIndex(a, op: "transposed"), j = try axisIndex(b, op: "transposed")
        var axes = Array(0..<rank)
        axes.swapAt(i, j)
        return try permuted(axes)
    }

    /// The permuted copy, without recording.
    private func permuting(_ axes: [Int]) throws -> Tensor {
        guard rank <= Int(TL_MAX_RANK) else { throw TensorError("permuted: rank \(rank) exceeds \(TL_MAX_RANK) for \(shape)") }
        let out = Tensor(uninitializedShape: axes.map { shape[$0] })
        // A scalar is its own permutation; the kernel wants at least one axis.
        let dims = rank == 0 ? [1] : shape, perm = rank == 0 ? [Int32(0)] : axes.map(Int32.init)
        try tlCheck(tl_permute(out.pointer, pointer, Int32(dims.count), dims, perm))
        return out
    }
}
