import CTrainingLab
import Foundation

/// The training loop of every run (see `TrainingEvent` for the loop as pseudocode and the event order).
public final class Trainer {
    public let loop: LoopState
    public let train: Dataset
    public let test: Dataset?
    public private(set) var callbacks: [TrainerCallback]
    /// Whether some callback replaces the per-sample loss (then the trainer computes none).
    public var callbacksProvideLoss = false
    /// Metrics lines of the epochs run so far.
    public internal(set) var history: [JSONValue] = []
    /// Where to write a checkpoint after every epoch (nil: none).
    public var checkpointURL: URL?
    /// Stop (after checkpointing) once this many epochs are done, to resume later; nil runs all epochs.
    public var stopAfterEpochs: Int?
    /// Test metrics of the last evaluation.
    public private(set) var lastEvaluation: ClassificationMetrics?
    /// Called with the history after each epoch (the run writes metrics.jsonl from it).
    public var onEpoch: (([JSONValue]) throws -> Void)?
    let loader: DataLoader
    let label: String

    init(context: MethodContext, config: RunConfig, model: Module, optimizer: Optimizer, train: Dataset, test: Dataset?,
         callbacks: [TrainerCallback], label: String) {
        loop = LoopState(config: config, context: context, model: model, optimizer: optimizer)
        self.train = train
        self.test = test
        self.callbacks = callbacks
        self.label = label
        let augmentation = Augmentation(geometry: config.cropPadding > 0 ? .crop(padding: config.cropPadding) : .none,
                                        flipProbability: config.flip ? 0.5 : 0, normalization: config.inputNormalization)
        let seed = SeededGenerator(seed: UInt64(config.seed)).split("data").seed
        loader = DataLoader(dataset: train, batchSize: config.batchSize, augmentation: augmentation, seed: seed)
    }

    private func each(_ event: TrainingEvent, _ body: (TrainerCallback) throws -> Void) rethrows {
        for callback in event.runsInReverse ? callbacks.reversed() : callbacks { try body(callback) }
    }

    /// Trains for the configured epochs and returns the final test metrics (nil without a test set).
    /// With `checkpoint`, the state saved there is restored after fitStart and training continues with
    /// the epoch after it.
    @discardableResult
    public func fit(resumingFrom checkpoint: URL? = nil) throws -> ClassificationMetrics? {
        let config = loop.config
        let schedule = try LearningRateSchedule(parsing: config.schedule)
        try each(.fitStart) { try $0.fitStart(loop) }
        if let checkpoint { try loadCheckpoint(from: checkpoint) }
        for epoch in loop.epoch..<config.epochs {
            loop.epoch = epoch
            loop.epochMetrics = .object([])
            let started = Stopwatch()
            var order = loader.sampler.indices(epoch: epoch, count: train.count)
            try each(.epochStart) { try $0.epochStart(loop, order: &order) }
            if let bad = order.first(where: { $0 < 0 || $0 >= train.count }) {
                throw TrainingError("epoch \(epoch): the sample order contains \(bad), outside 0..<\(train.count)")
            }
            let batches = loader.batchCount(samples: order.count)
            var lossSum = 0.0, correct = 0, seen = 0
            for b in 0..<batches {
                let indices = Array(order[(b * config.batchSize)..<min((b + 1) * config.batchSize, order.count)])
                loop.progress = (Double(epoch) + Double(b) / Double(batches)) / Double(config.epochs)
                let (loss, hits) = try step(indices: indices, epoch: epoch, batch: b, batches: batches, schedule: schedule)
                lossSum += loss * Double(indices.count)
                correct += hits
                seen += indices.count
                if b % 10 == 0 || b == batches - 1 {
                    context.progress?.report(.object([("event", "batch"), ("label", .string(label)), ("epoch", .number(Double(epoch))),
                                                      ("batch", .number(Double(b + 1))), ("batches", .number(Double(batches))),
                                                      ("loss", .number(loss))]))
                }
            }
            loop.progress = Double(epoch + 1) / Double(config.epochs)
            try each(.epochEnd) { try $0.epochEnd(loop, epoch: epoch) }

            var metrics: JSONValue = .object([
                ("epoch", .number(Double(epoch))), ("epochs", .number(Double(config.epochs))),
                ("lr", .number(config.lr * schedule.multiplier(at: Double(epoch) / Double(config.epochs)))),
                ("samples", .number(Double(seen))), ("sample_passes", .number(Double(loop.samplePasses))),
                ("train_loss", .number(seen > 0 ? lossSum / Double(seen) : .nan)),
                ("train_accuracy", .number(seen > 0 ? Double(correct) / Double(seen) : .nan)),
            ])
            for (key, value) in loop.epochMetrics.objectValue ?? [] { metrics.set(key, value) }
            if let test, (epoch + 1) % config.evalEvery == 0 || epoch == config.epochs - 1 {
                let result = try Evaluation.metrics(of: loop.model, on: test, normalization: config.inputNormalization)
                lastEvaluation = result
                metrics.set("test_accuracy", .number(result.accuracy))
                metrics.set("test_nll", .number(result.nll))
            }
            try each(.evaluate) { try $0.evaluate(loop, metrics: &metrics) }
            metrics.set("seconds", .number(started.seconds))
            metrics.set("label", .string(label))
            history.append(metrics)
            context.progress?.report(metricsEvent(metrics))
            loop.epoch = epoch + 1
            try onEpoch?(history)
            if let checkpointURL { try saveCheckpoint(to: checkpointURL) }
            if let stop = stopAfterEpochs, loop.epoch >= stop, loop.epoch < config.epochs { return lastEvaluation }
        }
        var report: JSONValue = .object([])
        try each(.fitEnd) { try $0.fitEnd(loop, report: &report) }
        fitReport = report
        return lastEvaluation
    }

