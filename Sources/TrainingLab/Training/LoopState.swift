/// The state of one training loop that events and objectives see: configuration, model, optimiser,
/// progress and counters. Methods keep their own state in their own instance; this is what they share.
public final class LoopState {
    public let config: RunConfig
    public let context: MethodContext
    public let model: Module
    public let optimizer: Optimizer
    /// The stage this loop records under in metrics.jsonl and its checkpoint ("" for a run's main loop),
    /// or nil for an auxiliary loop (a teacher trained inside a run) that records nothing.
    public let stage: String?

    public internal(set) var epoch = 0
    /// Optimisation steps taken so far.
    public internal(set) var globalStep = 0
    /// Fraction of training done, in [0, 1]: (epoch + batch / batches in epoch) / epochs.
    public internal(set) var progress = 0.0
    /// Training samples this loop sent through forward + backward, its own batches and the extra passes
    /// methods counted with `count(samplePasses:)`.
    public private(set) var samplePasses = 0
    /// Steps whose loss was not finite and that were skipped (policy `.skipStep`).
    public internal(set) var nonfiniteSteps = 0
    /// Metrics of the current epoch's metrics.jsonl line; events may add keys.
    public var epochMetrics: JSONValue = .object([])

    init(config: RunConfig, context: MethodContext, model: Module, optimizer: Optimizer, stage: String?) {
        self.config = config
        self.context = context
        self.model = model
        self.optimizer = optimizer
        self.stage = stage
    }

    /// Counts training samples sent through forward + backward (extra passes of attacks, teachers with
    /// gradients, several subnets per step) in this loop and in the run's cost.
    public func count(samplePasses n: Int) {
        samplePasses += n
        context.cost.add(samplePasses: n)
    }

    /// Counts FLOPs in the run's cost.
    public func count(flops n: Int) { context.cost.add(flops: n) }

    func restoreCounters(samplePasses n: Int) { samplePasses = n }
}
