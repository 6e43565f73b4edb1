import Foundation

/// Batch-level losses over the cosine kernel S = Z Zᵀ of unit embeddings Z (n, d) and their labels: the
/// supervised contrastive loss and the submodular set losses of SCoRe (Majee et al., ICML 2024), as the
/// official code computes them. None is a sum of per-sample terms: each reads the whole kernel, so a
/// method adds the result to the step's loss as one scalar. With two views per image, n = 2B and the
/// labels are the batch's labels twice. P(i) = {j ≠ i : y_j = y_i}, N(i) = {j : y_j ≠ y_i}, A_k the
/// samples of class k, τ the temperature, τ_b the base temperature, λ the set-function weight.
public enum SetLoss: String, CaseIterable, Sendable {
    /// Facility location: λ (τ/τ_b) mean_j log Σ_i exp(M_ij), M = S off-class and 0 on same-class entries
    /// (zeros, not excluded, as in the official code), a smooth maximum over each column without temperature.
    case facilityLocation = "fl"
    /// Graph cut, total-correlation form (is_cf): mean_i (τ/τ_b) λ Σ_{N(i)} S_ij / |P(i)|.
    case graphCut = "gc"
    /// Graph cut, ratio form (is_cf False): mean_i -(τ/τ_b) log(λ Σ_{P(i)} S'_ij / Σ_{N(i)} S'_ij) with
    /// S' = (S + 1)/2 in [0, 1]; the official code uses S itself and turns NaN once Σ_{N(i)} S_ij <= 0.
    case graphCutRatio = "gc-ratio"
    /// Log-determinant, total correlation (is_cf): Σ_k log det(S_{A_k} + δI) - log det(S + δI).
    case logDet = "logdet"
    /// Log-determinant, total information (is_cf False): -(τ/τ_b) / #classes Σ_k log det(S_{A_k} + δI).
    case logDetInformation = "logdet-sf"
    /// Submod-SupCon: mean_i (τ/τ_b) [log Σ_{N(i)} exp(S_ij/τ) - (1/n) Σ_{P(i)} S_ij/τ] (the code divides
    /// by n, not |P(i)|; its printed value also carries a detached row-maximum term that has no gradient).
    case submodSupCon = "submod-supcon"
    /// SupCon (Khosla et al. 2020, L_out): mean_i -(τ/τ_b) / |P(i)| Σ_{p ∈ P(i)} log(exp(S_ip/τ) / Σ_{a ≠ i} exp(S_ia/τ)).
    case supCon = "supcon"
}

/// Constants of the set losses (the official defaults as SCoRe's stage 1 calls them).
public struct SetLossSettings: Equatable, Sendable {
    public var temperature: Double
    public var baseTemperature: Double
    /// λ of facility location and graph cut.
    public var lambda: Double
    /// δ added to the diagonal of the log-determinant kernels.
    public var ridge: Double

    public init(temperature: Double = 0.07, baseTemperature: Double = 0.07, lambda: Double = 1, ridge: Double = 0.5) {
        self.temperature = temperature
        self.baseTemperature = baseTemperature
        self.lambda = lambda
        self.ridge = ridge
    }
}

