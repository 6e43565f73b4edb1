/// A differentiable operation defined by a forward and a backward function, for plugins (or any code
/// outside the library) that need an op the library does not have.
///
/// The forward runs without recording (the ops it calls build no graph); its result is recorded as one
/// node whose gradient is the backward. The backward gets the output's gradient, the inputs, the output
/// and which inputs need a gradient, and returns one gradient per input (nil for those it skips), each
/// with the input's element count; it also runs without recording, so it may use any op.
///
/// A softplus, log(1 + eˣ), with gradient σ(x):
/// ```swift
/// let softplus = CustomOperation(
///     name: "softplus",
///     forward: { x in try log(exp(x[0]) + 1) },
///     backward: { g, x, _, needs in [needs[0] ? try g * sigmoid(x[0]) : nil] })
/// let y = try softplus(x)
/// let error = try GradientCheck.maximumError(of: { try softplus($0[0]) }, at: [x])
/// ```
public struct CustomOperation {
    public typealias Forward = ([Tensor]) throws -> Tensor
    public typealias Backward = (_ gradOutput: Tensor, _ inputs: [Tensor], _ output: Tensor,
                                 _ needsGradient: [Bool]) throws -> [Tensor?]

    /// Names the op in the autograd tape and in error messages.
    public let name: String
    /// Input shapes on which the op is defined, for a finite-difference check of its backward
    /// (`GradientCheck.check(_:)`; the host checks every op a plugin registers on these).
    public let exampleInputShapes: [[Int]]
    private let forward: Forward
    private let backward: Backward

    public init(name: String, exampleInputShapes: [[Int]] = [], forward: @escaping Forward, backward: @escaping Backward) {
        self.name = name
        self.exampleInputShapes = exampleInputShapes
        self.forward = forward
        self.backward = backward
    }

    public func callAsFunction(_ inputs: Tensor...) throws -> Tensor { try callAsFunction(inputs) }

    public func callAsFunction(_ inputs: [Tensor]) throws -> Tensor {
        guard !inputs.isEmpty else { throw TensorError("\(name): a custom operation needs at least one input") }
        let computed = try withoutGradients { try forward(inputs) }
        // A fresh tensor over the result's storage: the forward may return an input or a tracked tensor,
        // whose own gradient state recording must not overwrite.
        let output = Tensor(shape: computed.shape, storage: computed.storage)
        let (name, backward) = (self.name, self.backward)
        return output.recording(name, inputs: inputs) { g, out, needs in
            let grads = try backward(g, inputs, out, needs)
            guard grads.count == inputs.count else {
                throw TensorError("\(name): backward returned \(grads.count) gradients for \(inputs.count) inputs")
            }
            for (k, (grad, input)) in zip(grads, inputs).enumerated() {
                if let grad, grad.count != input.count {
                    throw TensorError("\(name): backward returned a gradient of shape \(grad.shape) for input \(k) of shape \(input.shape)")
                }
            }
            return grads
        }
    }
}
