import CTrainingLab

/// Matrix factorisations with gradients: the reduced QR, and the inverse and log|det| through an LU
/// factorisation (LAPACK from OpenBLAS, in float). logDeterminant (LogDeterminant.swift) is the
/// symmetric positive definite case, by Cholesky in double.

/// Reduced QR of a tall or square matrix a (m, n), m >= n: q (m, n) with orthonormal columns and upper
/// triangular r (n, n) with a = q r (r's diagonal may be negative, as LAPACK leaves it). The gradient
/// assumes a has full column rank.
public func qr(_ a: Tensor) throws -> (q: Tensor, r: Tensor) {
    guard a.rank == 2, a.shape[0] >= a.shape[1], a.shape[1] > 0 else {
        throw TensorError("qr: needs a matrix (m, n) with m >= n > 0, got \(a.shape)")
    }
    let (m, n) = (a.shape[0], a.shape[1])
    // q and r are recorded as two slices of one packed tensor, so a single node sees both gradients
    // (the slices' backward fills the part a factor did not receive with zeros).
    let packed = Tensor(uninitializedShape: [m * n + n * n])
    try tlCheck(tl_qr(packed.pointer, packed.pointer + m * n, a.pointer, m, n))
    packed.recording("qr", inputs: [a]) { g, out, _ in
        let da = Tensor(uninitializedShape: a.shape)
        try tlCheck(tl_qr_backward(da.pointer, g.pointer, g.pointer + m * n, out.pointer, out.pointer + m * n, m, n))
        return [da]
    }
    return (try packed.narrowed(axis: 0, start: 0, length: m * n).reshaped([m, n]),
            try packed.narrowed(axis: 0, start: m * n, length: n * n).reshaped([n, n]))
}

/// a⁻¹ of a square matrix by LU with partial pivoting; throws when a is singular. The gradient is
/// -a⁻ᵀ g a⁻ᵀ.
public func inverse(_ a: Tensor) throws -> Tensor {
    let n = try squareSize("inverse", a)
    let inv = Tensor(uninitializedShape: [n, n])
    try tlCheck(tl_lu_inverse(inv.pointer, nil, a.pointer, n))
    return inv.recording("inverse", inputs: [a]) { g, out, _ in
        [try matmul(out, matmul(g, out, transposeB: true), transposeA: true) * -1]
    }
}

/// log |det a| of a square matrix by LU with partial pivoting; throws when a is singular. The gradient
/// is a⁻ᵀ, computed with the factorisation only when a gradient is needed.
public func logAbsDeterminant(_ a: Tensor) throws -> Tensor {
    let n = try squareSize("logAbsDeterminant", a)
    let inv = GradMode.isEnabled && a.requiresGrad ? Tensor(uninitializedShape: [n, n]) : nil
    var value = 0.0
    try tlCheck(tl_lu_inverse(inv?.pointer, &value, a.pointer, n))
    return Tensor(scalar: Float(value)).recording("logabsdet", inputs: [a]) { g, _, _ in
        [try inv!.transposed() * g.pointer[0]]
    }
}

/// n of a square (n, n) matrix with n > 0, or an error naming `op` and the shape.
func squareSize(_ op: String, _ a: Tensor) throws -> Int {
    guard a.rank == 2, a.shape[0] == a.shape[1], a.shape[0] > 0 else {
        throw TensorError("\(op): needs a square (n, n) matrix, got \(a.shape)")
    }
    return a.shape[0]
}
