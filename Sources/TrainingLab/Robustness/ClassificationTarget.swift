/// The target of a classification loss: hard labels, or probability rows (soft labels of a teacher,
/// smoothed labels). One type lets an objective switch between CE and soft-target CE without a branch
/// at every call site.
public enum ClassificationTarget {
    /// (N) class indices.
    case labels([Int32])
    /// (N, C) rows of probabilities.
    case probabilities(Tensor)

    public var count: Int {
        switch self {
        case .labels(let y): return y.count
        case .probabilities(let q): return q.rank == 2 ? q.shape[0] : 0
        }
    }
}

/// Per-sample -sum_c t_c log softmax(logits / T)_c: cross-entropy with hard labels, soft-target
/// cross-entropy CE_soft with probability rows (equal for one-hot rows).
public func classificationLoss(_ logits: Tensor, target: ClassificationTarget, temperature: Float = 1) throws -> Tensor {
    switch target {
    case .labels(let y): return try crossEntropy(logits, labels: y, temperature: temperature)
    case .probabilities(let q): return try softCrossEntropy(logits, targets: q, temperature: temperature)
    }
}
