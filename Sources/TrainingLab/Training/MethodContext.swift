import Foundation

/// What a run provides to the methods in it: configuration, the method's options, the data, the
/// building blocks to make models, optimisers and training loops of their own (teachers, clients,
/// probes, stages), all seeded from the run's seed, and the run's records that every recording loop
/// shares: metrics.jsonl, cost, checkpoints, and the `--stop-after` / `--resume` settings.
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
    /// The run's metrics.jsonl (every recording loop appends its epochs).
    public let metrics: MetricsLog
    /// The run's work so far (sample passes, FLOPs), whatever loop or pass did it.
    public let cost = RunCost()
    /// Recording loops continue from their checkpoints when set.
    public var resume = false
    /// Recording loops stop the run (`RunStopped`) once this many epochs of the run are done; nil: no limit.
    public var stopAfterEpochs: Int?
    /// Epochs the run's recording loops have completed (restored ones included).
    public internal(set) var epochsCompleted = 0
    /// Set from another thread to stop the run at the next step of a recording loop (`RunStopped`, cause interrupt).
    public var stopRequest = StopRequest()
    /// The run's resolved configuration (`RunPlan.configuration`): every checkpoint carries it, and a resumed run
    /// continues only from a checkpoint whose configuration matches (`ResumeCheck`). Defaults to the context's
    /// run options and method options.
    public var runConfiguration: JSONValue
    /// How the run evaluates models on its test set: the loops at evaluation epochs, the host on the final
    /// model (normalisation of the run, many/medium/few accuracy on long-tailed data, per-group accuracy where
    /// the test set has subgroups, the registered metrics the run asks for).
    public var evaluator: Evaluator
    /// Registered augmentations the run selected (`augment`), applied after crop and flip in training.
    public var augmentations: [BatchTransform] = []
    /// The data-parallel replicas of a run without clients under backend=mpi: its recording loops train on their
    /// shard of every batch with gradients summed over the replicas (`ReplicaGroup`); auxiliary loops train alone.
    public var replicas: ReplicaGroup?

    public init(config: RunConfig, options: OptionValues, data: LoadedDataset, outputDirectory: URL? = nil,
                progress: ProgressSink? = nil, label: String = "", models: ModelCatalog = .core) {
        self.config = config
        self.options = options
        self.data = data
        self.outputDirectory = outputDirectory
        self.progress = progress
        self.label = label
        self.models = models
        runConfiguration = .object([("config", config.json), ("options", .object([(options.owner, options.json)]))])
        metrics = MetricsLog(file: outputDirectory?.appendingPathComponent("metrics.jsonl"), progress: progress)
        evaluator = Evaluator(normalization: config.inputNormalization,
                              trainCounts: data.spec.imbalance != nil ? data.train.classCounts() : nil,
                              shotSplit: (try? ShotSplit(named: config.shotSplit)) ?? .standard)  // RunConfig accepts only named splits
    }

    /// Where the recording loop of `stage` keeps its checkpoint: checkpoint.safetensors for the main loop
    /// (""), checkpoint-STAGE.safetensors for a named stage; nil when the run writes no files.
    public func checkpointURL(stage: String) -> URL? {
        outputDirectory?.appendingPathComponent(stage.isEmpty ? "checkpoint.safetensors" : "checkpoint-\(stage).safetensors")
    }

    /// The training augmentation of a configuration (default: the run's): crop, flip, normalisation, then
    /// the selected registered augmentations.
    public func trainingAugmentation(_ config: RunConfig? = nil) -> Augmentation {
        let c = config ?? self.config
        return Augmentation(geometry: c.cropPadding > 0 ? .crop(padding: c.cropPadding) : .none,
                            flipProbability: c.flip ? 0.5 : 0, normalization: c.inputNormalization, transforms: augmentations)
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

    /// A training loop of `model` on `train` (default: the run's training set) with the given callbacks.
    /// `stage` makes it a recording loop ("" for the run's main loop, a name for a method's stage); without
    /// it the loop only trains (a teacher or client inside the run). `objective` replaces supervised
    /// cross-entropy; `loader` replaces the run's augmentation loader over `train` (its dataset is then the
    /// loop's training set).
    public func makeTrainer(model: Module, callbacks: [TrainerCallback] = [], config: RunConfig? = nil,
                            train: Dataset? = nil, test: Dataset?? = nil, optimizer: Optimizer? = nil,
                            label: String? = nil, stage: String? = nil, objective: TrainingObjective? = nil,
                            loader: DataLoader? = nil) -> Trainer {
        let c = config ?? self.config
        // The run's own test set brings its out-of-distribution set along; a test set a method chose does not.
        let outOfDistribution = test == nil ? data.evaluationSets[EvaluationSet.outOfDistribution] : nil
        let batches = loader ?? DataLoader(dataset: train ?? data.train, batchSize: c.batchSize, augmentation: trainingAugmentation(c),
                                           seed: SeededGenerator(seed: UInt64(c.seed)).split("data").seed)
        return Trainer(context: self, config: c, model: model, optimizer: optimizer ?? makeOptimizer(for: model, config: c),
                       loader: batches, test: test ?? data.test, outOfDistribution: outOfDistribution,
                       callbacks: callbacks, label: label ?? self.label, stage: stage, objective: objective,
                       replicas: stage == nil ? nil : replicas)
    }

    public func log(_ message: String) {
        progress?.report(.object([("event", "message"), ("message", .string(message))]))
    }
}
