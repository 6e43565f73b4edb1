import CTrainingLab

/// A running average of a module's weights, held in a second module of the same architecture: the
/// mean teacher, the momentum (target) encoder of BYOL/MoCo/DINO, or the SWA model. The averaged module is
/// an ordinary module, so it is evaluated, forwarded or checkpointed like any other; `source.copyState(from:
/// average.averaged)` puts the average into the trained model (SWA's last step).
public final class ParameterAverage {
    /// How a new snapshot is weighted.
    public enum Weighting: Equatable, Sendable {
        /// averaged = decay * averaged + (1 - decay) * current.
        case exponential(decay: Double)
        /// The mean of all snapshots (SWA): averaged += (current - averaged) / (snapshots + 1).
        case uniform
    }

    /// What happens to buffers (state that is not a parameter, e.g. BatchNorm running statistics).
    public enum Buffers: Sendable {
        /// The averaged module takes the current buffers (statistics of the current weights).
        case copy
        /// Buffers are averaged like the parameters.
        case average
    }

    /// The module whose weights are averaged.
    public let source: Module
    /// The module holding the average.
    public let averaged: Module
    /// Settable between updates (e.g. a decay that ramps up over training).
    public var weighting: Weighting
    public let buffers: Buffers
    /// Snapshots in the average; the state at construction is the first. Checkpoints save it with
    /// `averaged.namedState()` and set it back on resume.
    public var snapshots = 1

    /// Starts the average at the current state of `module`. `averaged` defaults to `module.clone()`; a given
    /// module (same architecture) is overwritten with the current state.
    public init(of module: Module, weighting: Weighting, buffers: Buffers = .copy, into averaged: Module? = nil) throws {
        source = module
        self.averaged = try averaged ?? module.clone()
        self.weighting = weighting
        self.buffers = buffers
        _ = try snapshotWeight()
        try self.averaged.copyState(from: module)
    }

    /// Folds the current state of `source` into the average.
    public func update() throws {
        let weight = try snapshotWeight()
        let current = source.namedState(), average = averaged.namedState()
        guard current.map(\.0) == average.map(\.0) else {
            throw TensorError("ParameterAverage: the source and the averaged module no longer hold the same tensors (model surgery? start a new average)")
        }
        for ((name, x), (_, y)) in zip(current, average) {
            guard x.shape == y.shape else { throw TensorError("ParameterAverage: '\(name)' has shape \(x.shape), the average \(y.shape)") }
            if x.requiresGrad || buffers == .average {
                try tlCheck(tl_lerp(y.pointer, x.pointer, x.count, weight))
            } else {
                try y.assign(x)
            }
        }
        snapshots += 1
    }

    /// The fraction of the way the average moves towards the next snapshot.
    private func snapshotWeight() throws -> Float {
        switch weighting {
        case let .exponential(decay):
            guard (0...1).contains(decay) else { throw TensorError("ParameterAverage: decay must be in [0, 1], got \(decay)") }
            return Float(1 - decay)
        case .uniform:
            return 1 / Float(snapshots + 1)
        }
    }
}
