import CTrainingLab
import Foundation

/// The one training loop (see `TrainingEvent` for the loop as pseudocode and the event order). Every run
/// trains through it: the host's supervised runs, SCoRe's representation stage, the linear probe, the
/// teachers and client copies methods train inside a run. What differs between them is the objective
/// (`TrainingObjective`), the loader (views, augmentation) and the non-finite policy; batches, schedule,
/// events, metrics.jsonl, progress, checkpoints, `--stop-after`/`--resume` and cost accounting are here once.
///
/// A loop with a `stage` records: it appends its epochs to the run's metrics.jsonl, writes its checkpoint
/// after every epoch (`MethodContext.checkpointURL(stage:)`), continues from it when the run resumes, and
/// counts its epochs against the run's `--stop-after` budget. A loop without one (stage nil) only trains.
public final class Trainer {
    public let loop: LoopState
    /// Where the batches come from; its dataset is the loop's training set.
    public let loader: DataLoader
    public let test: Dataset?
    public private(set) var callbacks: [TrainerCallback]
    /// What a step computes; supervised cross-entropy unless a loop-owning method sets its own.
    public var objective: TrainingObjective
    public var nonFiniteLoss: NonFiniteLossPolicy = .stop
    /// Applied in order to the optimiser's parameters' gradients after the afterBackward event (clipping,
    /// control-variate corrections).
    public var gradientTransforms: [GradientTransform] = []
    /// Reduce-on-plateau on a key of the epoch's metrics line (e.g. a validation accuracy a method adds in
    /// `evaluate`): its multiplier scales the scheduled learning rate from the next epoch on.
    public var plateau: (controller: ReduceOnPlateau, metric: String)?
    /// Whether some callback replaces the per-sample loss (then the objective's criterion is not called).
    public var callbacksProvideLoss = false
    /// Metrics lines of this loop's epochs so far.
    public internal(set) var history: [JSONValue] = []
    /// The last evaluation on the test set by the run's `Evaluator` (the final epoch's, after `fit`).
    public private(set) var lastReport: EvaluationReport?
    /// Test metrics of the last evaluation (with many/medium/few accuracy when the training set is long-tailed).
    public var lastEvaluation: ClassificationMetrics? { lastReport?.test }
    /// Evaluated with the test set when it is the run's own (out-of-distribution AUROC).
    let outOfDistribution: Dataset?
    let label: String
    /// The data-parallel replicas this loop trains with (nil: it trains alone). The loop then takes its shard of
    /// every batch and, right after backward, sums the replicas' gradients weighted by their shares of the batch;
    /// epoch figures and sample passes are summed over the replicas; only replica 0 evaluates.
    public let replicas: ReplicaGroup?

    init(context: MethodContext, config: RunConfig, model: Module, optimizer: Optimizer, loader: DataLoader, test: Dataset?,
         outOfDistribution: Dataset?, callbacks: [TrainerCallback], label: String, stage: String?, objective: TrainingObjective?,
         replicas: ReplicaGroup? = nil) {
        loop = LoopState(config: config, context: context, model: model, optimizer: optimizer, stage: stage)
        var loader = loader
        loader.shard = replicas.map { DataShard(replica: $0.rank, replicas: $0.count) }
        self.replicas = replicas
        self.loader = loader
        self.test = test
        self.outOfDistribution = outOfDistribution
        self.callbacks = callbacks
        self.label = stage.map { $0.isEmpty ? label : "\(label) \($0)" } ?? label
        self.objective = objective ?? ClassificationObjective(labelSmoothing: config.labelSmoothing)
    }

    /// The loop's training set (the loader's).
    public var train: Dataset { loader.dataset }

    public var context: MethodContext { loop.context }

    private func each(_ event: TrainingEvent, _ body: (TrainerCallback) throws -> Void) rethrows {
        for callback in event.runsInReverse ? callbacks.reversed() : callbacks { try body(callback) }
    }

    /// Keys the callbacks added to the report at fitEnd.
    public private(set) var fitReport: JSONValue = .object([])

    /// Trains for the configured epochs and returns the final test metrics (nil without a test set).
    /// A recording loop of a resumed run first restores its checkpoint (after fitStart) and continues with
    /// the epoch after it; when the run's `--stop-after` budget ends with epochs left, it throws `RunStopped`.
    @discardableResult
    public func fit() throws -> ClassificationMetrics? {
        let config = loop.config
        let schedule = try LearningRateSchedule(parsing: config.schedule)
        let checkpoint = loop.stage.flatMap(context.checkpointURL(stage:))
        try each(.fitStart) { try $0.fitStart(loop) }
        if let checkpoint, context.resume, FileManager.default.fileExists(atPath: checkpoint.path) {
            try loadCheckpoint(from: checkpoint)
            context.epochsCompleted += loop.epoch
        }
        for epoch in loop.epoch..<config.epochs {
            try runEpoch(epoch, schedule: schedule)
            if let checkpoint { try saveCheckpoint(to: checkpoint) }
            if loop.stage != nil {
                context.epochsCompleted += 1
                if let stop = context.stopAfterEpochs, context.epochsCompleted >= stop, loop.epoch < config.epochs {
                    throw RunStopped(epochsCompleted: context.epochsCompleted)
                }
            }
        }
        var report: JSONValue = .object([])
        try each(.fitEnd) { try $0.fitEnd(loop, report: &report) }
        fitReport = report
        return lastEvaluation
    }

