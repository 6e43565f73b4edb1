import CTrainingLab

/// Sharpness-aware minimisation (Foret et al., ICLR 2021) as a callback of the training loop: after the
/// loop's backward at the weights y, the gradient g gives the ascent step e = rho * g / (||g|| + 1e-12) (L2
/// norm over all parameters together); the callback moves the weights to y + e, recomputes the gradient of
/// the same mini-batch's cross-entropy there, and restores y exactly, so the optimiser steps from y with the
/// gradient taken at y + e. One extra forward/backward per step, counted in the run's cost. Written for the
/// supervised objective (the loop's default).
public final class SharpnessAwareStep: TrainerCallback {
    public let radius: Double

    public init(radius: Double) throws {
        guard radius >= 0, radius.isFinite else { throw TrainingError("SAM: the radius rho must be finite and >= 0, got \(radius)") }
        self.radius = radius
    }

    /// rho / (||g|| + 1e-12) and ||g|| for the gradients `gradients` (the norm summed in double).
    public static func ascentScale(gradients: [Tensor], radius: Double) throws -> (scale: Float, norm: Double) {
        var total = 0.0
        for g in gradients {
            var part = 0.0
            try tlCheck(tl_dot(&part, g.pointer, g.pointer, g.count))
            total += part
        }
        let norm = total.squareRoot()
        return (Float(radius / (norm + 1e-12)), norm)
    }

    public func afterBackward(_ loop: LoopState, _ step: StepState) throws {
        let parameters = loop.optimizer.parameters.map(\.1).filter { $0.grad != nil }
        let (scale, _) = try SharpnessAwareStep.ascentScale(gradients: parameters.map { $0.grad! }, radius: radius)
        let saved = parameters.map { $0.copy() }
        for p in parameters { try tlCheck(tl_axpy(p.pointer, p.grad!.pointer, p.count, scale)) }
        loop.optimizer.zeroGrad()
        let loss = try crossEntropy(try loop.model(step.inputs), labels: step.labels, labelSmoothing: Float(loop.config.labelSmoothing)).mean()
        let value = try loss.item()
        guard value.isFinite else {
            throw TrainingError("SAM: non-finite loss \(value) at the perturbed weights (epoch \(step.epoch), batch \(step.batchIndex))")
        }
        loop.count(samplePasses: step.batchSize)
        try loss.backward()
        for (p, y) in zip(parameters, saved) { try p.assign(y) }
    }
}
