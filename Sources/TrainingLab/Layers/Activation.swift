/// An element-wise activation as a layer.
public final class Activation: Module {
    public enum Kind: Sendable { case relu, leakyRelu(Float), gelu, sigmoid, tanh }
    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    override public func forward(_ x: Tensor) throws -> Tensor {
        switch kind {
        case .relu: return try relu(x)
        case .leakyRelu(let slope): return try leakyRelu(x, slope: slope)
        case .gelu: return try gelu(x)
        case .sigmoid: return try sigmoid(x)
        case .tanh: return try TrainingLab.tanh(x)
        }
    }
}

public func ReLU() -> Activation { Activation(.relu) }
