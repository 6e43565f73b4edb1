import CTrainingLab

/// Stochastic gradient descent with momentum, Nesterov and coupled weight decay (PyTorch semantics).
/// A mask (0/1, same shape) per parameter name keeps masked weights fixed (sparse training, pruning).
public final class SGD: Optimizer {
    public let parameters: [(String, Tensor)]
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var nesterov: Bool
    public var masks: [String: Tensor] = [:]
    public var stepCount = 0
    private var buffers: [Tensor?]

    public init(_ parameters: [(String, Tensor)], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() throws {
        for (i, (name, p)) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let first = buffers[i] == nil
            if momentum > 0 && first { buffers[i] = Tensor(uninitializedShape: p.shape) }
            try tlCheck(tl_optim_sgd_step(p.pointer, buffers[i]?.pointer, g.pointer, masks[name]?.pointer, p.count,
                                          Float(learningRate), Float(momentum), Float(weightDecay), nesterov ? 1 : 0, first ? 1 : 0))
        }
        stepCount += 1
    }

    public var state: [(String, Tensor)] {
        zip(parameters, buffers).compactMap { param, buffer in buffer.map { ("\(param.0).momentum", $0) } }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        for (i, (name, p)) in parameters.enumerated() {
            guard let saved = state["\(name).momentum"] else { buffers[i] = nil; continue }
            guard saved.count == p.count else { throw TensorError("SGD state \(name).momentum has \(saved.shape), parameter has \(p.shape)") }
            buffers[i] = saved.copy().reshapedStorage(p.shape)
        }
    }
}
