import Foundation

/// What a run provides to the methods in it: configuration, the method's options, the data, and the
/// building blocks to make models, optimisers and trainers of their own (teachers, clients, probes),
/// all seeded from the run's seed.
public final class MethodContext {
    public let config: RunConfig
    public let options: OptionValues
    public let data: LoadedDataset
    /// Where config.json, metrics.jsonl, report.json and model.safetensors go (nil: nowhere).
    public let outputDirectory: URL?
    public let progress: ProgressSink?
    /// Prefix of progress lines (method and seed).
    public var label: String
    /// The models the run can name: the core's and the plugins'.
    public let models: ModelCatalog

    public init(config: RunConfig, options: OptionValues, data: LoadedDataset, outputDirectory: URL? = nil,
                progress: ProgressSink? = nil, label: String = "", models: ModelCatalog = .core) {
        self.config = config
        self.options = options
        self.data = data
        self.outputDirectory = outputDirectory
        self.progress = progress
        self.label = label
        self.models = models
    }

    /// A seed derived from the run's seed and a purpose ("init", "data", "teacher" ...).
    public func seed(_ purpose: String) -> UInt64 {
        SeededGenerator(seed: UInt64(config.seed)).split(purpose).seed
    }

    /// A fresh model from a SPEC (default: the run's `model`) for the training data's sample shape and
    /// classes, seeded from the run's seed and `purpose`. `options` size it from the method's own options
    /// (timesteps, width ...) and override the spec's.
    public func makeModel(_ spec: String? = nil, purpose: String = "init", options: [String: OptionValue] = [:]) throws -> Module {
        try models.make(spec ?? config.model, input: ModelInput(shape: data.train.sampleShape, classes: data.classCount),
                        seed: seed(purpose), options: options)
    }

    /// The optimiser of the configuration over the model's parameters.
    public func makeOptimizer(for model: Module, config: RunConfig? = nil) -> Optimizer {
        let c = config ?? self.config
        switch c.optimizer {
        case "adamw": return AdamW(model.namedParameters(), learningRate: c.lr, weightDecay: c.weightDecay)
        default: return SGD(model.namedParameters(), learningRate: c.lr, momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov)
        }
    }

    /// A trainer of `model` on `train` (default: the run's training set) with the given callbacks.
    public func makeTrainer(model: Module, callbacks: [TrainerCallback] = [], config: RunConfig? = nil,
                            train: Dataset? = nil, test: Dataset?? = nil, optimizer: Optimizer? = nil,
                            label: String? = nil) -> Trainer {
        let c = config ?? self.config
        return Trainer(context: self, config: c, model: model, optimizer: optimizer ?? makeOptimizer(for: model, config: c),
                       train: train ?? data.train, test: test ?? data.test, callbacks: callbacks, label: label ?? self.label)
    }

    public func log(_ message: String) {
        progress?.report(.object([("event", "message"), ("message", .string(message))]))
    }
}
