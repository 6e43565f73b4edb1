import CTrainingLab

/// (N, C, S): batch, channels, and everything after the channels flattened.
private func channelLayout(_ x: Tensor, _ op: String) throws -> (Int, Int, Int) {
    guard x.rank >= 2 else { throw TensorError("\(op): needs (N, C, ...), got \(x.shape)") }
    return (x.shape[0], x.shape[1], x.count / max(x.shape[0] * x.shape[1], 1))
}

/// Batch normalisation with batch statistics; updates `runningMean` / `runningVar` in place.
public func batchNormTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                              momentum: Float, eps: Float) throws -> Tensor {
    let (n, c, s) = try channelLayout(x, "batchNorm")
    guard gamma.count == c, beta.count == c, runningMean.count == c, runningVar.count == c else {
        throw TensorError("batchNorm: input \(x.shape) has \(c) channels, parameters have \(gamma.count)")
    }
    let y = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [c]), rstd = Tensor(uninitializedShape: [c])
    try tlCheck(tl_batchnorm_train_forward(y.pointer, mean.pointer, rstd.pointer, runningMean.pointer, runningVar.pointer,
                                           x.pointer, gamma.pointer, beta.pointer, n, c, s, momentum, eps))
    return y.recording("batch_norm", inputs: [x, gamma, beta]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_batchnorm_train_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer, x.pointer,
                                                gamma.pointer, mean.pointer, rstd.pointer, n, c, s))
        return [dx, dgamma, dbeta]
    }
}

/// Batch normalisation with fixed (running) statistics: an affine map per channel.
public func batchNormInference(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                               eps: Float) throws -> Tensor {
    let (n, c, s) = try channelLayout(x, "batchNorm")
    guard gamma.count == c else { throw TensorError("batchNorm: input \(x.shape) has \(c) channels, parameters have \(gamma.count)") }
    let y = Tensor(uninitializedShape: x.shape)
    try tlCheck(tl_batchnorm_eval_forward(y.pointer, x.pointer, gamma.pointer, beta.pointer, runningMean.pointer,
                                          runningVar.pointer, n, c, s, eps))
    return y.recording("batch_norm_eval", inputs: [x, gamma, beta]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_batchnorm_eval_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer, x.pointer,
                                               gamma.pointer, runningMean.pointer, runningVar.pointer, n, c, s, eps))
        return [dx, dgamma, dbeta]
    }
}

/// Layer normalisation over the last dimension with affine gamma/beta (D).
public func layerNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float) throws -> Tensor {
    guard let d = x.shape.last, gamma.count == d, beta.count == d else {
        throw TensorError("layerNorm: input \(x.shape) does not end with \(gamma.count) features")
    }
    let rows = x.count / max(d, 1)
    let y = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
    try tlCheck(tl_layernorm_forward(y.pointer, mean.pointer, rstd.pointer, x.pointer, gamma.pointer, beta.pointer, rows, d, eps))
    return y.recording("layer_norm", inputs: [x, gamma, beta]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [d]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [d]) : nil
        try tlCheck(tl_layernorm_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer, x.pointer, gamma.pointer,
                                          mean.pointer, rstd.pointer, rows, d))
        return [dx, dgamma, dbeta]
    }
}

/// Group normalisation of (N, C, ...) over `groups` channel groups (instance norm: groups = C).
public func groupNorm(_ x: Tensor, groups: Int, gamma: Tensor, beta: Tensor, eps: Float) throws -> Tensor {
    let (n, c, s) = try channelLayout(x, "groupNorm")
    guard groups > 0, c % groups == 0, gamma.count == c, beta.count == c else {
        throw TensorError("groupNorm: \(c) channels of \(x.shape) cannot form \(groups) groups with \(gamma.count) affine parameters")
    }
    let y = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [n * groups]), rstd = Tensor(uninitializedShape: [n * groups])
    try tlCheck(tl_groupnorm_forward(y.pointer, mean.pointer, rstd.pointer, x.pointer, gamma.pointer, beta.pointer, n, c, s, groups, eps))
    return y.recording("group_norm", inputs: [x, gamma, beta]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_groupnorm_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer, x.pointer, gamma.pointer,
                                          mean.pointer, rstd.pointer, n, c, s, groups))
        return [dx, dgamma, dbeta]
    }
}