    /// Keys the callbacks added to the report at fitEnd.
    public private(set) var fitReport: JSONValue = .object([])

    public var context: MethodContext { loop.context }

    private func metricsEvent(_ metrics: JSONValue) -> JSONValue {
        var event: JSONValue = .object([("event", "epoch")])
        for (key, value) in metrics.objectValue ?? [] { event.set(key, value) }
        return event
    }

    /// One optimisation step on the samples at `indices`; returns the mean loss and the number of correct predictions.
    private func step(indices: [Int], epoch: Int, batch: Int, batches: Int, schedule: LearningRateSchedule) throws -> (Double, Int) {
        let inputs = Tensor(uninitializedShape: [indices.count] + loader.views[0].outputShape(for: train))
        try loader.fill(view: 0, indices: indices, epoch: epoch, into: inputs.pointer)
        let step = StepState(epoch: epoch, batchIndex: batch, batchCount: batches, globalStep: loop.globalStep,
                             inputs: inputs, labels: indices.map { train.labels[$0] }, indices: indices)
        try each(.batchStart) { try $0.batchStart(loop, step) }
        loop.model.train()
        let logits = try loop.model(step.inputs)
        step.logits = logits
        try each(.afterForward) { try $0.afterForward(loop, step) }
        if !callbacksProvideLoss {
            step.perSampleLoss = try crossEntropy(logits, labels: step.labels, labelSmoothing: Float(loop.config.labelSmoothing))
        }
        try each(.loss) { try $0.loss(loop, step) }
        guard let perSample = step.perSampleLoss else {
            throw TrainingError("epoch \(epoch) batch \(batch): no per-sample loss (a method claims the loss but did not set it)")
        }
        var total = try weightedMean(perSample, weights: step.sampleWeights)
        for (_, term) in step.extraTerms { total = try total + term }
        let value = try total.item()
        guard value.isFinite else {
            let terms = step.extraTerms.map { "\($0.0) = \((try? $0.1.item()) ?? .nan)" }.joined(separator: ", ")
            throw TrainingError("non-finite loss \(value) at epoch \(epoch), batch \(batch) (step \(loop.globalStep))\(terms.isEmpty ? "" : "; terms: \(terms)"); lower the learning rate or check the data")
        }
        step.loss = total
        loop.optimizer.zeroGrad()
        try total.backward()
        try each(.afterBackward) { try $0.afterBackward(loop, step) }
        try each(.beforeStep) { try $0.beforeStep(loop, step) }
        loop.optimizer.learningRate = loop.config.lr * schedule.multiplier(at: loop.progress)
        if !step.skipUpdate { try loop.optimizer.step() }
        try each(.afterStep) { try $0.afterStep(loop, step) }
        loop.globalStep += 1
        loop.samplePasses += indices.count
        return (Double(try perSample.mean().item()), Trainer.correctCount(logits: logits, labels: step.labels))
    }

    static func correctCount(logits: Tensor, labels: [Int32]) -> Int {
        guard logits.rank == 2, logits.shape[0] == labels.count else { return 0 }
        let c = logits.shape[1]
        var hits = 0
        for (row, label) in labels.enumerated() {
            var best = 0
            for k in 1..<c where logits.pointer[row * c + k] > logits.pointer[row * c + best] { best = k }
            if best == Int(label) { hits += 1 }
        }
        return hits
    }
}
