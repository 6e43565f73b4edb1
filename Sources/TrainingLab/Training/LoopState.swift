/// The state of one training run that events see: configuration, model, optimiser, progress and
/// counters. Methods keep their own state in their own instance; this is what they share.
public final class LoopState {
    public let config: RunConfig
    public let context: MethodContext
    public let model: Module
    public let optimizer: Optimizer

    public internal(set) var epoch = 0
    /// Optimisation steps taken so far.
    public internal(set) var globalStep = 0
    /// Fraction of training done, in [0, 1]: (epoch + batch / batches in epoch) / epochs.
    public internal(set) var progress = 0.0
    /// Training samples sent through forward + backward so far; methods that run extra passes
    /// (attacks, teachers with gradients) add theirs, so the count measures the real work.
    public var samplePasses = 0
    /// Metrics of the current epoch's metrics.jsonl line; events may add keys.
    public var epochMetrics: JSONValue = .object([])

    init(config: RunConfig, context: MethodContext, model: Module, optimizer: Optimizer) {
        self.config = config
        self.context = context
        self.model = model
        self.optimizer = optimizer
    }
}
