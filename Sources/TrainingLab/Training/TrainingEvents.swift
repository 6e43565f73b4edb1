/// The trainer's events, in the order the loop raises them. This is the one place the loop is written
/// down; `Trainer.fit` implements exactly this:
///
///     fitStart
///     for epoch in 0 ..< epochs:
///         order = sampler(epoch)                      // seeded shuffle of all training samples
///         epochStart(&order)                          // may replace the order (prune, reorder, subset)
///         for batch in order, batchSize at a time:
///             step = StepState(inputs: augment(batch), labels, indices)
///             batchStart(step)                        // may replace inputs (adversarial), labels
///             step.logits = model(step.inputs)        // training mode
///             afterForward(step)
///             step.perSampleLoss = criterion(step)    // per-sample CE (label smoothing), unless a method claims .loss
///             loss(step)                              // reweight (sampleWeights), replace, add extraTerms
///             step.loss = sum(w * l) / B + sum(extraTerms)
///             check finite, backward(step.loss)
///             afterBackward(step)                     // gradients: transform, clip, correct
///             beforeStep(step)
///             optimizer.step(lr = base * schedule(progress))   // unless step.skipUpdate
///             afterStep(step)                         // projections, masks, score updates
///         epochEnd(epoch)
///         evaluate(&metrics)                          // test-set metrics of this epoch; methods add theirs
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
