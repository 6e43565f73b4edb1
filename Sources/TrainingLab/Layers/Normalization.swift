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
