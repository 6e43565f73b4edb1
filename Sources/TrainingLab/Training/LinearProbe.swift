import Foundation

/// The linear-evaluation protocol of representation learning: a linear classifier trained with
/// cross-entropy on fixed features (a frozen encoder's outputs, extracted once), by mini-batch SGD with
/// momentum over a seeded shuffle and a schedule over the probe's progress. The defaults follow the
/// SupCon / SCoRe stage 2 (lr 0.1, momentum 0.9, no weight decay, x0.2 at 60/75/90 % of the epochs).
public struct LinearProbe {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var schedule: LearningRateSchedule

    public init(epochs: Int = 30, batchSize: Int = 256, learningRate: Double = 0.1, momentum: Double = 0.9, weightDecay: Double = 0,
                schedule: LearningRateSchedule = LearningRateSchedule(.step(milestones: [0.6, 0.75, 0.9], gamma: 0.2))) {
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

    /// Trains a fresh Linear(D, classes), initialised from `seed`, on features (N, D) with labels (N).
    public func fit(features: Tensor, labels: [Int32], classes: Int, seed: UInt64,
                    onEpoch: ((Epoch) throws -> Void)? = nil) throws -> Result {
        guard features.rank == 2, features.shape[0] == labels.count, labels.count > 0 else {
            throw TensorError("LinearProbe: features \(features.shape) do not match \(labels.count) labels")
        }
        guard epochs > 0, batchSize > 0, classes > 1 else {
            throw ConfigError("LinearProbe: needs epochs > 0, batch size > 0 and classes > 1, got \(epochs), \(batchSize), \(classes)")
        }
        if let bad = labels.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw TensorError("LinearProbe: label \(bad) outside 0..<\(classes)")
        }
        let generator = SeededGenerator(seed: seed)
        let classifier = ParameterInit.withSeed(generator.split("init").seed) { Linear(features.shape[1], classes) }
        let optimizer = SGD(classifier.namedParameters(), learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        let sampler = ShuffleSampler(seed: generator.split("order").seed)
        let detached = features.detached()
        let n = labels.count, batches = (n + batchSize - 1) / batchSize
        var records: [Epoch] = []
        for epoch in 0..<epochs {
            let order = sampler.indices(epoch: epoch, count: n)
            var lossSum = 0.0, correct = 0, seen = 0, nonfinite = 0
            for b in 0..<batches {
                let rows = Array(order[(b * batchSize)..<min((b + 1) * batchSize, n)])
                let batchLabels = rows.map { labels[$0] }
                let x = try withoutGradients { try detached.gatheringRows(rows) }
                let logits = try classifier(x)
                let loss = try crossEntropy(logits, labels: batchLabels).mean()
                let value = Double(try loss.item())
                optimizer.zeroGrad()
                guard value.isFinite else { nonfinite += 1; continue }
                try loss.backward()
                optimizer.learningRate = learningRate * schedule.multiplier(at: (Double(epoch) + Double(b) / Double(batches)) / Double(epochs))
                try optimizer.step()
                lossSum += value * Double(rows.count)
                correct += Trainer.correctCount(logits: logits, labels: batchLabels)
                seen += rows.count
            }
            let record = Epoch(epoch: epoch, loss: seen > 0 ? lossSum / Double(seen) : .nan,
                               accuracy: seen > 0 ? Double(correct) / Double(seen) : .nan, nonfiniteSteps: nonfinite,
                               learningRate: optimizer.learningRate)
            records.append(record)
            try onEpoch?(record)
        }
        return Result(classifier: classifier, epochs: records)
    }
}
