/// 2-D convolution layer, weight (out, in/groups, k, k). Default initialisation is PyTorch's
/// (U(-1/sqrt(fan_in), 1/sqrt(fan_in))); `heNormal` gives Kaiming-normal (fan_out) as ResNets use.
public final class Conv2d: Module {
    public var weight: Tensor
    public var bias: Tensor?
    public let geometry: Conv2dGeometry

    public enum Initialization { case pytorchDefault, heNormal }

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, initialization: Initialization = .pytorchDefault) {
        geometry = Conv2dGeometry(stride: stride, padding: padding, dilation: dilation, groups: groups)
        let shape = [outChannels, inChannels / groups, kernelSize, kernelSize]
        let fanIn = Float(inChannels / groups * kernelSize * kernelSize)
        switch initialization {
        case .pytorchDefault:
            weight = ParameterInit.uniform(shape, bound: 1 / fanIn.squareRoot())
        case .heNormal:
            weight = ParameterInit.normal(shape, std: (2 / Float(outChannels * kernelSize * kernelSize)).squareRoot())
        }
        self.bias = bias ? ParameterInit.uniform([outChannels], bound: 1 / fanIn.squareRoot()) : nil
    }

    override public func forward(_ x: Tensor) throws -> Tensor {
        try conv2d(x, weight: weight, bias: bias, geometry: geometry)
    }
}
