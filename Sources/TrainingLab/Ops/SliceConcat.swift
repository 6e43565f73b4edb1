import CTrainingLab

/// Slicing, concatenation and stacking along any axis. All of them, and their gradients, are block copies
/// along one axis of an (outer, axis, inner) view (tl_copy_axis_block).

/// Copies `length` positions of `src`'s axis from `srcStart` into `dst`'s axis at `dstStart`; the two
/// tensors agree outside the axis.
private func copyBlock(into dst: Tensor, at dstStart: Int, from src: Tensor, at srcStart: Int, length: Int, axis: Int) throws {
    let (outer, dstAxis, inner) = dst.split(at: axis)
    try tlCheck(tl_copy_axis_block(dst.pointer, dstAxis, dstStart, src.pointer, src.shape[axis], srcStart, outer, length, inner))
}

extension Tensor {
    /// Positions start ..< start + length of `axis` (negative axes count from the end), as a copy.
    public func narrowed(axis: Int, start: Int, length: Int) throws -> Tensor {
        let a = try axisIndex(axis, op: "narrowed")
        guard start >= 0, length >= 0, start + length <= shape[a] else {
            throw TensorError("narrowed: [\(start), \(start + length)) is outside axis \(axis) of shape \(shape)")
        }
        var outShape = shape
        outShape[a] = length
        let out = Tensor(uninitializedShape: outShape)
        try copyBlock(into: out, at: 0, from: self, at: start, length: length, axis: a)
        let inShape = shape
        return out.recording("narrow", inputs: [self]) { g, _, _ in
            let dx = Tensor(zeros: inShape)
            try copyBlock(into: dx, at: start, from: g, at: 0, length: length, axis: a)
            return [dx]
        }
    }

    /// The positions `range` of `axis`: `narrowed` with a range.
    public func sliced(axis: Int, _ range: Range<Int>) throws -> Tensor {
        try narrowed(axis: axis, start: range.lowerBound, length: range.count)
    }
}

/// Tensors joined along `axis` (negative counts from the end); their other dimensions must agree.
public func concatenated(_ parts: [Tensor], axis: Int = 0) throws -> Tensor {
    guard let first = parts.first else { throw TensorError("concatenated: no tensors") }
    let a = try first.axisIndex(axis, op: "concatenated")
    func others(_ t: Tensor) -> [Int] { var s = t.shape; s.remove(at: a); return s }
    guard parts.allSatisfy({ $0.rank == first.rank && others($0) == others(first) }) else {
        throw TensorError("concatenated: shapes \(parts.map(\.shape)) differ outside axis \(axis)")
    }
    var outShape = first.shape
    outShape[a] = parts.map { $0.shape[a] }.reduce(0, +)
    let out = Tensor(uninitializedShape: outShape)
    let starts = parts.reduce(into: [0]) { $0.append($0.last! + $1.shape[a]) }
    for (p, start) in zip(parts, starts) {
        try copyBlock(into: out, at: start, from: p, at: 0, length: p.shape[a], axis: a)
    }
    return out.recording("concat", inputs: parts) { g, _, needs in
        try parts.indices.map { i in
            guard needs[i] else { return nil }
            let part = Tensor(uninitializedShape: parts[i].shape)
            try copyBlock(into: part, at: 0, from: g, at: starts[i], length: parts[i].shape[a], axis: a)
            return part
        }
    }
}

/// Tensors of one shape stacked along a new axis `axis` (0...rank; negative counts from the end of the
/// result's axes).
public func stacked(_ parts: [Tensor], axis: Int = 0) throws -> Tensor {
    guard let first = parts.first else { throw TensorError("stacked: no tensors") }
    guard parts.allSatisfy({ $0.shape == first.shape }) else { throw TensorError("stacked: shapes \(parts.map(\.shape)) differ") }
    let a = try first.axisIndex(axis, op: "stacked", rank: first.rank + 1)
    var unitShape = first.shape
    unitShape.insert(1, at: a)
    return try concatenated(parts.map { try $0.reshaped(unitShape) }, axis: a)
}
