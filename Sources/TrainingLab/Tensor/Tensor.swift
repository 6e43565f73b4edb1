import CTrainingLab

/// A contiguous, row-major float32 tensor over a C buffer, with optional gradient tracking.
///
/// Tensors are reference types: layers keep their parameters as tensors and optimisers update them in
/// place. A tensor produced by a differentiable op while gradients are enabled remembers that op in
/// `gradNode`; `backward()` walks those nodes in reverse creation order (the tape).
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    /// Whether gradients flow to this tensor; leaf tensors with this set receive `grad` on backward.
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf tensor (same shape), set by `backward()`.
    public var grad: Tensor?
    /// The op that produced this tensor, when it was recorded for differentiation.
    var gradNode: GradNode?

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised tensor (contents are whatever the pooled buffer held).
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: Tensor.elementCount(shape)))
    }

    /// A tensor with every element `value`.
    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
        self.init(uninitializedShape: shape)
        self.requiresGrad = requiresGrad
        _ = tl_fill(storage.pointer, count, value)
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, repeating: 0, requiresGrad: requiresGrad)
    }

    /// A tensor holding `scalars` in row-major order; their count must match the shape.
    public convenience init(_ scalars: [Float], shape: [Int], requiresGrad: Bool = false) throws {
        guard Tensor.elementCount(shape) == scalars.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError("Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        }
        self.init(uninitializedShape: shape)
        self.requiresGrad = requiresGrad
        scalars.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.update(from: base, count: scalars.count) }
        }
    }

    /// A scalar (rank-0) tensor.
    public convenience init(scalar: Float) {
        self.init(shape: [], repeating: scalar)
    }

    /// Uniform values in [low, high) from the counter-based generator: element i depends only on (seed, offset + i).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64, offset: UInt64 = 0,
                               requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        _ = tl_rng_uniform(t.storage.pointer, t.count, seed, offset, low, high)
        t.requiresGrad = requiresGrad
        return t
    }

    /// Normal values from the counter-based generator.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64, offset: UInt64 = 0,
                              requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        _ = tl_rng_normal(t.storage.pointer, t.count, seed, offset, mean, std)
        t.requiresGrad = requiresGrad
        return t
    }

    public var count: Int { Tensor.elementCount(shape) }
    public var rank: Int { shape.count }

    /// The first pointer of the data; valid while the tensor is alive.
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// A copy of the elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single element of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw TensorError("item(): tensor of shape \(shape) has \(count) elements, expected 1") }
        return storage.pointer[0]
    }

    /// Same data, no gradient history, no gradient tracking.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A new buffer with the same values (no gradient history).
    public func copy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.storage.pointer.update(from: storage.pointer, count: count)
        return t
    }

    /// Overwrites the elements with those of `other` (same element count); outside autograd.
    public func assign(_ other: Tensor) throws {
        guard other.count == count else { throw TensorError("assign: \(other.shape) into \(shape)") }
        storage.pointer.update(from: other.storage.pointer, count: count)
        withExtendedLifetime(other) {}
    }

    static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
