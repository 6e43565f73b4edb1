/// FedLoGe's global and local adaptive feature realignment (GLA-FR): training-free fixes of a linear head
/// (C, d) trained on long-tailed data, whose class rows grow with their classes' frequency.
///
///     global (GA-FR):  w'_c = s w_c / ||w_c||            every class row gets norm s; the bias is kept
///     local  (LA-FR):  w^k_c = w_c ||l^k_c||             the raw rows take the norms of client k's local
///                                                        head l^k, which carry that client's class preference
public enum HeadRealignment {
    /// ||w_c|| of every row of a (C, d) weight, accumulated in double.
    public static func rowNorms(_ weight: Tensor) throws -> [Double] {
        let (c, d) = try rows(weight, "rowNorms")
        return (0..<c).map { r in (0..<d).reduce(0.0) { $0 + Double(weight.pointer[r * d + $1]) * Double(weight.pointer[r * d + $1]) }.squareRoot() }
    }

    /// GA-FR: every row rescaled to norm `scale`. A zero row has no direction to keep and is refused.
    public static func global(_ weight: Tensor, scale: Double) throws -> Tensor {
        let norms = try rowNorms(weight)
        if let zero = norms.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
            throw TensorError("GA-FR: row \(zero) of the head has norm \(norms[zero]); it cannot be rescaled")
        }
        return try scaledRows(weight, by: norms.map { scale / $0 })
    }

    /// LA-FR: every row of `weight` multiplied by the norm of the same row of `localWeight` (same shape).
    public static func local(_ weight: Tensor, localWeight: Tensor) throws -> Tensor {
        guard localWeight.shape == weight.shape else {
            throw TensorError("LA-FR: local head \(localWeight.shape) does not match the auxiliary head \(weight.shape)")
        }
        return try scaledRows(weight, by: rowNorms(localWeight))
    }

    /// Row r of a (C, d) weight times factors[r], as a new tensor without gradient history.
    static func scaledRows(_ weight: Tensor, by factors: [Double]) throws -> Tensor {
        let (c, d) = try rows(weight, "scaledRows")
        let out = Tensor(uninitializedShape: weight.shape)
        for r in 0..<c {
            for k in 0..<d { out.pointer[r * d + k] = Float(Double(weight.pointer[r * d + k]) * factors[r]) }
        }
        return out
    }

    private static func rows(_ weight: Tensor, _ op: String) throws -> (Int, Int) {
        guard weight.rank == 2 else { throw TensorError("HeadRealignment.\(op): needs a (classes, features) weight, got \(weight.shape)") }
        return (weight.shape[0], weight.shape[1])
    }
}