/// The loss `kind` of unit embeddings z (n, d) with labels (n); a scalar.
public func setLoss(_ kind: SetLoss, embeddings z: Tensor, labels: [Int32], settings: SetLossSettings = SetLossSettings()) throws -> Tensor {
    guard z.rank == 2, z.shape[0] == labels.count, labels.count > 1 else {
        throw TensorError("setLoss(\(kind.rawValue)): embeddings \(z.shape) do not match \(labels.count) labels (need n > 1 rows)")
    }
    let s = settings, n = labels.count
    let scale = Float(s.temperature / s.baseTemperature)
    let masks = SetMasks(labels)
    func offClass(_ x: Tensor) throws -> Tensor { try x * Tensor(masks.negative.map { $0 ? 1 : 0 }, shape: [n, n]) }
    switch kind {
    case .facilityLocation:
        let kernel = try matmul(z, z, transposeB: true)
        return try logSumExp(offClass(kernel), axis: 0).mean() * (Float(s.lambda) * scale)
    case .graphCut:
        let positives = try masks.positiveCounts(for: kind)
        let crossSums = try offClass(matmul(z, z, transposeB: true)).sum(alongAxis: 1)
        return try (crossSums * Tensor(positives.map { Float(s.lambda) * scale / Float($0) }, shape: [n])).mean()
    case .graphCutRatio:
        guard s.lambda > 0 else { throw TensorError("setLoss(gc-ratio): lambda must be > 0, got \(s.lambda)") }
        _ = try masks.positiveCounts(for: kind)
        _ = try masks.negativeCounts(for: kind)
        let shifted = try matmul(z, z, transposeB: true) * 0.5 + 0.5
        let positive = try (shifted * Tensor(masks.positive.map { $0 ? 1 : 0 }, shape: [n, n])).sum(alongAxis: 1)
        let negative = try offClass(shifted).sum(alongAxis: 1)
        return try (log(positive) - log(negative) + Float(Foundation.log(s.lambda))).mean() * -scale
    case .logDet, .logDetInformation:
        var total = try gramLogDeterminant(z.gatheringRows(masks.classMembers[0]), ridge: s.ridge)
        for members in masks.classMembers.dropFirst() {
            total = try total + gramLogDeterminant(z.gatheringRows(members), ridge: s.ridge)
        }
        if kind == .logDet { return try total - gramLogDeterminant(z, ridge: s.ridge) }
        return try total * (-scale / Float(masks.classMembers.count))
    case .submodSupCon, .supCon:
        let logits = try matmul(z, z, transposeB: true) * Float(1 / s.temperature)
        let counts = try masks.positiveCounts(for: kind)
        let normaliser: Tensor, weights: [Float]
        if kind == .supCon {
            normaliser = try logSumExp(logits, axis: 1, mask: (0..<(n * n)).map { $0 / n != $0 % n })
            weights = (0..<(n * n)).map { masks.positive[$0] ? 1 / Float(counts[$0 / n]) : 0 }
        } else {
            _ = try masks.negativeCounts(for: kind)
            normaliser = try logSumExp(logits, axis: 1, mask: masks.negative)
            weights = masks.positive.map { $0 ? 1 / Float(n) : 0 }
        }
        let attraction = try (logits * Tensor(weights, shape: [n, n])).sum(alongAxis: 1)
        return try (normaliser - attraction).mean() * scale
    }
}

/// Same-class structure of a label vector, row-major n x n.
private struct SetMasks {
    let n: Int
    /// j ≠ i with the same label.
    let positive: [Bool]
    /// Different label.
    let negative: [Bool]
    /// Sample indices of each label present, in label order.
    let classMembers: [[Int]]

    init(_ labels: [Int32]) {
        n = labels.count
        var positive = [Bool](repeating: false, count: n * n), negative = positive
        for i in 0..<n {
            for j in 0..<n {
                positive[i * n + j] = i != j && labels[i] == labels[j]
                negative[i * n + j] = labels[i] != labels[j]
            }
        }
        self.positive = positive
        self.negative = negative
        classMembers = Dictionary(grouping: 0..<n) { labels[$0] }.sorted { $0.key < $1.key }.map(\.value)
    }

    /// |P(i)|; every sample needs a positive (two views of each image guarantee one).
    func positiveCounts(for kind: SetLoss) throws -> [Int] {
        let counts = (0..<n).map { i in (0..<n).filter { positive[i * n + $0] }.count }
        if let i = counts.firstIndex(of: 0) {
            throw TensorError("setLoss(\(kind.rawValue)): sample \(i) has no other sample of its class (use two views per image)")
        }
        return counts
    }

    /// |N(i)|; every sample needs a sample of another class.
    func negativeCounts(for kind: SetLoss) throws -> [Int] {
        let counts = (0..<n).map { i in (0..<n).filter { negative[i * n + $0] }.count }
        if let i = counts.firstIndex(of: 0) {
            throw TensorError("setLoss(\(kind.rawValue)): sample \(i) has no sample of another class in the batch")
        }
        return counts
    }
}
