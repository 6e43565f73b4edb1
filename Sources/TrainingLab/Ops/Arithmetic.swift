import CTrainingLab

/// Element-wise arithmetic on tensors, and with scalars. Equal shapes take the plain kernels (the hot
/// path of training loops); other shapes broadcast (Broadcasting.swift).

private func sameShape(_ op: String, _ a: Tensor, _ b: Tensor) throws {
    guard a.shape == b.shape else { throw TensorError("\(op): shapes \(a.shape) and \(b.shape) differ") }
}

/// Applies a binary C kernel to equal-shaped tensors into a fresh output.
private func binary(_ op: String, _ a: Tensor, _ b: Tensor,
                    _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32) throws -> Tensor {
    try sameShape(op, a, b)
    let out = Tensor(uninitializedShape: a.shape)
    try tlCheck(kernel(out.pointer, a.pointer, b.pointer, a.count))
    return out
}

/// y = alpha * x + beta into a fresh tensor.
func affine(_ x: Tensor, _ alpha: Float, _ beta: Float) throws -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    try tlCheck(tl_affine(out.pointer, x.pointer, x.count, alpha, beta))
    return out
}

public func + (a: Tensor, b: Tensor) throws -> Tensor {
    guard a.shape == b.shape else { return try broadcasting(TL_BINARY_ADD, "add", a, b) }
    return try binary("add", a, b, tl_add).recording("add", inputs: [a, b]) { g, _, _ in [g, g] }
}

public func - (a: Tensor, b: Tensor) throws -> Tensor {
    guard a.shape == b.shape else { return try broadcasting(TL_BINARY_SUB, "sub", a, b) }
    return try binary("sub", a, b, tl_sub).recording("sub", inputs: [a, b]) { g, _, needs in
        [g, needs[1] ? try affine(g, -1, 0) : nil]
    }
}

public func * (a: Tensor, b: Tensor) throws -> Tensor {
    guard a.shape == b.shape else { return try broadcasting(TL_BINARY_MUL, "mul", a, b) }
    return try binary("mul", a, b, tl_mul).recording("mul", inputs: [a, b]) { g, _, needs in
        [needs[0] ? try binary("mul", g, b, tl_mul) : nil, needs[1] ? try binary("mul", g, a, tl_mul) : nil]
    }
}

/// a / b element-wise, broadcasting (there is no separate equal-shape kernel: the broadcast one walks
/// equal shapes contiguously).
public func / (a: Tensor, b: Tensor) throws -> Tensor { try broadcasting(TL_BINARY_DIV, "div", a, b) }

public func * (x: Tensor, s: Float) throws -> Tensor {
    try affine(x, s, 0).recording("scale", inputs: [x]) { g, _, _ in [try affine(g, s, 0)] }
}

public func * (s: Float, x: Tensor) throws -> Tensor { try x * s }

public func + (x: Tensor, s: Float) throws -> Tensor {
    try affine(x, 1, s).recording("add_scalar", inputs: [x]) { g, _, _ in [g] }
}

public func - (x: Tensor, s: Float) throws -> Tensor { try x + (-s) }

public func / (x: Tensor, s: Float) throws -> Tensor { try x * (1 / s) }

public prefix func - (x: Tensor) throws -> Tensor { try x * -1 }
