import CTrainingLab

/// Pooling window: (height, width) pairs of kernel, stride and padding.
public struct Pool2dGeometry: Sendable {
    public var kernel: (Int, Int)
    public var stride: (Int, Int)
    public var padding: (Int, Int)

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = (kernel, kernel)
        self.stride = (stride ?? kernel, stride ?? kernel)
        self.padding = (padding, padding)
    }

    func outputShape(_ x: Tensor, _ op: String) throws -> [Int] {
        guard x.rank == 4 else { throw TensorError("\(op): needs (N, C, H, W), got \(x.shape)") }
        let oh = (x.shape[2] + 2 * padding.0 - kernel.0) / stride.0 + 1
        let ow = (x.shape[3] + 2 * padding.1 - kernel.1) / stride.1 + 1
        guard kernel.0 > 0, kernel.1 > 0, stride.0 > 0, stride.1 > 0, oh > 0, ow > 0 else {
            throw TensorError("\(op): window \(kernel) stride \(stride) padding \(padding) does not fit input \(x.shape)")
        }
        return [x.shape[0], x.shape[1], oh, ow]
    }
}

/// Max pooling over (N, C, H, W); gradients flow to the argmax of each window.
public func maxPool2d(_ x: Tensor, _ g: Pool2dGeometry) throws -> Tensor {
    let y = Tensor(uninitializedShape: try g.outputShape(x, "maxPool2d"))
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    // Argmax indices live in a pooled buffer (same size as float32): a fresh multi-megabyte array per call
    // would page-fault on every write.
    let indices = GradMode.isEnabled && x.requiresGrad ? Storage(count: y.count) : nil
    let idx = indices.map { UnsafeMutableRawPointer($0.pointer).assumingMemoryBound(to: Int32.self) }
    try tlCheck(tl_maxpool2d_forward(y.pointer, idx, x.pointer, n, c, h, w,
                                     g.kernel.0, g.kernel.1, g.stride.0, g.stride.1, g.padding.0, g.padding.1))
    return y.recording("max_pool2d", inputs: [x]) { dy, _, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_maxpool2d_backward(dx.pointer, dy.pointer, idx, n, c, h, w,
                                          g.kernel.0, g.kernel.1, g.stride.0, g.stride.1, g.padding.0, g.padding.1))
        withExtendedLifetime(indices) {}
        return [dx]
    }
}

/// Average pooling; `countIncludePad` divides by the full window (PyTorch's default).
public func avgPool2d(_ x: Tensor, _ g: Pool2dGeometry, countIncludePad: Bool = true) throws -> Tensor {
    let y = Tensor(uninitializedShape: try g.outputShape(x, "avgPool2d"))
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let mode: Int32 = countIncludePad ? 1 : 0
    try tlCheck(tl_avgpool2d_forward(y.pointer, x.pointer, n, c, h, w, g.kernel.0, g.kernel.1, g.stride.0, g.stride.1,
                                     g.padding.0, g.padding.1, mode))
    return y.recording("avg_pool2d", inputs: [x]) { dy, _, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_avgpool2d_backward(dx.pointer, dy.pointer, n, c, h, w, g.kernel.0, g.kernel.1, g.stride.0, g.stride.1,
                                          g.padding.0, g.padding.1, mode))
        return [dx]
    }
}

/// (N, C, H, W) -> (N, C): the mean of each plane.
public func globalAvgPool2d(_ x: Tensor) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("globalAvgPool2d: needs (N, C, H, W), got \(x.shape)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let y = Tensor(uninitializedShape: [n, c])
    try tlCheck(tl_global_avgpool2d_forward(y.pointer, x.pointer, n, c, h, w))
    return y.recording("global_avg_pool2d", inputs: [x]) { dy, _, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(tl_global_avgpool2d_backward(dx.pointer, dy.pointer, n, c, h, w))
        return [dx]
    }
}
