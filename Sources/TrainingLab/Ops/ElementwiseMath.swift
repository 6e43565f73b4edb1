import Foundation

/// Element-wise math beyond exp and log (ExpLog.swift): abs, sqrt, powers, clamp, acos, and selections by
/// a mask. These run as Swift loops over the buffers: they are used on small tensors (losses, geometry),
/// not per-batch activations. Masks are [Bool] in row-major order, as logSumExp takes them.

/// y = f(x) element-wise, recorded with dx = g · f'(x, y) (the derivative may use the output).
private func elementwise(_ name: String, _ x: Tensor, _ f: (Float) -> Float,
                         derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    for i in 0..<x.count { y.pointer[i] = f(x.pointer[i]) }
    return y.recording(name, inputs: [x]) { g, out, _ in
        let dx = Tensor(uninitializedShape: x.shape)
        for i in 0..<x.count { dx.pointer[i] = g.pointer[i] * derivative(x.pointer[i], out.pointer[i]) }
        return [dx]
    }
}

/// Checks that `mask` has one entry per element of every tensor in `tensors` and that they share a shape.
private func checkMask(_ op: String, _ mask: [Bool], _ tensors: Tensor...) throws {
    let shape = tensors[0].shape
    guard tensors.allSatisfy({ $0.shape == shape }) else { throw TensorError("\(op): shapes \(tensors.map(\.shape)) differ") }
    guard mask.count == tensors[0].count else {
        throw TensorError("\(op): mask of \(mask.count) entries for a tensor of shape \(shape)")
    }
}

/// |x|; the gradient at 0 is 0.
public func abs(_ x: Tensor) throws -> Tensor {
    elementwise("abs", x, { Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) })
}

/// √x; negative values give NaN and 0 an infinite gradient.
public func sqrt(_ x: Tensor) throws -> Tensor {
    elementwise("sqrt", x, { $0.squareRoot() }, derivative: { _, y in 0.5 / y })
}

/// x^p for a scalar exponent.
public func pow(_ x: Tensor, _ p: Float) throws -> Tensor {
    elementwise("pow", x, { Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
}

/// base^exponent element-wise for tensors of one shape; the exponent's gradient base^e · log(base) needs
/// base > 0.
public func pow(_ base: Tensor, _ exponent: Tensor) throws -> Tensor {
    guard base.shape == exponent.shape else { throw TensorError("pow: shapes \(base.shape) and \(exponent.shape) differ") }
    let y = Tensor(uninitializedShape: base.shape)
    for i in 0..<y.count { y.pointer[i] = Foundation.pow(base.pointer[i], exponent.pointer[i]) }
    return y.recording("pow_tensor", inputs: [base, exponent]) { g, out, needs in
        var grads: [Tensor?] = [nil, nil]
        if needs[0] {
            let d = Tensor(uninitializedShape: base.shape)
            for i in 0..<d.count {
                d.pointer[i] = g.pointer[i] * exponent.pointer[i] * Foundation.pow(base.pointer[i], exponent.pointer[i] - 1)
            }
            grads[0] = d
        }
        if needs[1] {
            let d = Tensor(uninitializedShape: base.shape)
            for i in 0..<d.count { d.pointer[i] = g.pointer[i] * out.pointer[i] * Foundation.log(base.pointer[i]) }
            grads[1] = d
        }
        return grads
    }
}

/// x limited to [min, max] (either bound may be nil); the gradient passes where min <= x <= max.
public func clamp(_ x: Tensor, min low: Float? = nil, max high: Float? = nil) throws -> Tensor {
    let lo = low ?? -.infinity, hi = high ?? .infinity
    guard lo <= hi else { throw TensorError("clamp: min \(lo) > max \(hi)") }
    return elementwise("clamp", x, { Swift.min(Swift.max($0, lo), hi) }, derivative: { x, _ in x >= lo && x <= hi ? 1 : 0 })
}

/// arccos x for x in [-1, 1] (NaN outside); the gradient -1/√(1 - x²) is infinite at ±1.
public func acos(_ x: Tensor) throws -> Tensor {
    elementwise("acos", x, { Foundation.acos($0) }, derivative: { x, _ in -1 / (1 - x * x).squareRoot() })
}

/// a where `condition` holds, b elsewhere (NumPy's where), for a and b of one shape.
public func select(_ condition: [Bool], _ a: Tensor, _ b: Tensor) throws -> Tensor {
    try checkMask("select", condition, a, b)
    let y = Tensor(uninitializedShape: a.shape)
    for i in 0..<y.count { y.pointer[i] = condition[i] ? a.pointer[i] : b.pointer[i] }
    return y.recording("select", inputs: [a, b]) { g, _, needs in
        (0..<2).map { k in
            guard needs[k] else { return nil }
            let d = Tensor(uninitializedShape: a.shape)
            for i in 0..<d.count { d.pointer[i] = condition[i] == (k == 0) ? g.pointer[i] : 0 }
            return d
        }
    }
}

/// x with `value` where `mask` holds; those elements get no gradient.
public func maskedFill(_ x: Tensor, mask: [Bool], value: Float) throws -> Tensor {
    try checkMask("maskedFill", mask, x)
    let y = Tensor(uninitializedShape: x.shape)
    for i in 0..<y.count { y.pointer[i] = mask[i] ? value : x.pointer[i] }
    return y.recording("masked_fill", inputs: [x]) { g, _, _ in
        let d = Tensor(uninitializedShape: x.shape)
        for i in 0..<d.count { d.pointer[i] = mask[i] ? 0 : g.pointer[i] }
        return [d]
    }
}
