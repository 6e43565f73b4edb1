/// The basic block of He et al.'s CIFAR ResNets: conv3x3-BN-ReLU-conv3x3-BN plus a shortcut, then ReLU.
/// When the shape changes the shortcut is the paper's option A: subsample by the stride and pad the new
/// channels with zeros (no parameters), done as a fixed 1x1 strided convolution with an identity kernel.
public final class ResidualBlock: Module {
    let conv1: Conv2d
    let bn1: BatchNorm
    let conv2: Conv2d
    let bn2: BatchNorm
    /// Held in a struct so that reflection does not list the fixed kernel as model state.
    let shortcut: ZeroPadShortcut?

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int) {
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1, bias: false, initialization: .heNormal)
        bn1 = BatchNorm(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, bias: false, initialization: .heNormal)
        bn2 = BatchNorm(outChannels)
        shortcut = stride != 1 || inChannels != outChannels ? ZeroPadShortcut(inChannels, outChannels, stride: stride) : nil
    }

    override public func forward(_ x: Tensor) throws -> Tensor {
        let h = try conv2(bn1.forwardReLU(conv1(x)))
        return try bn2.forwardReLU(h, adding: shortcut.map { try $0(x) } ?? x)
    }
}

/// y[:, c] = x[:, c, ::stride, ::stride] for c < inChannels, 0 for the added channels.
struct ZeroPadShortcut {
    let kernel: Tensor
    let geometry: Conv2dGeometry

    init(_ inChannels: Int, _ outChannels: Int, stride: Int) {
        var identity = [Float](repeating: 0, count: outChannels * inChannels)
        for c in 0..<min(inChannels, outChannels) { identity[c * inChannels + c] = 1 }
        kernel = try! Tensor(identity, shape: [outChannels, inChannels, 1, 1])
        geometry = Conv2dGeometry(stride: stride)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try conv2d(x, weight: kernel, bias: nil, geometry: geometry) }
}
