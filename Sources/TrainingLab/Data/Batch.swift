/// One mini-batch from the loader: for each view a tensor (B, sample shape) filled by the augmentation
/// kernels, plus the labels, the sample positions in the loader's dataset (for per-sample losses, scores and
/// weights keyed by sample) and the samples' metadata columns.
public struct Batch {
    /// One tensor per view (one view unless the loader runs a multi-view augmentation), all of one shape.
    public var views: [Tensor]
    public var labels: [Int32]
    /// Positions in the loader's dataset, in batch order.
    public var indices: [Int]
    /// The dataset's metadata columns restricted to this batch, in batch order.
    public var metadata: [String: [Int]]

    public init(views: [Tensor], labels: [Int32], indices: [Int], metadata: [String: [Int]] = [:]) {
        self.views = views
        self.labels = labels
        self.indices = indices
        self.metadata = metadata
    }

    /// The inputs of the first (or only) view, (B, sample shape).
    public var inputs: Tensor { views[0] }
    public var count: Int { labels.count }
}
