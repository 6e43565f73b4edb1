import CTrainingLab

/// Stochastic gradient descent with momentum, Nesterov and coupled weight decay (PyTorch semantics).
/// A mask (0/1, same shape) per parameter name keeps masked weights fixed (sparse training, pruning).
public final class SGD: Optimizer {
    public var learningRate: Double
    public var momentum: Double
    /// Weight decay of groups that do not set their own.
    public var weightDecay: Double
    public var nesterov: Bool
    public var masks: [String: Tensor] = [:]
    public var stepCount = 0
    private var slots: OptimizerSlots

    /// One group of parameters.
    public convenience init(_ parameters: [(String, Tensor)], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0,
                            nesterov: Bool = false) {
        self.init(slots: OptimizerSlots(optimizer: "SGD", slotNames: ["momentum"], unchecked: [ParameterGroup("default", parameters)]),
                  learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
    }

    /// Parameter groups with their own learning-rate multiplier and weight decay (`ParameterGroup.decayAndNoDecay`).
    public convenience init(groups: [ParameterGroup], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0,
                            nesterov: Bool = false) throws {
        self.init(slots: try OptimizerSlots(optimizer: "SGD", slotNames: ["momentum"], groups: groups),
                  learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
    }

    private init(slots: OptimizerSlots, learningRate: Double, momentum: Double, weightDecay: Double, nesterov: Bool) {
        self.slots = slots
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public var parameters: [(String, Tensor)] { slots.parameters }
    public var groups: [ParameterGroup] { slots.groups }

    public func step() throws {
        for i in slots.entries.indices {
            let (name, p) = (slots.entries[i].name, slots.entries[i].tensor)
            guard let g = p.grad else { continue }
            let first = slots.entries[i].slots == nil
            if momentum > 0 && first { slots.entries[i].slots = [Tensor(uninitializedShape: p.shape)] }
            let (lr, wd) = slots.hyperparameters(of: i, learningRate: learningRate, weightDecay: weightDecay)
            try tlCheck(tl_optim_sgd_step(p.pointer, slots.entries[i].slots?[0].pointer, g.pointer, masks[name]?.pointer, p.count,
                                          lr, Float(momentum), wd, nesterov ? 1 : 0, first ? 1 : 0))
        }
        stepCount += 1
    }

    public var state: [(String, Tensor)] { slots.state }

    public func loadState(_ state: [String: Tensor]) throws { try slots.loadState(state) }

    @discardableResult
    public func rebind(to groups: [ParameterGroup], kept: [String: KeptIndices] = [:]) throws -> RebindReport {
        try slots.rebind(to: groups, kept: kept, masks: &masks)
    }
}
