import CTrainingLab

extension Tensor {
    /// The same elements under a new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw TensorError("reshaped: invalid shape \(newShape)")
        }
        if let i = inferred.first {
            guard known > 0, count % known == 0 else { throw TensorError("reshaped: cannot infer \(newShape) from \(shape)") }
            resolved[i] = count / known
        }
        guard Tensor.elementCount(resolved) == count else {
            throw TensorError("reshaped: \(shape) (\(count) elements) cannot become \(newShape)")
        }
        let oldShape = shape
        return Tensor(shape: resolved, storage: storage).recording("reshape", inputs: [self]) { g, _, _ in
            [g.reshapedStorage(oldShape)]
        }
    }

    /// (N, ...) -> (N, product of the rest).
    public func flattened() throws -> Tensor {
        guard rank >= 1 else { throw TensorError("flattened: scalar tensor") }
        return try reshaped([shape[0], count / max(shape[0], 1)])
    }

    /// Rows `indices` of the first axis, in that order (rows may repeat).
    public func gatheringRows(_ indices: [Int]) throws -> Tensor {
        guard rank >= 1 else { throw TensorError("gatheringRows: scalar tensor") }
        let n = shape[0], row = count / max(n, 1)
        let index = indices.map(Int64.init)
        var outShape = shape
        outShape[0] = indices.count
        let out = Tensor(uninitializedShape: outShape)
        try tlCheck(tl_gather_rows(out.pointer, pointer, index, indices.count, n, row))
        let inShape = shape
        return out.recording("gather_rows", inputs: [self]) { g, _, _ in
            let dx = Tensor(zeros: inShape)
            try tlCheck(tl_scatter_add_rows(dx.pointer, g.pointer, index, index.count, n, row))
            return [dx]
        }
    }

    /// 2-D transpose.
    public func transposed() throws -> Tensor {
        guard rank == 2 else { throw TensorError("transposed: needs a 2-D tensor, got \(shape)") }
        let (r, c) = (shape[0], shape[1])
        let out = Tensor(uninitializedShape: [c, r])
        try tlCheck(tl_transpose(out.pointer, pointer, r, c))
        return out.recording("transpose", inputs: [self]) { g, _, _ in
            let dx = Tensor(uninitializedShape: [r, c])
            try tlCheck(tl_transpose(dx.pointer, g.pointer, c, r))
            return [dx]
        }
    }

    /// `axis` as an index in 0..<rank, negative values counting from the end; throws naming `op`. `rank`
    /// replaces the tensor's own for axes of a result with more dimensions (stacking inserts one).
    func axisIndex(_ axis: Int, op: String, rank: Int? = nil) throws -> Int {
        let r = rank ?? self.rank
        let a = axis < 0 ? axis + r : axis
        guard a >= 0 && a < r else { throw TensorError("\(op): axis \(axis) is out of range for shape \(shape)") }
        return a
    }
}
