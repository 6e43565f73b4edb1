/// Batch normalisation over (N, C, ...) with running statistics for evaluation (PyTorch semantics:
/// momentum 0.1, eps 1e-5, unbiased running variance).
public final class BatchNorm: Module {
    public var gamma: Tensor
    public var beta: Tensor
    public var runningMean: Tensor
    public var runningVar: Tensor
    public let momentum: Float
    public let eps: Float

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        gamma = Tensor(shape: [channels], repeating: 1, requiresGrad: true)
        beta = Tensor(zeros: [channels], requiresGrad: true)
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
        self.momentum = momentum
        self.eps = eps
    }

    override public func forward(_ x: Tensor) throws -> Tensor {
        if isTraining {
            return try batchNormTraining(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                         momentum: momentum, eps: eps)
        }
        return try batchNormInference(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, eps: eps)
    }

    /// relu(self(x) + residual) (residual nil: relu(self(x))) in one fused pass each way; `Sequential` uses it for a
    /// BatchNorm followed by a ReLU, residual blocks for their last batch norm. Equal to the separate layers (what runs
    /// when `LayerFusion.isEnabled` is false) bit for bit, values and gradients.
    public func forwardReLU(_ x: Tensor, adding residual: Tensor? = nil) throws -> Tensor {
        guard LayerFusion.isEnabled else {
            let h = try forward(x)
            return try relu(residual.map { try h + $0 } ?? h)
        }
        if !isTraining {
            return try batchNormReLUInference(x, residual: residual, gamma: gamma, beta: beta, runningMean: runningMean,
                                              runningVar: runningVar, eps: eps)
        }
        if let residual {
            return try batchNormAddReLUTraining(x, residual: residual, gamma: gamma, beta: beta, runningMean: runningMean,
                                                runningVar: runningVar, momentum: momentum, eps: eps)
        }
        return try batchNormReLUTraining(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                         momentum: momentum, eps: eps)
    }

    /// maxPool2d(relu(self(x)), kernel 2, stride 2) in one fused pass each way, for (N, C, H, W) inputs with H, W >= 2;
    /// `Sequential` uses it for BatchNorm, ReLU, MaxPool2d(2). The same values as the separate layers bit for bit; the
    /// gradients differ by rounding (the fused backward sums in another order).
    public func forwardReLUMaxPool2(_ x: Tensor) throws -> Tensor {
        guard LayerFusion.isEnabled else { return try maxPool2d(relu(forward(x)), Pool2dGeometry(kernel: 2)) }
        if !isTraining {
            return try batchNormReLUMaxPool2Inference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                                      runningVar: runningVar, eps: eps)
        }
        return try batchNormReLUMaxPool2Training(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                                 momentum: momentum, eps: eps)
    }
}

/// Whether layers run fused kernels for common sequences (batch norm + ReLU, + 2x2 max pooling, batch norm + residual
/// add + ReLU).
/// On by default; switching it off gives the op-by-op computation (for tests and for measuring what fusion gains).
public enum LayerFusion {
    public nonisolated(unsafe) static var isEnabled = true
}

/// Layer normalisation over the last dimension.
public final class LayerNorm: Module {
    public var gamma: Tensor
    public var beta: Tensor
    public let eps: Float

    public init(_ features: Int, eps: Float = 1e-5) {
        gamma = Tensor(shape: [features], repeating: 1, requiresGrad: true)
        beta = Tensor(zeros: [features], requiresGrad: true)
        self.eps = eps
    }

    override public func forward(_ x: Tensor) throws -> Tensor { try layerNorm(x, gamma: gamma, beta: beta, eps: eps) }
}

/// Group normalisation; `GroupNorm(groups: c, channels: c)` is instance normalisation.
public final class GroupNorm: Module {
    public var gamma: Tensor
    public var beta: Tensor
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        gamma = Tensor(shape: [channels], repeating: 1, requiresGrad: true)
        beta = Tensor(zeros: [channels], requiresGrad: true)
        self.groups = groups
        self.eps = eps
    }

    override public func forward(_ x: Tensor) throws -> Tensor { try groupNorm(x, groups: groups, gamma: gamma, beta: beta, eps: eps) }
}
