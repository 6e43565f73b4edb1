/// One optimisation step as the trainer's events see it. Methods read and may change it:
/// replace the inputs (adversarial examples), the per-sample losses (another objective), the
/// per-sample weights of the reduction (InfoBatch), or add named scalar terms (regularisers).
public final class StepState {
    public let epoch: Int
    /// Index of the batch within the epoch, and the number of batches in this epoch.
    public let batchIndex: Int
    public let batchCount: Int
    /// Optimisation steps taken before this one in the whole run.
    public let globalStep: Int

    /// (B, C, H, W) after augmentation.
    public var inputs: Tensor
    public var labels: [Int32]
    /// Dataset indices of the samples in this batch, aligned with `labels`.
    public let indices: [Int]

    /// Model output, set by the forward pass.
    public var logits: Tensor?
    /// (B) per-sample losses before reduction.
    public var perSampleLoss: Tensor?
    /// Per-sample weights of the reduction: loss = sum(w * l) / B. Nil means all 1.
    public var sampleWeights: [Float]?
    /// Scalar terms added to the reduced loss, by name (logged separately).
    public var extraTerms: [(String, Tensor)] = []
    /// The scalar that is differentiated, set after the loss event.
    public var loss: Tensor?
    /// Set by a method to skip the optimiser update of this step (e.g. a non-finite loss it handled).
    public var skipUpdate = false

    public var batchSize: Int { labels.count }

    public init(epoch: Int, batchIndex: Int, batchCount: Int, globalStep: Int, inputs: Tensor, labels: [Int32], indices: [Int]) {
        self.epoch = epoch
        self.batchIndex = batchIndex
        self.batchCount = batchCount
        self.globalStep = globalStep
        self.inputs = inputs
        self.labels = labels
        self.indices = indices
    }
}
