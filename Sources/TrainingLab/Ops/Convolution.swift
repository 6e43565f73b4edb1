import CTrainingLab

/// 2-D convolution geometry: (height, width) pairs for stride, padding and dilation, and groups.
public struct Conv2dGeometry: Equatable, Sendable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int

    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.dilation = (dilation, dilation)
        self.groups = groups
    }

    public static func == (a: Conv2dGeometry, b: Conv2dGeometry) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups
    }

    func params(input: [Int], weight: [Int]) -> tl_conv2d_params {
        tl_conv2d_params(batch: input[0], in_channels: input[1], in_h: input[2], in_w: input[3],
                         out_channels: weight[0], kernel_h: weight[2], kernel_w: weight[3],
                         stride_h: stride.0, stride_w: stride.1, pad_h: padding.0, pad_w: padding.1,
                         dilation_h: dilation.0, dilation_w: dilation.1, groups: groups)
    }
}

/// y (N, C_out, OH, OW) = conv(x (N, C_in, H, W), weight (C_out, C_in/groups, KH, KW)) + bias (C_out).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2dGeometry = Conv2dGeometry()) throws -> Tensor {
    guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[1] * geometry.groups else {
        throw TensorError("conv2d: input \(x.shape) does not match weight \(weight.shape) with \(geometry.groups) group(s); expected (N, \(weight.rank == 4 ? weight.shape[1] * geometry.groups : -1), H, W)")
    }
    let p = geometry.params(input: x.shape, weight: weight.shape)
    var oh = 0, ow = 0
    try tlCheck(tl_conv2d_output_size(&oh, &ow, p))
    let y = Tensor(uninitializedShape: [x.shape[0], weight.shape[0], oh, ow])
    try tlCheck(tl_conv2d_forward(y.pointer, x.pointer, weight.pointer, bias?.pointer, p))
    FlopCounter.add(2 * y.count * weight.count / weight.shape[0])
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return y.recording("conv2d", inputs: inputs) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
        let dw = needs[1] ? Tensor(uninitializedShape: weight.shape) : nil
        let db = needs.count > 2 && needs[2] ? Tensor(uninitializedShape: [weight.shape[0]]) : nil
        try tlCheck(tl_conv2d_backward(dx?.pointer, dw?.pointer, db?.pointer, g.pointer, x.pointer, weight.pointer, p))
        return Array([dx, dw, db].prefix(inputs.count))
    }
}
