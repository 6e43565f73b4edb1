/// What one optimisation step of the loop computes from a batch. The loop is the same for every method
/// (batches, events, schedule, non-finite policy, metrics, checkpoints, cost); the objective is the part
/// that differs: supervised classification (the default), a set loss over two views (SCoRe's stage 1),
/// a probe on fixed features, or anything a loop-owning method defines.
public protocol TrainingObjective: AnyObject {
    /// The forward pass in training mode: sets `step.logits` when there are class scores (the loop then
    /// counts accuracy) and whatever the criterion needs. It runs inside `ForwardCapture`: the loop puts
    /// the published intermediate outputs into `step.outputs`.
    func forward(_ step: StepState, _ loop: LoopState) throws
    /// The unreduced objective: `step.perSampleLoss` (B values, reduced with `sampleWeights`) or
    /// `step.batchLoss` (a scalar such as a set loss). Not called when a method claims the loss.
    func criterion(_ step: StepState, _ loop: LoopState) throws
}

/// Cross-entropy (with the run's label smoothing) of the loop's model on the step's inputs.
public final class ClassificationObjective: TrainingObjective {
    public let labelSmoothing: Float

    public init(labelSmoothing: Double = 0) { self.labelSmoothing = Float(labelSmoothing) }

    public func forward(_ step: StepState, _ loop: LoopState) throws {
        step.logits = try loop.model(step.inputs)
    }

    public func criterion(_ step: StepState, _ loop: LoopState) throws {
        guard let logits = step.logits else { throw TrainingError("classification objective: the forward pass set no logits") }
        step.perSampleLoss = try crossEntropy(logits, labels: step.labels, labelSmoothing: labelSmoothing)
    }
}

/// An objective from two closures, for loop-owning methods whose step is a few lines.
public final class ClosureObjective: TrainingObjective {
    private let forwardBody: (StepState, LoopState) throws -> Void
    private let criterionBody: (StepState, LoopState) throws -> Void

    /// `forward` may also set the loss (then `criterion` can be left empty).
    public init(forward: @escaping (StepState, LoopState) throws -> Void,
                criterion: @escaping (StepState, LoopState) throws -> Void = { _, _ in }) {
        forwardBody = forward
        criterionBody = criterion
    }

    public func forward(_ step: StepState, _ loop: LoopState) throws { try forwardBody(step, loop) }
    public func criterion(_ step: StepState, _ loop: LoopState) throws { try criterionBody(step, loop) }
}

/// What the loop does with a step whose loss is not finite.
public enum NonFiniteLossPolicy: Sendable {
    /// End the run with an error naming the epoch, batch and loss terms (supervised training).
    case stop
    /// Apply no update, count the step (`nonfinite_steps` in the epoch's metrics) and go on; for objectives
    /// whose report says whether every loss stayed finite (set losses, probes).
    case skipStep
}
