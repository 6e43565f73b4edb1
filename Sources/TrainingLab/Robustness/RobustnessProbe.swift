/// Clean and robust accuracy of a model that takes pixels in [0, 1] (a run with normalize=false), on the
/// first `count` samples of a dataset, in batches. Randomness (attack starts) depends only on the seed
/// and the batch, so a probe gives the same figures on every run.
public struct RobustnessProbe {
    public let dataset: Dataset
    public let count: Int
    public let seed: UInt64
    public var batchSize = 250

    public init(dataset: Dataset, count: Int, seed: UInt64) {
        self.dataset = dataset
        self.count = min(max(count, 0), dataset.count)
        self.seed = seed
    }

    /// Fraction (0-1) of the samples the model classifies correctly under the attack (clean inputs: nil).
    public func accuracy(of model: Module, attack: PGDAttack?, loss: ClassificationAttackLoss = .crossEntropy(temperature: 1)) throws -> Double {
        try fraction { x, labels, batchSeed in
            guard let attack else { return try correct(model, x, labels) }
            return try attack.evaluate(model, x, labels: labels, loss: loss, seed: batchSeed).robust
        }
    }

    /// A transfer (black-box) attack: inputs crafted on `source` (the attack's final iterate, which
    /// maximises the source's loss), classified by `target`.
    public func transferAccuracy(of target: Module, from source: Module, attack: PGDAttack,
                                 loss: ClassificationAttackLoss = .crossEntropy(temperature: 1)) throws -> Double {
        try fraction { x, labels, batchSeed in
            let crafted = try attack.perturb(source, x, objective: loss.objective(labels: labels), seed: batchSeed)
            return try correct(target, crafted, labels)
        }
    }

    private func correct(_ model: Module, _ x: Tensor, _ labels: [Int32]) throws -> [Bool] {
        let logits = try model.inEvaluationMode { try withoutGradients { try model(x) } }
        return zip(try predictions(logits: logits.scalars, classes: logits.shape[1]), labels).map { $0 == $1 }
    }

    private func fraction(_ body: (Tensor, [Int32], UInt64) throws -> [Bool]) throws -> Double {
        guard count > 0 else { return .nan }
        var batches = try DataLoader.evaluation(dataset, batchSize: batchSize, normalization: .none).epoch(0, order: Array(0..<count))
        var hits = 0, b: UInt64 = 0
        while let batch = try batches.next() {
            hits += try body(batch.inputs, batch.labels, SeededGenerator(seed: seed).split(b).seed).filter { $0 }.count
            b += 1
        }
        return Double(hits) / Double(count)
    }
}