    private func runEpoch(_ epoch: Int, schedule: LearningRateSchedule) throws {
        let config = loop.config
        loop.epoch = epoch
        loop.epochMetrics = .object([])
        let started = Stopwatch()
        var order = loader.sampler.indices(epoch: epoch, count: train.count)
        try each(.epochStart) { try $0.epochStart(loop, order: &order) }
        if let bad = order.first(where: { $0 < 0 || $0 >= train.count }) {
            throw TrainingError("epoch \(epoch): the sample order contains \(bad), outside 0..<\(train.count)")
        }
        var epochBatches = try loader.epoch(epoch, order: order)
        let batches = epochBatches.batchCount
        // Per-sample losses average over samples; batch-level losses (set losses) over steps.
        var lossSum = 0.0, lossWeight = 0.0, correct = 0, scored = 0, seen = 0
        let nonfiniteBefore = loop.nonfiniteSteps, passesBefore = loop.samplePasses
        var b = 0
        while let batch = try epochBatches.next() {
            defer { b += 1 }
            loop.progress = (Double(epoch) + Double(b) / Double(batches)) / Double(config.epochs)
            let step = StepState(epoch: epoch, batchIndex: b, batchCount: batches, globalStep: loop.globalStep, batch: batch)
            let loss = try self.step(step, schedule: schedule, share: Float(batch.count) / Float(epochBatches.lastBatchTotal))
            seen += batch.count
            if let loss {
                let weight = step.perSampleLoss != nil ? Double(batch.count) : 1
                lossSum += loss * weight
                lossWeight += weight
                if let logits = step.logits {
                    correct += Trainer.correctCount(logits: logits, labels: step.labels)
                    scored += batch.count
                }
            }
            if loop.stage != nil, replicas == nil, context.stopRequest.isRequested {
                throw RunStopped(epochsCompleted: context.epochsCompleted, cause: .interrupt, partialEpoch: (epoch, b + 1, batches))
            }
            if b % 10 == 0 || b == batches - 1 {
                context.progress?.report(.object([("event", "batch"), ("label", .string(label)), ("epoch", .number(Double(epoch))),
                                                  ("batch", .number(Double(b + 1))), ("batches", .number(Double(batches))),
                                                  ("loss", .number(loss ?? .nan))]))
            }
        }
        if let replicas {
            // The epoch's figures over whole batches, and the other replicas' passes in this loop's and the run's cost.
            let mine = loop.samplePasses - passesBefore
            let totals = try replicas.sum([lossSum, lossWeight, Double(correct), Double(scored), Double(seen), Double(mine)])
            (lossSum, lossWeight, correct, scored, seen) = (totals[0], totals[1], Int(totals[2]), Int(totals[3]), Int(totals[4]))
            loop.count(samplePasses: Int(totals[5]) - mine)
        }
        loop.progress = Double(epoch + 1) / Double(config.epochs)
        try each(.epochEnd) { try $0.epochEnd(loop, epoch: epoch) }

        var metrics: JSONValue = .object([])
        if let stage = loop.stage, !stage.isEmpty { metrics.set("stage", .string(stage)) }
        metrics.set("epoch", .number(Double(epoch)))
        metrics.set("epochs", .number(Double(config.epochs)))
        metrics.set("lr", .number(config.lr * schedule.multiplier(at: Double(epoch) / Double(config.epochs)) * (plateau?.controller.multiplier ?? 1)))
        metrics.set("samples", .number(Double(seen)))
        metrics.set("sample_passes", .number(Double(context.cost.samplePasses)))
        metrics.set("train_loss", .number(lossWeight > 0 ? lossSum / lossWeight : .nan))
        if scored > 0 || objective is ClassificationObjective {
            metrics.set("train_accuracy", .number(scored > 0 ? Double(correct) / Double(scored) : .nan))
        }
        if nonFiniteLoss == .skipStep { metrics.set("nonfinite_steps", .number(Double(loop.nonfiniteSteps - nonfiniteBefore))) }
        for (key, value) in loop.epochMetrics.objectValue ?? [] { metrics.set(key, value) }
        if let test, (replicas?.rank ?? 0) == 0, (epoch + 1) % config.evalEvery == 0 || epoch == config.epochs - 1 {
            var evaluator = context.evaluator
            evaluator.normalization = config.inputNormalization
            let report = try evaluator.evaluate([loop.model], on: test, outOfDistribution: outOfDistribution)
            lastReport = report
            metrics.set("test_accuracy", .number(report.test.accuracy))
            metrics.set("test_nll", .number(report.test.nll))
            if let groups = report.groups { metrics.set("test_macro_std", .number(groups.macroStd)) }
            if let auroc = report.outOfDistributionAUROC { metrics.set("test_ood_auroc", .number(auroc)) }
        }
        try each(.evaluate) { try $0.evaluate(loop, metrics: &metrics) }
        if let (controller, key) = plateau {
            guard let value = metrics[key]?.doubleValue else {
                throw TrainingError("reduce-on-plateau watches '\(key)', which epoch \(epoch)'s metrics do not have (keys: \((metrics.objectValue ?? []).map(\.0).joined(separator: ", ")))")
            }
            metrics.set("lr_multiplier", .number(controller.update(value)))
        }
        metrics.set("seconds", .number(started.seconds))
        metrics.set("label", .string(label))
        history.append(metrics)
        if loop.stage != nil { try context.metrics.append(metrics) }
        loop.epoch = epoch + 1
    }

