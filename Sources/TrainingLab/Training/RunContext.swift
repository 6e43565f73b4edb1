import Foundation

/// What a run provides to the methods in it: configuration, the method's options, the data, and the
/// building blocks to make models, optimisers and trainers of their own (teachers, clients, probes),
/// all seeded from the run's seed.
public final class RunContext {
    public let config: RunConfig
    public let options: MethodOptions
    public let data: LoadedDataset
    /// Where config.json, metrics.jsonl, report.json and model.safetensors go (nil: nowhere).
    public let outputDirectory: URL?
    public let progress: ProgressSink?
    /// Prefix of progress lines (method and seed).
    public var label: String

    public init(config: RunConfig, options: MethodOptions, data: LoadedDataset, outputDirectory: URL? = nil,
                progress: ProgressSink? = nil, label: String = "") {
        self.config = config
        self.options = options
        self.data = data
        self.outputDirectory = outputDirectory
        self.progress = progress
        self.label = label
    }

    /// A seed derived from the run's seed and a purpose ("init", "data", "teacher" ...).
    public func seed(_ purpose: String) -> UInt64 {
        SeededGenerator(seed: UInt64(config.seed)).split(purpose).seed
    }

    /// A fresh model of the configuration (or `name`) for the training data's shape and classes.
    public func makeModel(_ name: String? = nil, purpose: String = "init") throws -> Module {
        let shape = data.train.sampleShape
        return try ModelZoo.make(name ?? config.model, channels: shape[0], height: shape[1], width: shape[2],
                                 classes: data.classCount, seed: seed(purpose))
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
                            train: ImageDataset? = nil, test: ImageDataset?? = nil, optimizer: Optimizer? = nil,
                            label: String? = nil) -> Trainer {
        let c = config ?? self.config
        return Trainer(context: self, config: c, model: model, optimizer: optimizer ?? makeOptimizer(for: model, config: c),
                       train: train ?? data.train, test: test ?? data.test, callbacks: callbacks, label: label ?? self.label)
    }

    public func log(_ message: String) {
        progress?.report(.object([("event", "message"), ("message", .string(message))]))
    }
}
