/// An augmentation written in Swift, registered by a plugin under a name (`PluginRegistration(augmentations:)`)
/// and selected by a run through `Augmentation.transforms`. It changes the batch tensor (B, sample shape) in
/// place after the C kernels have gathered, cropped and normalised it.
///
/// Like the C augmentations, its randomness must come from `seeds[b]`, a stream private to sample b and
/// derived from (loader seed, epoch, view, transform name, sample index): so a sample's transform does not
/// depend on its batch, position or the thread count, and two views differ.
///
///     let jitter = BatchTransform(name: "jitter", summary: "adds U(-0.1, 0.1) to every value") { batch, seeds in
///         let size = batch.count / batch.shape[0]
///         for b in 0..<batch.shape[0] {
///             var g = seeds[b]
///             for k in 0..<size { batch.pointer[b * size + k] += Float(g.uniform() * 0.2 - 0.1) }
///         }
///     }
public struct BatchTransform: Equatable, Sendable {
    /// Per-sample random streams of one batch.
    public struct Seeds {
        let seed: UInt64
        let transform: String
        /// Positions in the loader's dataset of the batch's samples, in batch order.
        public let indices: [Int]

        /// The random stream of sample `b` (batch position) for this transform, epoch and view.
        public subscript(b: Int) -> SeededGenerator {
            SeededGenerator(seed: seed).split(transform).split(UInt64(indices[b]))
        }
    }

    public let name: String
    /// One line for `tlab` listings and errors.
    public let summary: String
    let body: @Sendable (Tensor, Seeds) throws -> Void

    public init(name: String, summary: String, _ body: @escaping @Sendable (_ batch: Tensor, _ seeds: Seeds) throws -> Void) {
        self.name = name
        self.summary = summary
        self.body = body
    }

    /// Runs the transform on `batch` in place.
    public func apply(_ batch: Tensor, _ seeds: Seeds) throws { try body(batch, seeds) }

    /// Transforms are identified by name (a registry holds one per name).
    public static func == (a: BatchTransform, b: BatchTransform) -> Bool { a.name == b.name }
}