/// relu(batch norm(x)) with batch statistics, one pass each way (tl_batchnorm_relu_train_*); updates
/// `runningMean` / `runningVar` in place. Equal to `relu(batchNormTraining(...))` bit for bit (both take the
/// affine coefficients from the statistics rounded to float).
public func batchNormReLUTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                  momentum: Float, eps: Float) throws -> Tensor {
    let (n, c, s) = try channelLayout(x, "batchNormReLU")
    guard gamma.count == c, beta.count == c, runningMean.count == c, runningVar.count == c else {
        throw TensorError("batchNormReLU: input \(x.shape) has \(c) channels, parameters have \(gamma.count)")
    }
    let y = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [c]), rstd = Tensor(uninitializedShape: [c])
    try tlCheck(tl_batchnorm_relu_train_forward(y.pointer, mean.pointer, rstd.pointer, runningMean.pointer, runningVar.pointer,
                                                x.pointer, gamma.pointer, beta.pointer, n, c, s, momentum, eps))
    return y.recording("batch_norm_relu", inputs: [x, gamma, beta]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_batchnorm_relu_train_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer, x.pointer,
                                                     gamma.pointer, beta.pointer, mean.pointer, rstd.pointer, n, c, s))
        return [dx, dgamma, dbeta]
    }
}

/// relu(batch norm(x) + residual) with batch statistics (the end of a ResNet basic block), one pass each way.
public func batchNormAddReLUTraining(_ x: Tensor, residual: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor,
                                     runningVar: Tensor, momentum: Float, eps: Float) throws -> Tensor {
    let (n, c, s) = try channelLayout(x, "batchNormAddReLU")
    guard gamma.count == c, beta.count == c, runningMean.count == c, runningVar.count == c else {
        throw TensorError("batchNormAddReLU: input \(x.shape) has \(c) channels, parameters have \(gamma.count)")
    }
    guard residual.shape == x.shape else { throw TensorError("batchNormAddReLU: residual \(residual.shape) != input \(x.shape)") }
    let y = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [c]), rstd = Tensor(uninitializedShape: [c])
    try tlCheck(tl_batchnorm_add_relu_train_forward(y.pointer, mean.pointer, rstd.pointer, runningMean.pointer,
                                                    runningVar.pointer, x.pointer, residual.pointer, gamma.pointer,
                                                    beta.pointer, n, c, s, momentum, eps))
    return y.recording("batch_norm_add_relu", inputs: [x, residual, gamma, beta]) { g, out, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dr = needs[1] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[3] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_batchnorm_add_relu_train_backward(dx?.pointer, dr?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer,
                                                         out.pointer, x.pointer, gamma.pointer, mean.pointer, rstd.pointer,
                                                         n, c, s))
        return [dx, dr, dgamma, dbeta]
    }
}

/// relu(batch norm(x) [+ residual]) with fixed (running) statistics, one pass forward; the backward is the
/// ReLU mask of the output followed by the inference batch-norm backward.
public func batchNormReLUInference(_ x: Tensor, residual: Tensor? = nil, gamma: Tensor, beta: Tensor, runningMean: Tensor,
                                   runningVar: Tensor, eps: Float) throws -> Tensor {
    let (n, c, s) = try channelLayout(x, "batchNormReLU")
    guard gamma.count == c, beta.count == c, runningMean.count == c, runningVar.count == c else {
        throw TensorError("batchNormReLU: input \(x.shape) has \(c) channels, parameters have \(gamma.count)")
    }
    if let residual, residual.shape != x.shape {
        throw TensorError("batchNormAddReLU: residual \(residual.shape) != input \(x.shape)")
    }
    let y = Tensor(uninitializedShape: x.shape)
    if let residual {
        try tlCheck(tl_batchnorm_add_relu_eval_forward(y.pointer, x.pointer, residual.pointer, gamma.pointer, beta.pointer,
                                                       runningMean.pointer, runningVar.pointer, n, c, s, eps))
    } else {
        try tlCheck(tl_batchnorm_relu_eval_forward(y.pointer, x.pointer, gamma.pointer, beta.pointer, runningMean.pointer,
                                                   runningVar.pointer, n, c, s, eps))
    }
    let inputs = residual.map { [x, gamma, beta, $0] } ?? [x, gamma, beta]
    return y.recording(residual == nil ? "batch_norm_relu_eval" : "batch_norm_add_relu_eval", inputs: inputs) { g, out, needs in
        let dz = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_relu_backward(dz.pointer, g.pointer, out.pointer, dz.count))
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_batchnorm_eval_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, dz.pointer, x.pointer,
                                               gamma.pointer, runningMean.pointer, runningVar.pointer, n, c, s, eps))
        return needs.count > 3 ? [dx, dgamma, dbeta, needs[3] ? dz : nil] : [dx, dgamma, dbeta]
    }
}

