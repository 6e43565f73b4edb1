import CTrainingLab

/// Adam with decoupled weight decay (Loshchilov & Hutter), bias-corrected, PyTorch semantics.
public final class AdamW: Optimizer {
    public let parameters: [(String, Tensor)]
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    public var masks: [String: Tensor] = [:]
    public var stepCount = 0
    private var moments: [(m: Tensor, v: Tensor)?]

    public init(_ parameters: [(String, Tensor)], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0.01) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        moments = Array(repeating: nil, count: parameters.count)
    }

    public func step() throws {
        stepCount += 1
        for (i, (name, p)) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            if moments[i] == nil { moments[i] = (Tensor(zeros: p.shape), Tensor(zeros: p.shape)) }
            let (m, v) = moments[i]!
            try tlCheck(tl_optim_adamw_step(p.pointer, m.pointer, v.pointer, g.pointer, masks[name]?.pointer, p.count,
                                            Float(learningRate), Float(beta1), Float(beta2), Float(eps), Float(weightDecay), Int64(stepCount)))
        }
    }

    public var state: [(String, Tensor)] {
        zip(parameters, moments).flatMap { param, mv -> [(String, Tensor)] in
            guard let mv else { return [] }
            return [("\(param.0).exp_avg", mv.m), ("\(param.0).exp_avg_sq", mv.v)]
        }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        for (i, (name, p)) in parameters.enumerated() {
            guard let m = state["\(name).exp_avg"], let v = state["\(name).exp_avg_sq"] else { moments[i] = nil; continue }
            guard m.count == p.count, v.count == p.count else { throw TensorError("AdamW state of \(name) does not match \(p.shape)") }
            moments[i] = (m.copy().reshapedStorage(p.shape), v.copy().reshapedStorage(p.shape))
        }
    }
}
