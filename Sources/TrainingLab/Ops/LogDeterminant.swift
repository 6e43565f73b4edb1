import CTrainingLab
import Foundation

/// log det((a + aᵀ)/2 + ridge I) of a square matrix a (n, n), by Cholesky in double. The symmetrisation
/// makes the value a function of every entry, so the gradient g B⁻¹ agrees with finite differences of
/// any entry; for the symmetric kernels of set functions it changes nothing. Throws when the matrix plus
/// ridge is not positive definite. logAbsDeterminant (Factorizations.swift) handles general matrices.
public func logDeterminant(_ a: Tensor, ridge: Double = 0) throws -> Tensor {
    let n = try squareSize("logDeterminant", a)
    let needsGradient = GradMode.isEnabled && a.requiresGrad
    let inverse = needsGradient ? Tensor(uninitializedShape: [n, n]) : nil
    var value = 0.0
    try tlCheck(tl_logdet_spd(&value, inverse?.pointer, a.pointer, n, ridge))
    return Tensor(scalar: Float(value)).recording("logdet", inputs: [a]) { g, _, _ in
        [try inverse! * g.pointer[0]]
    }
}

/// log det(z zᵀ + ridge I_n) of the Gram matrix of the rows of z (n, d), through the smaller of the two
/// Gram matrices: when n > d, log det(zᵀ z + ridge I_d) + (n - d) log(ridge) (the eigenvalues of z zᵀ are
/// those of zᵀ z plus n - d zeros), which needs ridge > 0.
public func gramLogDeterminant(_ z: Tensor, ridge: Double) throws -> Tensor {
    guard z.rank == 2, z.shape[0] > 0, z.shape[1] > 0 else { throw TensorError("gramLogDeterminant: needs (n, d), got \(z.shape)") }
    let (n, d) = (z.shape[0], z.shape[1])
    if n <= d { return try logDeterminant(matmul(z, z, transposeB: true), ridge: ridge) }
    guard ridge > 0 else { throw TensorError("gramLogDeterminant: ridge must be > 0 for \(n) rows of dimension \(d), got \(ridge)") }
    return try logDeterminant(matmul(z, z, transposeA: true), ridge: ridge) + Float(Double(n - d) * Foundation.log(ridge))
}