    /// One optimisation step on a batch holding `share` of the whole batch (1 without replicas); returns the mean
    /// per-sample loss (the whole loss without per-sample terms), or nil when the loss was not finite and the step
    /// was skipped.
    private func step(_ step: StepState, schedule: LearningRateSchedule, share: Float) throws -> Double? {
        try each(.batchStart) { try $0.batchStart(loop, step) }
        // After batchStart: an attack there may have left parameter gradients behind.
        loop.optimizer.zeroGrad()
        loop.model.train()
        (_, step.outputs) = try ForwardCapture.run { try objective.forward(step, loop) }
        try each(.afterForward) { try $0.afterForward(loop, step) }
        if !callbacksProvideLoss { try objective.criterion(step, loop) }
        try each(.loss) { try $0.loss(loop, step) }
        guard step.perSampleLoss != nil || step.batchLoss != nil else {
            throw TrainingError("epoch \(step.epoch) batch \(step.batchIndex): no loss (a method claims the loss but did not set it)")
        }
        var total = try step.perSampleLoss.map { try weightedMean($0, weights: step.sampleWeights) }
        if let batchLoss = step.batchLoss { total = try total.map { try $0 + batchLoss } ?? batchLoss }
        for (_, term) in step.extraTerms { total = try total! + term }
        let value = try total!.item()
        loop.count(samplePasses: step.views.count * step.batchSize + step.accumulatedPasses)
        guard value.isFinite else {
            // Replicas cannot skip a step alone: the others would wait for its gradient.
            if nonFiniteLoss == .skipStep, replicas == nil {
                loop.nonfiniteSteps += 1
                loop.optimizer.zeroGrad()
                return nil
            }
            let terms = step.extraTerms.map { "\($0.0) = \((try? $0.1.item()) ?? .nan)" }.joined(separator: ", ")
            throw TrainingError("non-finite loss \(value) at epoch \(step.epoch), batch \(step.batchIndex) (step \(loop.globalStep))\(terms.isEmpty ? "" : "; terms: \(terms)"); lower the learning rate or check the data")
        }
        step.loss = total
        try total!.backward()
        if let replicas { try synchronizeGradients(replicas, share: share) }
        try each(.afterBackward) { try $0.afterBackward(loop, step) }
        for transform in gradientTransforms { try transform.apply(to: loop.optimizer.parameters) }
        try each(.beforeStep) { try $0.beforeStep(loop, step) }
        loop.optimizer.learningRate = step.learningRate
            ?? loop.config.lr * schedule.multiplier(at: loop.progress) * (plateau?.controller.multiplier ?? 1)
        if !step.skipUpdate { try loop.optimizer.step() }
        try each(.afterStep) { try $0.afterStep(loop, step) }
        loop.globalStep += 1
        return Double(try (step.perSampleLoss?.mean() ?? total!).item())
    }

    /// Every gradient becomes sum_p share_p * g_p over the replicas (g_p: replica p's gradient of its shard's mean
    /// loss, share_p: its fraction of the batch), the gradient of the whole batch's mean loss.
    private func synchronizeGradients(_ replicas: ReplicaGroup, share: Float) throws {
        let named = loop.optimizer.parameters.compactMap { name, p in p.grad.map { (name, $0) } }
        let flat = try ParameterVector(from: named)
        try flat.scale(by: share)
        try replicas.sum(flat.values)
        try flat.write(to: named)
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
