/// The training loop's events, in the order the loop raises them. This is the one place the loop is
/// written down; `Trainer.fit` implements exactly this, for every run and every stage of a method:
///
///     fitStart
///     restore the checkpoint if the run resumes (recording loops)
///     for epoch in next epoch ..< epochs:
///         order = sampler(epoch)                      // seeded shuffle of all training samples
///         epochStart(&order)                          // may replace the order (prune, reorder, subset)
///         for batch in loader.epoch(epoch, order):    // views, labels, indices; with replicas: this replica's part
///             step = StepState(batch)
///             batchStart(step)                        // may replace inputs (adversarial), labels
///             zero the gradients
///             objective.forward(step)                 // training mode, inside ForwardCapture: logits, step.outputs
///             afterForward(step)
///             objective.criterion(step)               // per-sample CE by default; skipped if a method claims .loss
///             loss(step)                              // reweight (sampleWeights), replace, add extraTerms
///             step.loss = sum(w * l) / B + batchLoss + sum(extraTerms)
///             count sample passes; non-finite: stop the run, or skip the step (NonFiniteLossPolicy)
///             backward(step.loss)                     // adds to gradients step.accumulateGradients left
///             with replicas: g = sum over replicas of (their share of the batch) * g, in rank order (ReplicaGroup)
///             afterBackward(step)                     // gradients: transform, clip, correct
///             gradientTransforms (in order)           // GlobalNormClip, ControlVariateCorrection ...
///             beforeStep(step)                        // may set step.learningRate
///             optimizer.step(lr = step.learningRate ?? base * schedule(progress) * plateau multiplier)   // unless step.skipUpdate
///             afterStep(step)                         // projections, masks, score updates, EMA
///         with replicas: sum the epoch's loss, accuracy counts and passes over the replicas
///         epochEnd(epoch)
///         metrics = epoch line; test-set metrics on evaluation epochs (replica 0 only)
///         evaluate(&metrics)                          // methods add theirs
///         plateau.update(metrics[key])                // reduce-on-plateau, if set
///         append to metrics.jsonl, checkpoint, stop if the run's --stop-after budget is used (recording loops)
///     fitEnd(&report)
///
/// "After" events (afterForward, afterBackward, afterStep, epochEnd, fitEnd) run in reverse
/// registration order, so a method registered first wraps the others, as nested hooks would.
public enum TrainingEvent: String, CaseIterable, Sendable {
    case fitStart, epochStart, batchStart, afterForward, loss, afterBackward, beforeStep, afterStep, epochEnd, evaluate, fitEnd

    /// Events that run in reverse registration order.
    public var runsInReverse: Bool {
        switch self {
        case .afterForward, .afterBackward, .afterStep, .epochEnd, .fitEnd: return true
        default: return false
        }
    }
}

/// Reactions to the trainer's events. Every requirement has an empty default, so a method implements
/// only the events it uses (and lists them in its descriptor).
public protocol TrainerCallback: AnyObject {
    func fitStart(_ loop: LoopState) throws
    func epochStart(_ loop: LoopState, order: inout [Int]) throws
    func batchStart(_ loop: LoopState, _ step: StepState) throws
    func afterForward(_ loop: LoopState, _ step: StepState) throws
    func loss(_ loop: LoopState, _ step: StepState) throws
    func afterBackward(_ loop: LoopState, _ step: StepState) throws
    func beforeStep(_ loop: LoopState, _ step: StepState) throws
    func afterStep(_ loop: LoopState, _ step: StepState) throws
    func epochEnd(_ loop: LoopState, epoch: Int) throws
    func evaluate(_ loop: LoopState, metrics: inout JSONValue) throws
    func fitEnd(_ loop: LoopState, report: inout JSONValue) throws
}

public extension TrainerCallback {
    func fitStart(_ loop: LoopState) throws {}
    func epochStart(_ loop: LoopState, order: inout [Int]) throws {}
    func batchStart(_ loop: LoopState, _ step: StepState) throws {}
    func afterForward(_ loop: LoopState, _ step: StepState) throws {}
    func loss(_ loop: LoopState, _ step: StepState) throws {}
    func afterBackward(_ loop: LoopState, _ step: StepState) throws {}
    func beforeStep(_ loop: LoopState, _ step: StepState) throws {}
    func afterStep(_ loop: LoopState, _ step: StepState) throws {}
    func epochEnd(_ loop: LoopState, epoch: Int) throws {}
    func evaluate(_ loop: LoopState, metrics: inout JSONValue) throws {}
    func fitEnd(_ loop: LoopState, report: inout JSONValue) throws {}
}
