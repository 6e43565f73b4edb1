/// One mini-batch as plain arrays until the Tensor type takes over: for each view the images (B, C, H, W)
/// row-major float32, plus the labels and the sample positions in the loader's dataset (for per-sample
/// losses, scores and weights keyed by sample).
public struct Batch {
    /// One array per view (one view unless the loader runs a multi-view augmentation), each of `shape`.
    public var views: [[Float]]
    /// [B, C, H, W] of every view.
    public var shape: [Int]
    public var labels: [Int32]
    public var indices: [Int]

    public init(views: [[Float]], shape: [Int], labels: [Int32], indices: [Int]) {
        self.views = views
        self.shape = shape
        self.labels = labels
        self.indices = indices
    }

    /// The images of the first (or only) view.
    public var images: [Float] { views[0] }
    public var count: Int { labels.count }
}
