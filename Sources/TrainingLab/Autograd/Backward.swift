import CTrainingLab

extension Tensor {
    /// Reverse-mode differentiation from this tensor. Without `gradient` the tensor must hold one element
    /// (a loss) and its gradient is 1. Leaf tensors that require gradients get `grad` accumulated
    /// (summed with what was there, as repeated backward passes do). Unless `retainGraph`, the recorded
    /// nodes are released as they are consumed, freeing saved activations early.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) throws {
        guard requiresGrad else { throw TensorError("backward: tensor does not require gradients") }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else { throw TensorError("backward: gradient shape \(gradient.shape) != \(shape)") }
            seed = gradient
        } else {
            guard count == 1 else { throw TensorError("backward: needs a gradient for a tensor of shape \(shape)") }
            seed = Tensor(shape: shape, repeating: 1)
        }

        let order = Tensor.recordedTensors(from: self)
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        if isLeaf { try accumulateGrad(seed) }
        try withoutGradients {
            for tensor in order {
                guard let node = tensor.gradNode, let g = grads.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                let inputGrads = try node.backward(g, tensor)
                if !retainGraph { tensor.gradNode = nil }
                for (input, inputGrad) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let inputGrad else { continue }
                    guard inputGrad.count == input.count else {
                        throw TensorError("backward of \(node.name): gradient \(inputGrad.shape) for input \(input.shape)")
                    }
                    if input.isLeaf {
                        try input.accumulateGrad(inputGrad)
                    } else if let existing = grads[ObjectIdentifier(input)] {
                        grads[ObjectIdentifier(input)] = try existing.adding(inputGrad)
                    } else {
                        grads[ObjectIdentifier(input)] = inputGrad.shape == input.shape ? inputGrad : inputGrad.reshapedStorage(input.shape)
                    }
                }
            }
        }
    }

    /// Every tensor with a recorded node reachable from `root`, latest node first.
    private static func recordedTensors(from root: Tensor) -> [Tensor] {
        var seen: Set<ObjectIdentifier> = []
        var found: [Tensor] = []
        var stack = [root]
        while let t = stack.popLast() {
            guard let node = t.gradNode, seen.insert(ObjectIdentifier(t)).inserted else { continue }
            found.append(t)
            stack.append(contentsOf: node.inputs)
        }
        return found.sorted { $0.gradNode!.sequence > $1.gradNode!.sequence }
    }

    private func accumulateGrad(_ g: Tensor) throws {
        if let existing = grad {
            try tlCheck(tl_axpy(existing.pointer, g.pointer, count, 1))
            withExtendedLifetime(g) {}
        } else {
            grad = g.copy().reshapedStorage(shape)
        }
    }

    /// Element-wise sum outside autograd (gradient accumulation).
    func adding(_ other: Tensor) throws -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        try tlCheck(tl_add(out.pointer, pointer, other.pointer, count))
        withExtendedLifetime(other) {}
        return out
    }

    /// Same storage under another shape of equal element count, without recording.
    func reshapedStorage(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, storage: storage) }

    /// Clears the gradient (optimisers call this between steps).
    public func zeroGrad() { grad = nil }
}
