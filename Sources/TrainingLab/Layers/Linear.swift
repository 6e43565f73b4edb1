import Foundation

/// y = x wᵀ + b, weight (out, in). Initialised like PyTorch: U(-1/sqrt(in), 1/sqrt(in)) for both.
public final class Linear: Module {
    public var weight: Tensor
    public var bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = ParameterInit.uniform([outFeatures, inFeatures], bound: bound)
        self.bias = bias ? ParameterInit.uniform([outFeatures], bound: bound) : nil
    }

    override public func forward(_ x: Tensor) throws -> Tensor { try linear(x, weight: weight, bias: bias) }
}
