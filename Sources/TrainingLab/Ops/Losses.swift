import CTrainingLab

/// Per-sample losses: every function returns (N) values (no reduction), so methods can weight samples.

private func classifierLayout(_ logits: Tensor, _ op: String, rows: Int) throws -> (Int, Int) {
    guard logits.rank == 2, logits.shape[0] == rows else {
        throw TensorError("\(op): logits \(logits.shape) do not match \(rows) targets; expected (\(rows), classes)")
    }
    return (logits.shape[0], logits.shape[1])
}

/// Cross-entropy with hard labels, label smoothing and temperature: -sum_c t_c log softmax(logits / T)_c.
public func crossEntropy(_ logits: Tensor, labels: [Int32], labelSmoothing: Float = 0, temperature: Float = 1) throws -> Tensor {
    let (n, c) = try classifierLayout(logits, "crossEntropy", rows: labels.count)
    let loss = Tensor(uninitializedShape: [n])
    try tlCheck(tl_loss_ce_forward(loss.pointer, logits.pointer, labels, n, c, labelSmoothing, temperature))
    return loss.recording("cross_entropy", inputs: [logits]) { g, _, _ in
        let dlogits = Tensor(uninitializedShape: logits.shape)
        try tlCheck(tl_loss_ce_backward(dlogits.pointer, g.pointer, logits.pointer, labels, n, c, labelSmoothing, temperature))
        return [dlogits]
    }
}

/// Cross-entropy against probability rows `targets` (N, C): -sum_c q_c log softmax(logits / T)_c.
public func softCrossEntropy(_ logits: Tensor, targets: Tensor, temperature: Float = 1) throws -> Tensor {
    let (n, c) = try classifierLayout(logits, "softCrossEntropy", rows: targets.rank == 2 ? targets.shape[0] : -1)
    guard targets.shape == logits.shape else { throw TensorError("softCrossEntropy: targets \(targets.shape) != logits \(logits.shape)") }
    let loss = Tensor(uninitializedShape: [n])
    try tlCheck(tl_loss_soft_ce_forward(loss.pointer, logits.pointer, targets.pointer, n, c, temperature))
    return loss.recording("soft_cross_entropy", inputs: [logits, targets]) { g, _, needs in
        let dlogits = needs[0] ? Tensor(uninitializedShape: logits.shape) : nil
        let dtargets = needs[1] ? Tensor(uninitializedShape: targets.shape) : nil
        try tlCheck(tl_loss_soft_ce_backward(dlogits?.pointer, dtargets?.pointer, g.pointer, logits.pointer, targets.pointer, n, c, temperature))
        return [dlogits, dtargets]
    }
}

/// KL(softmax(p / T) || softmax(r / T)) per row of two logit tensors (N, C).
public func klDivergence(_ p: Tensor, _ r: Tensor, temperature: Float = 1) throws -> Tensor {
    guard p.shape == r.shape, p.rank == 2 else { throw TensorError("klDivergence: logits \(p.shape) and \(r.shape) must be equal (N, C)") }
    let (n, c) = (p.shape[0], p.shape[1])
    let loss = Tensor(uninitializedShape: [n])
    try tlCheck(tl_loss_kl_forward(loss.pointer, p.pointer, r.pointer, n, c, temperature))
    return loss.recording("kl_divergence", inputs: [p, r]) { g, _, needs in
        let dp = needs[0] ? Tensor(uninitializedShape: p.shape) : nil
        let dr = needs[1] ? Tensor(uninitializedShape: r.shape) : nil
        try tlCheck(tl_loss_kl_backward(dp?.pointer, dr?.pointer, g.pointer, p.pointer, r.pointer, n, c, temperature))
        return [dp, dr]
    }
}

/// Carlini-Wagner margin per sample: max_{c != y} logits_c - logits_y (positive exactly where misclassified).
public func marginLoss(_ logits: Tensor, labels: [Int32]) throws -> Tensor {
    let (n, c) = try classifierLayout(logits, "marginLoss", rows: labels.count)
    let loss = Tensor(uninitializedShape: [n])
    try tlCheck(tl_loss_margin_forward(loss.pointer, logits.pointer, labels, n, c))
    return loss.recording("margin", inputs: [logits]) { g, _, _ in
        let dlogits = Tensor(uninitializedShape: logits.shape)
        try tlCheck(tl_loss_margin_backward(dlogits.pointer, g.pointer, logits.pointer, labels, n, c))
        return [dlogits]
    }
}

/// Mean squared error per sample: mean over the features of (x - target)^2, x and target (N, ...).
public func meanSquaredError(_ x: Tensor, _ target: Tensor) throws -> Tensor {
    guard x.shape == target.shape, x.rank >= 1 else { throw TensorError("meanSquaredError: \(x.shape) vs \(target.shape)") }
    let n = x.shape[0], d = x.count / max(n, 1)
    let loss = Tensor(uninitializedShape: [n])
    try tlCheck(tl_loss_mse_forward(loss.pointer, x.pointer, target.pointer, n, d))
    return loss.recording("mse", inputs: [x, target]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dt = needs[1] ? Tensor(uninitializedShape: target.shape) : nil
        try tlCheck(tl_loss_mse_backward(dx?.pointer, dt?.pointer, g.pointer, x.pointer, target.pointer, n, d))
        return [dx, dt]
    }
}

/// sum_i w_i l_i / N: the reduction of per-sample losses with weights (divides by N, not by sum(w),
/// so InfoBatch's 1/(1-r) rescaling is not cancelled). Nil weights give the plain mean.
public func weightedMean(_ losses: Tensor, weights: [Float]?) throws -> Tensor {
    guard losses.rank == 1 else { throw TensorError("weightedMean: needs per-sample losses (N), got \(losses.shape)") }
    guard let weights else { return try losses.mean() }
    guard weights.count == losses.count else { throw TensorError("weightedMean: \(weights.count) weights for \(losses.count) losses") }
    return try (losses * Tensor(weights, shape: [weights.count])).mean()
}
