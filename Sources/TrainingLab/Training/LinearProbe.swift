import Foundation

/// The linear-evaluation protocol of representation learning: a linear classifier trained with
/// cross-entropy on fixed features (a frozen encoder's outputs, extracted once), by mini-batch SGD with
/// momentum over a seeded shuffle and a schedule over the probe's progress, on the one training loop. The defaults follow the
/// SupCon / SCoRe stage 2 (lr 0.1, momentum 0.9, no weight decay, x0.2 at 60/75/90 % of the epochs).
public struct LinearProbe {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    /// A schedule SPEC over the probe's progress (`LearningRateSchedule`).
    public var schedule: String

    public init(epochs: Int = 30, batchSize: Int = 256, learningRate: Double = 0.1, momentum: Double = 0.9, weightDecay: Double = 0,
                schedule: String = "step:0.6,0.75,0.9:0.2") {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.schedule = schedule
    }

    /// One finished epoch: mean training loss and accuracy over its finite steps, and how many steps had a
    /// non-finite loss (those are skipped, not applied).
    public struct Epoch {
        public var epoch: Int
        public var loss: Double
        public var accuracy: Double
        public var nonfiniteSteps: Int
        public var learningRate: Double
    }

    /// The trained classifier (D -> classes) and the epochs' records.
    public struct Result {
        public var classifier: Linear
        public var epochs: [Epoch]
        public var nonfiniteSteps: Int { epochs.reduce(0) { $0 + $1.nonfiniteSteps } }
    }

    /// Trains a fresh Linear(D, classes), initialised from `seed`, on features (N, D) with labels (N), on the
    /// run's training loop: the features become a float-valued dataset that the loader batches in a seeded
    /// order. With a `context` and a `stage`, the probe records like any stage of the run (metrics.jsonl
    /// lines, checkpoint, resume, `--stop-after`); without a context it trains on its own.
    public func fit(features: Tensor, labels: [Int32], classes: Int, seed: UInt64, context: MethodContext? = nil,
                    stage: String? = nil) throws -> Result {
        guard features.rank == 2, features.shape[0] == labels.count, labels.count > 0 else {
            throw TensorError("LinearProbe: features \(features.shape) do not match \(labels.count) labels")
        }
        guard epochs > 0, batchSize > 0, classes > 1 else {
            throw ConfigError("LinearProbe: needs epochs > 0, batch size > 0 and classes > 1, got \(epochs), \(batchSize), \(classes)")
        }
        if let bad = labels.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw TensorError("LinearProbe: label \(bad) outside 0..<\(classes)")
        }
        let data = try Dataset(name: "probe features", sampleShape: [features.shape[1]], values: features.scalars, labels: labels,
                               classCount: classes)
        let generator = SeededGenerator(seed: seed)
        let classifier = ParameterInit.withSeed(generator.split("init").seed) { Linear(features.shape[1], classes) }
        var config = RunConfig()
        (config.epochs, config.batchSize, config.lr, config.momentum, config.weightDecay) = (epochs, batchSize, learningRate, momentum, weightDecay)
        (config.optimizer, config.nesterov, config.schedule, config.labelSmoothing) = ("sgd", false, schedule, 0)
        let host = try context ?? MethodContext(config: config, options: OptionValues(specs: [], owner: "linear probe"),
                                                data: LoadedDataset(spec: DatasetSpec(), train: data, test: data))
        let loader = DataLoader(dataset: data, batchSize: batchSize, sampler: ShuffleSampler(seed: generator.split("order").seed),
                                augmentation: Augmentation(normalization: .none))
        let trainer = host.makeTrainer(model: classifier, config: config, test: .some(nil), label: "\(host.label) probe",
                                       stage: context == nil ? nil : stage, loader: loader)
        trainer.nonFiniteLoss = .skipStep
        try trainer.fit()
        let records = trainer.history.map { line in
            Epoch(epoch: Int(line["epoch"]?.doubleValue ?? 0), loss: line["train_loss"]?.doubleValue ?? .nan,
                  accuracy: line["train_accuracy"]?.doubleValue ?? .nan, nonfiniteSteps: Int(line["nonfinite_steps"]?.doubleValue ?? 0),
                  learningRate: line["lr"]?.doubleValue ?? .nan)
        }
        return Result(classifier: classifier, epochs: records)
    }
}