/// maxPool2d(relu(batch norm(x)), kernel 2, stride 2) with batch statistics, for (N, C, H, W) inputs with H, W >= 2:
/// one pass over x forward (after the statistics), and the backward finds the window maxima again from x instead of
/// keeping indices (tl_batchnorm_relu_maxpool2_train_*). Updates `runningMean` / `runningVar` in place.
public func batchNormReLUMaxPool2Training(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                          momentum: Float, eps: Float) throws -> Tensor {
    guard x.rank == 4, x.shape[2] >= 2, x.shape[3] >= 2 else {
        throw TensorError("batchNormReLUMaxPool2: needs (N, C, H, W) with H, W >= 2, got \(x.shape)")
    }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    guard gamma.count == c, beta.count == c, runningMean.count == c, runningVar.count == c else {
        throw TensorError("batchNormReLUMaxPool2: input \(x.shape) has \(c) channels, parameters have \(gamma.count)")
    }
    let y = Tensor(uninitializedShape: [n, c, h / 2, w / 2])
    let mean = Tensor(uninitializedShape: [c]), rstd = Tensor(uninitializedShape: [c])
    try tlCheck(tl_batchnorm_relu_maxpool2_train_forward(y.pointer, mean.pointer, rstd.pointer, runningMean.pointer,
                                                         runningVar.pointer, x.pointer, gamma.pointer, beta.pointer,
                                                         n, c, h, w, momentum, eps))
    return y.recording("batch_norm_relu_max_pool2", inputs: [x, gamma, beta]) { g, out, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dgamma = needs[1] ? Tensor(uninitializedShape: [c]) : nil
        let dbeta = needs[2] ? Tensor(uninitializedShape: [c]) : nil
        try tlCheck(tl_batchnorm_relu_maxpool2_train_backward(dx?.pointer, dgamma?.pointer, dbeta?.pointer, g.pointer,
                                                              out.pointer, x.pointer, gamma.pointer, beta.pointer,
                                                              mean.pointer, rstd.pointer, n, c, h, w))
        return [dx, dgamma, dbeta]
    }
}

/// maxPool2d(relu(batch norm(x)), kernel 2, stride 2) with fixed (running) statistics. Recorded for differentiation,
/// it runs as the separate ops (the fused kernel keeps no indices); otherwise as one pass.
public func batchNormReLUMaxPool2Inference(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                           eps: Float) throws -> Tensor {
    guard x.rank == 4, x.shape[2] >= 2, x.shape[3] >= 2 else {
        throw TensorError("batchNormReLUMaxPool2: needs (N, C, H, W) with H, W >= 2, got \(x.shape)")
    }
    if GradMode.isEnabled && (x.requiresGrad || gamma.requiresGrad || beta.requiresGrad) {
        let h = try batchNormReLUInference(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, eps: eps)
        return try maxPool2d(h, Pool2dGeometry(kernel: 2))
    }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    guard gamma.count == c, beta.count == c, runningMean.count == c, runningVar.count == c else {
        throw TensorError("batchNormReLUMaxPool2: input \(x.shape) has \(c) channels, parameters have \(gamma.count)")
    }
    let y = Tensor(uninitializedShape: [n, c, h / 2, w / 2])
    try tlCheck(tl_batchnorm_relu_maxpool2_eval_forward(y.pointer, x.pointer, gamma.pointer, beta.pointer, runningMean.pointer,
                                                        runningVar.pointer, n, c, h, w, eps))
    return y
}

/// Rows of x (N, D) scaled to unit L2 norm, x / max(||x||, eps) (torch.nn.functional.normalize): the
/// embeddings of contrastive and set losses, whose kernels assume cosine values in [-1, 1].
public func l2Normalized(_ x: Tensor, eps: Float = 1e-12) throws -> Tensor {
    guard x.rank == 2, x.shape[1] > 0 else { throw TensorError("l2Normalized: needs (N, D) with D > 0, got \(x.shape)") }
    let (rows, d) = (x.shape[0], x.shape[1])
    let y = Tensor(uninitializedShape: x.shape), norms = Tensor(uninitializedShape: [rows])
    try tlCheck(tl_l2_normalize_rows_forward(y.pointer, norms.pointer, x.pointer, rows, d, eps))
    return y.recording("l2_normalize", inputs: [x]) { g, out, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_l2_normalize_rows_backward(dx.pointer, g.pointer, out.pointer, norms.pointer, rows, d, eps))
        return [dx]
    }
}
