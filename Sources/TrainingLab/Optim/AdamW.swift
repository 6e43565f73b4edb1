import CTrainingLab

/// Adam with decoupled weight decay (Loshchilov & Hutter), bias-corrected, PyTorch semantics. The step
/// count is shared by all parameters (PyTorch counts per parameter): a parameter reset by `rebind` restarts
/// its moments from zero with the bias correction of the current step.
public final class AdamW: Optimizer {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    /// Weight decay of groups that do not set their own.
    public var weightDecay: Double
    public var masks: [String: Tensor] = [:]
    public var stepCount = 0
    private var slots: OptimizerSlots

    /// One group of parameters.
    public convenience init(_ parameters: [(String, Tensor)], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
                            eps: Double = 1e-8, weightDecay: Double = 0.01) {
        self.init(slots: OptimizerSlots(optimizer: "AdamW", slotNames: ["exp_avg", "exp_avg_sq"],
                                        unchecked: [ParameterGroup("default", parameters)]),
                  learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    /// Parameter groups with their own learning-rate multiplier and weight decay (`ParameterGroup.decayAndNoDecay`).
    public convenience init(groups: [ParameterGroup], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
                            eps: Double = 1e-8, weightDecay: Double = 0.01) throws {
        self.init(slots: try OptimizerSlots(optimizer: "AdamW", slotNames: ["exp_avg", "exp_avg_sq"], groups: groups),
                  learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    private init(slots: OptimizerSlots, learningRate: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double) {
        self.slots = slots
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    public var parameters: [(String, Tensor)] { slots.parameters }
    public var groups: [ParameterGroup] { slots.groups }

    public func step() throws {
        stepCount += 1
        for i in slots.entries.indices {
            let (name, p) = (slots.entries[i].name, slots.entries[i].tensor)
            guard let g = p.grad else { continue }
            if slots.entries[i].slots == nil { slots.entries[i].slots = [Tensor(zeros: p.shape), Tensor(zeros: p.shape)] }
            let mv = slots.entries[i].slots!
            let (lr, wd) = slots.hyperparameters(of: i, learningRate: learningRate, weightDecay: weightDecay)
            try tlCheck(tl_optim_adamw_step(p.pointer, mv[0].pointer, mv[1].pointer, g.pointer, masks[name]?.pointer, p.count,
                                            lr, Float(beta1), Float(beta2), Float(eps), wd, Int64(stepCount)))
        }
    }

    public var state: [(String, Tensor)] { slots.state }

    public func loadState(_ state: [String: Tensor]) throws { try slots.loadState(state) }

    @discardableResult
    public func rebind(to groups: [ParameterGroup], kept: [String: KeptIndices] = [:]) throws -> RebindReport {
        try slots.rebind(to: groups, kept: kept, masks: &masks)
    }
}
