import CTrainingLab
import Foundation

/// Named tensors (a model's parameters, gradients, control variates) concatenated in a fixed order into one
/// contiguous vector, so that federated averaging, SWA/FedSWA updates and control-variate arithmetic are a
/// few whole-vector kernels instead of loops over tensors. The arithmetic runs on the C core: elementwise
/// updates, and dot products summed in double over fixed blocks, so results do not depend on the thread count.
/// A vector is a reference type like `Tensor`: the arithmetic updates it in place.
public final class ParameterVector {
    /// Where each named tensor sits in the vector.
    public struct Layout: Equatable, Sendable {
        public let names: [String]
        public let shapes: [[Int]]
        /// Start of each segment; the last entry is the total element count.
        public let offsets: [Int]
        let index: [String: Int]

        init(_ named: [(String, [Int])]) throws {
            names = named.map(\.0)
            shapes = named.map(\.1)
            offsets = shapes.reduce(into: [0]) { $0.append($0.last! + Tensor.elementCount($1)) }
            index = try Dictionary(names.enumerated().map { ($1, $0) }) { _, _ in
                throw TensorError("ParameterVector: a name occurs twice in \(named.map(\.0))")
            }
        }

        public var count: Int { offsets.last! }

        /// Element range of the tensor named `name`, if it is in the vector.
        public func range(of name: String) -> Range<Int>? { index[name].map { offsets[$0]..<offsets[$0 + 1] } }

        public static func == (a: Layout, b: Layout) -> Bool { a.names == b.names && a.shapes == b.shapes }
    }

    public let layout: Layout
    /// The concatenated elements, shape [layout.count].
    public let values: Tensor

    /// The concatenation of `named` in the order given (values copied).
    public init(from named: [(String, Tensor)]) throws {
        layout = try Layout(named.map { ($0.0, $0.1.shape) })
        values = Tensor(uninitializedShape: [layout.count])
        for ((_, t), offset) in zip(named, layout.offsets) { (values.pointer + offset).update(from: t.pointer, count: t.count) }
    }

    /// Zeros with the layout of `other`.
    public init(zerosLike other: ParameterVector) {
        layout = other.layout
        values = Tensor(zeros: [layout.count])
    }

    /// A vector over `layout` holding `values` (not copied; `values.count == layout.count`).
    init(layout: Layout, values: Tensor) {
        precondition(values.count == layout.count, "ParameterVector: \(values.count) values for a layout of \(layout.count)")
        self.layout = layout
        self.values = values
    }

    /// An independent copy.
    public func copy() -> ParameterVector { ParameterVector(layout: layout, values: values.copy()) }

    /// Writes the segments back into tensors of the same names and shapes (any order; every name of the
    /// vector exactly once).
    public func write(to named: [(String, Tensor)]) throws {
        let given = Set(named.map(\.0))
        guard given.count == named.count, given == Set(layout.names) else {
            throw TensorError("ParameterVector.write: expected the tensors \(layout.names), got \(named.map(\.0))")
        }
        for (name, t) in named {
            let i = layout.index[name]!
            guard t.shape == layout.shapes[i] else {
                throw TensorError("ParameterVector.write: '\(name)' has shape \(t.shape), the vector holds \(layout.shapes[i])")
            }
            t.pointer.update(from: values.pointer + layout.offsets[i], count: t.count)
        }
    }

    /// A copy of the segment named `name`, in its shape.
    public func tensor(named name: String) throws -> Tensor {
        guard let i = layout.index[name] else { throw TensorError("ParameterVector: no tensor named '\(name)' in \(layout.names)") }
        let t = Tensor(uninitializedShape: layout.shapes[i])
        t.pointer.update(from: values.pointer + layout.offsets[i], count: t.count)
        return t
    }

    /// A copy of the segments named `names`, in that order (e.g. the trainable parameters out of a model's
    /// whole state, for control variates).
    public func selecting(_ names: [String]) throws -> ParameterVector {
        let picked = try names.map { name -> Int in
            guard let i = layout.index[name] else { throw TensorError("ParameterVector.selecting: no tensor named '\(name)' in \(layout.names)") }
            return i
        }
        let selected = try Layout(picked.map { (layout.names[$0], layout.shapes[$0]) })
        let out = Tensor(uninitializedShape: [selected.count])
        for (i, to) in zip(picked, selected.offsets) {
            (out.pointer + to).update(from: values.pointer + layout.offsets[i], count: layout.offsets[i + 1] - layout.offsets[i])
        }
        return ParameterVector(layout: selected, values: out)
    }

    /// Whether every element is finite (a client's update before it is aggregated).
    public var isFinite: Bool {
        let p = values.pointer
        for i in 0..<layout.count where !p[i].isFinite { return false }
        return true
    }

    /// self += alpha * x (axpy).
    public func add(_ x: ParameterVector, scaledBy alpha: Float = 1) throws {
        try checkLayout(x, "add")
        try tlCheck(tl_axpy(values.pointer, x.values.pointer, layout.count, alpha))
    }

    /// self *= alpha.
    public func scale(by alpha: Float) throws {
        try tlCheck(tl_affine(values.pointer, values.pointer, layout.count, alpha, 0))
    }

    /// self - other, as a new vector.
    public func subtracting(_ other: ParameterVector) throws -> ParameterVector {
        try checkLayout(other, "subtracting")
        let out = Tensor(uninitializedShape: [layout.count])
        try tlCheck(tl_sub(out.pointer, values.pointer, other.values.pointer, layout.count))
        return ParameterVector(layout: layout, values: out)
    }

    /// Sum of elementwise products, accumulated in double.
    public func dot(_ other: ParameterVector) throws -> Double {
        try checkLayout(other, "dot")
        var out = 0.0
        try tlCheck(tl_dot(&out, values.pointer, other.values.pointer, layout.count))
        return out
    }

    /// Euclidean norm, accumulated in double.
    public func norm() throws -> Double { try dot(self).squareRoot() }

    private func checkLayout(_ other: ParameterVector, _ op: String) throws {
        guard layout == other.layout else {
            let i = (0..<min(layout.names.count, other.layout.names.count)).first {
                layout.names[$0] != other.layout.names[$0] || layout.shapes[$0] != other.layout.shapes[$0]
            }
            let difference = i.map { "'\(layout.names[$0])' \(layout.shapes[$0]) vs '\(other.layout.names[$0])' \(other.layout.shapes[$0])" }
                ?? "\(layout.names.count) vs \(other.layout.names.count) tensors"
            throw TensorError("ParameterVector.\(op): the vectors hold different tensors (\(difference))")
        }
    }
}
