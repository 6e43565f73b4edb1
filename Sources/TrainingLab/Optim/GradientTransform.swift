import CTrainingLab

/// Changes the parameters' gradients in place between backward and the optimiser step (clipping,
/// control-variate corrections of federated methods, ...). Transforms compose with `GradientTransforms`.
/// Parameters without a gradient are left alone, as the optimisers leave them.
public protocol GradientTransform: AnyObject {
    func apply(to parameters: [(String, Tensor)]) throws
}

/// Several transforms applied in order (the order matters: clipping after a correction bounds the
/// corrected gradient).
public final class GradientTransforms: GradientTransform {
    public var transforms: [GradientTransform]

    public init(_ transforms: [GradientTransform]) { self.transforms = transforms }

    public func apply(to parameters: [(String, Tensor)]) throws {
        for transform in transforms { try transform.apply(to: parameters) }
    }
}

/// Scales all gradients together so that their global L2 norm is at most `maxNorm`
/// (torch.nn.utils.clip_grad_norm_: factor maxNorm / (norm + 1e-6) when the norm exceeds maxNorm).
public final class GlobalNormClip: GradientTransform {
    public var maxNorm: Double
    /// The global norm before clipping at the last `apply` (nil before the first), for logging.
    public private(set) var lastNorm: Double?

    public init(maxNorm: Double) throws {
        guard maxNorm > 0, maxNorm.isFinite else { throw TensorError("GlobalNormClip: maxNorm must be a finite value > 0, got \(maxNorm)") }
        self.maxNorm = maxNorm
    }

    /// A non-finite norm is an error that leaves the gradients unchanged (`lastNorm` still reports it).
    public func apply(to parameters: [(String, Tensor)]) throws {
        let grads = parameters.compactMap(\.1.grad)
        let pointers: [UnsafeMutablePointer<Float>?] = grads.map(\.pointer)
        var total: Float = 0
        let status = withExtendedLifetime(grads) {
            tl_optim_clip_grad_norm(&total, pointers, grads.map(\.count), grads.count, Float(maxNorm))
        }
        lastNorm = Double(total)
        try tlCheck(status)
    }
}

/// g += c_global - c_local for every parameter by name: the drift correction of SCAFFOLD (Karimireddy et al.
/// 2020) and FedMoSWA, with the server's and this client's control variates held as parameter vectors
/// (updated between rounds with `ParameterVector` arithmetic).
public final class ControlVariateCorrection: GradientTransform {
    public var global: ParameterVector
    public var local: ParameterVector

    public init(global: ParameterVector, local: ParameterVector) {
        self.global = global
        self.local = local
    }

    /// Control variates given as tensors by parameter name (copied into vectors).
    public convenience init(global: [String: Tensor], local: [String: Tensor]) throws {
        try self.init(global: ParameterVector(from: global.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }),
                      local: ParameterVector(from: local.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
    }

    public func apply(to parameters: [(String, Tensor)]) throws {
        for (name, p) in parameters {
            guard let g = p.grad else { continue }
            for (variate, sign, which) in [(global, Float(1), "global"), (local, Float(-1), "local")] {
                guard let range = variate.layout.range(of: name), range.count == g.count else {
                    throw TensorError("ControlVariateCorrection: the \(which) control variate has no tensor of \(g.count) elements named '\(name)'")
                }
                try tlCheck(tl_axpy(g.pointer, variate.values.pointer + range.lowerBound, g.count, sign))
            }
        }
    }
}
