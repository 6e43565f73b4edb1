public final class MaxPool2d: Module {
    public let geometry: Pool2dGeometry
    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) { geometry = Pool2dGeometry(kernel: kernel, stride: stride, padding: padding) }
    override public func forward(_ x: Tensor) throws -> Tensor { try maxPool2d(x, geometry) }

    /// Kernel 2, stride 2, no padding: the window the fused batch norm + ReLU + pooling kernel handles.
    var isPlain2x2: Bool { geometry.kernel == (2, 2) && geometry.stride == (2, 2) && geometry.padding == (0, 0) }
}

public final class AvgPool2d: Module {
    public let geometry: Pool2dGeometry
    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) { geometry = Pool2dGeometry(kernel: kernel, stride: stride, padding: padding) }
    override public func forward(_ x: Tensor) throws -> Tensor { try avgPool2d(x, geometry) }
}

/// (N, C, H, W) -> (N, C).
public final class GlobalAvgPool2d: Module {
    override public func forward(_ x: Tensor) throws -> Tensor { try globalAvgPool2d(x) }
}
