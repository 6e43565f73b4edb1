/// One optimisation step as the loop's events and objective see it. Methods read and may change it:
/// replace the inputs (adversarial examples), the per-sample losses (another objective), the
/// per-sample weights of the reduction (InfoBatch), add named scalar terms (regularisers), accumulate
/// gradients of extra weighted passes, or set this step's learning rate.
public final class StepState {
    public let epoch: Int
    /// Index of the batch within the epoch, and the number of batches in this epoch.
    public let batchIndex: Int
    public let batchCount: Int
    /// Optimisation steps taken before this one in the whole run.
    public let globalStep: Int

    /// (B, sample shape) after augmentation: view 0 of the batch.
    public var inputs: Tensor
    /// Every view of a multi-view loader (two augmentations of the same samples); `[inputs]` otherwise.
    public var views: [Tensor]
    public var labels: [Int32]
    /// Dataset indices of the samples in this batch, aligned with `labels`.
    public let indices: [Int]
    /// The batch's per-sample metadata columns (subgroup, client ...), aligned with `labels`.
    public let metadata: [String: [Int]]

    /// Model output, set by the forward pass.
    public var logits: Tensor?
    /// Named intermediate outputs the forward pass published (features, spikes, attention maps ...).
    public var outputs = ForwardOutputs()
    /// (B) per-sample losses before reduction.
    public var perSampleLoss: Tensor?
    /// A scalar objective over the whole batch (a set loss), added to the reduced per-sample loss.
    public var batchLoss: Tensor?
    /// Per-sample weights of the reduction: loss = sum(w * l) / B. Nil means all 1.
    public var sampleWeights: [Float]?
    /// Scalar terms added to the reduced loss, by name (logged separately).
    public var extraTerms: [(String, Tensor)] = []
    /// The scalar that is differentiated, set after the loss event.
    public var loss: Tensor?
    /// Set by a method to skip the optimiser update of this step (e.g. a non-finite loss it handled).
    public var skipUpdate = false
    /// This step's learning rate, replacing the schedule's (set before the optimiser step: a method's own
    /// per-step rule, such as a client learning-rate cycle).
    public var learningRate: Double?
    /// Samples of extra forward/backward passes accumulated into this step's gradients.
    public private(set) var accumulatedPasses = 0

    public var batchSize: Int { labels.count }

    /// The step of one batch from the loader's iterator.
    public init(epoch: Int, batchIndex: Int, batchCount: Int, globalStep: Int, batch: Batch) {
        self.epoch = epoch
        self.batchIndex = batchIndex
        self.batchCount = batchCount
        self.globalStep = globalStep
        inputs = batch.inputs
        views = batch.views
        labels = batch.labels
        indices = batch.indices
        metadata = batch.metadata
    }

    /// Gradient accumulation: back-propagates `weight * loss` now, adding to the gradients this step's
    /// optimiser update will use (the loop clears gradients before the forward pass, not after it).
    /// `samples` counts the pass in the run's cost. Several weighted passes (subnets, views) make one step.
    public func accumulateGradients(of loss: Tensor, weight: Float = 1, samples: Int) throws {
        let value = try loss.item()
        guard value.isFinite else { throw TrainingError("epoch \(epoch) batch \(batchIndex): an accumulated loss is \(value)") }
        try (weight == 1 ? loss : loss * weight).backward()
        accumulatedPasses += samples
    }
}
