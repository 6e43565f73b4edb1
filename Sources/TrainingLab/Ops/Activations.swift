import CTrainingLab

/// Applies an element-wise C forward into a fresh tensor and records a backward that needs the
/// forward's output (`fromOutput`) or its input.
private func elementwise(_ name: String, _ x: Tensor, fromOutput: Bool,
                         forward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32,
                         backward: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32) throws -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    try tlCheck(forward(y.pointer, x.pointer, x.count))
    return y.recording(name, inputs: [x]) { g, out, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(backward(dx.pointer, g.pointer, fromOutput ? out.pointer : x.pointer, x.count))
        return [dx]
    }
}

public func relu(_ x: Tensor) throws -> Tensor {
    try elementwise("relu", x, fromOutput: true, forward: tl_relu_forward, backward: tl_relu_backward)
}

public func leakyRelu(_ x: Tensor, slope: Float = 0.01) throws -> Tensor {
    try elementwise("leaky_relu", x, fromOutput: true,
                    forward: { tl_leaky_relu_forward($0, $1, $2, slope) },
                    backward: { tl_leaky_relu_backward($0, $1, $2, $3, slope) })
}

/// GELU, exact (erf) or with the tanh approximation.
public func gelu(_ x: Tensor, approximate: Bool = false) throws -> Tensor {
    let mode = approximate ? TL_GELU_TANH : TL_GELU_ERF
    return try elementwise("gelu", x, fromOutput: false,
                           forward: { tl_gelu_forward($0, $1, $2, mode) },
                           backward: { tl_gelu_backward($0, $1, $2, $3, mode) })
}

public func sigmoid(_ x: Tensor) throws -> Tensor {
    try elementwise("sigmoid", x, fromOutput: true, forward: tl_sigmoid_forward, backward: tl_sigmoid_backward)
}

public func tanh(_ x: Tensor) throws -> Tensor {
    try elementwise("tanh", x, fromOutput: true, forward: tl_tanh_forward, backward: tl_tanh_backward)
}

/// Softmax along `axis` (default: the last).
public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    try softmaxFamily("softmax", x, axis: axis, forward: tl_softmax_forward, backward: tl_softmax_backward)
}

/// Log-softmax along `axis` (default: the last).
public func logSoftmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    try softmaxFamily("log_softmax", x, axis: axis, forward: tl_log_softmax_forward, backward: tl_log_softmax_backward)
}

private func softmaxFamily(_ name: String, _ x: Tensor, axis: Int,
                           forward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int, Int, Int) -> Int32,
                           backward: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int, Int, Int) -> Int32) throws -> Tensor {
    let a = axis < 0 ? x.rank + axis : axis
    guard a >= 0 && a < x.rank else { throw TensorError("\(name): axis \(axis) out of range for shape \(x.shape)") }
    let (outer, length, inner) = x.split(at: a)
    let y = Tensor(uninitializedShape: x.shape)
    try tlCheck(forward(y.pointer, x.pointer, outer, length, inner))
    return y.recording(name, inputs: [x]) { g, out, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        try tlCheck(backward(dx.pointer, g.pointer, out.pointer, outer, length, inner))
        return [dx]
    }
}
