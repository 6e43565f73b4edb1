extension Module {
    /// Runs `body` with gradient tracking off for every parameter, so backward passes inside it reach the
    /// inputs only: no parameter gradient accumulates and the weight-gradient kernels are skipped.
    /// Parameters a caller had frozen already stay frozen afterwards.
    public func withFrozenParameters<T>(_ body: () throws -> T) rethrows -> T {
        let trainable = parameters()
        for p in trainable { p.requiresGrad = false }
        defer { for p in trainable { p.requiresGrad = true } }
        return try body()
    }
}

/// The objective's per-sample values at `x` and the gradient of their sum with respect to `x`, the model's
/// parameters untouched. In evaluation mode samples do not interact, so row i of the gradient is the
/// gradient of sample i's own value. Works inside `withoutGradients` too (attacks during evaluation).
public func inputGradient(of model: Module, at x: Tensor, objective: AttackObjective) throws
    -> (logits: Tensor, values: Tensor, gradient: Tensor) {
    let leaf = x.detached()
    leaf.requiresGrad = true
    let previous = GradMode.isEnabled
    GradMode.isEnabled = true
    defer { GradMode.isEnabled = previous }
    return try model.withFrozenParameters {
        let logits = try model(leaf)
        let values = try objective(logits)
        guard values.rank == 1, values.count == x.shape[0] else {
            throw TensorError("inputGradient: objective \(objective.name) gave \(values.shape), expected one value per sample (\(x.shape[0]))")
        }
        try values.sum().backward()
        guard let gradient = leaf.grad else { throw TensorError("inputGradient: the model's output does not depend on its input") }
        return (logits.detached(), values.detached(), gradient)
    }
}
