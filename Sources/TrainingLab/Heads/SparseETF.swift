import CTrainingLab
import Foundation

/// FedLoGe's static sparse equiangular tight frame classifier (SSE-C), built once before training and then
/// frozen: the class vectors of a simplex ETF (equal norms, pairwise cosine -1/(C-1)), with a fraction of the
/// entries set to zero for good and the others refined so that every class vector has the same small norm
/// and the smallest angle between two classes is as large as possible.
///
///     P = Q factor of a (d, C) matrix of uniform [0, 1) draws            (orthonormal columns)
///     M = sqrt(C / (C - 1)) P (I - 1 1^T / C)                            (unit columns, cosines -1/(C-1))
///     zero floor(sparsity d C) entries of M, drawn without replacement; keep the mask
///     Adam (learning rate, steps) on the kept entries of M, minimising
///         sum_c (||m_c|| - norm)^2 - mean_c acos(clamp(max_{j != c} cos(m_c, m_j), -limit, limit))
///     W_s = M^T (C, d)
///
/// Everything random comes from `seed`, so a run (and every process of an MPI run) builds the same SSE-C.
public struct SparseETF {
    public struct Settings: Equatable, Sendable {
        /// beta: the fraction of M's entries that are zero.
        public var sparsity = 0.6
        /// Adam steps of the refinement, and their learning rate.
        public var steps = 10_000
        public var learningRate = 1e-4
        /// The column norm the refinement pulls every class vector to.
        public var norm = 0.1
        /// The clamp of the cosines inside acos (acos' derivative is infinite at +-1).
        public var limit = 0.99999

        public init(sparsity: Double = 0.6, steps: Int = 10_000, learningRate: Double = 1e-4, norm: Double = 0.1) {
            self.sparsity = sparsity
            self.steps = steps
            self.learningRate = learningRate
            self.norm = norm
        }
    }

    /// W_s = M^T (classes, features): the frozen classifier's weight.
    public let weight: Tensor
    /// The refinement objective before the first and after the last step.
    public let initialLoss: Double
    public let finalLoss: Double

    public init(features d: Int, classes: Int, seed: UInt64, settings: Settings = Settings()) throws {
        guard d >= classes, classes >= 2 else {
            throw TensorError("SSE-C: needs features >= classes >= 2 (an orthonormal basis of C vectors in d dimensions), got \(d) features and \(classes) classes")
        }
        guard (0..<1).contains(settings.sparsity), settings.steps >= 0, settings.learningRate >= 0, settings.norm > 0 else {
            throw TensorError("SSE-C: sparsity must be in [0, 1), steps >= 0, learning rate >= 0 and norm > 0, got \(settings)")
        }
        let root = SeededGenerator(seed: seed)
        let m = try SparseETF.simplex(features: d, classes: classes, seed: root.split("simplex").seed)
        let zeros = Int((settings.sparsity * Double(d * classes)).rounded(.down))
        let mask = try Tensor(SparseETF.sparsityMask(count: d * classes, zeros: zeros, seed: root.split("sparsity").seed), shape: m.shape)
        for i in 0..<m.count { m.pointer[i] *= mask.pointer[i] }
        (initialLoss, finalLoss) = try SparseETF.refine(m, mask: mask, settings: settings)
        weight = try m.transposed().copy()
    }

    /// M = sqrt(C/(C-1)) P (I - 1 1^T / C) (d, C), P the Q factor of uniform [0, 1) draws (d, C).
    public static func simplex(features d: Int, classes: Int, seed: UInt64) throws -> Tensor {
        let (p, _) = try withoutGradients { try qr(Tensor.uniform([d, classes], low: 0, high: 1, seed: seed)) }
        let scale = (Double(classes) / Double(classes - 1)).squareRoot()
        let m = Tensor(zeros: [d, classes])
        for i in 0..<d {
            let row = (0..<classes).reduce(0.0) { $0 + Double(p.pointer[i * classes + $1]) } / Double(classes)
            for c in 0..<classes { m.pointer[i * classes + c] = Float(scale * (Double(p.pointer[i * classes + c]) - row)) }
        }
        return m
    }

    /// A 0/1 mask of `count` entries with `zeros` zeros at positions drawn uniformly without replacement.
    public static func sparsityMask(count: Int, zeros: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var mask = [Float](repeating: 1, count: count)
        for i in generator.sample(zeros, from: count) { mask[i] = 0 }
        return mask
    }

    /// The refinement objective of m (d, C) and its gradient (d, C) (`tl_etf_angle_objective`).
    public static func objective(_ m: Tensor, norm: Double, limit: Double = 0.99999) throws -> (loss: Double, gradient: Tensor) {
        guard m.rank == 2 else { throw TensorError("SSE-C objective: needs a (features, classes) matrix, got \(m.shape)") }
        let gradient = Tensor(uninitializedShape: m.shape)
        var loss = 0.0
        try tlCheck(tl_etf_angle_objective(&loss, gradient.pointer, m.pointer, m.shape[0], m.shape[1], norm, limit))
        return (loss, gradient)
    }

    /// Adam (PyTorch's, no weight decay) on the entries of m where mask is 1; entries under a 0 stay exactly
    /// as they are (zero). Returns the objective before the first and after the last step.
    @discardableResult
    public static func refine(_ m: Tensor, mask: Tensor, settings: Settings) throws -> (initial: Double, final: Double) {
        let adam = AdamW([("m", m)], learningRate: settings.learningRate, weightDecay: 0)
        adam.masks["m"] = mask
        let initial = try objective(m, norm: settings.norm, limit: settings.limit).loss
        for _ in 0..<settings.steps {
            m.grad = try objective(m, norm: settings.norm, limit: settings.limit).gradient
            try adam.step()
        }
        m.grad = nil
        return (initial, try objective(m, norm: settings.norm, limit: settings.limit).loss)
    }

    /// What the SSE-C checks measure on a classifier weight (C, d): the fraction of exact zeros, each class
    /// vector's (row's) norm, and the smallest angle between two class vectors in degrees.
    public struct Geometry: Equatable, Sendable {
        public var zeroFraction: Double
        public var norms: [Double]
        public var smallestAngle: Double

        public init(rows w: Tensor) throws {
            guard w.rank == 2, w.shape[0] >= 2 else { throw TensorError("SSE-C geometry: needs a (classes >= 2, features) matrix, got \(w.shape)") }
            let (c, d) = (w.shape[0], w.shape[1])
            let v = w.scalars.map(Double.init)
            zeroFraction = Double(v.filter { $0 == 0 }.count) / Double(v.count)
            let norms = (0..<c).map { r in (0..<d).reduce(0.0) { $0 + v[r * d + $1] * v[r * d + $1] }.squareRoot() }
            var smallest = Double.infinity
            for a in 0..<c {
                for b in (a + 1)..<c {
                    let dot = (0..<d).reduce(0.0) { $0 + v[a * d + $1] * v[b * d + $1] }
                    smallest = min(smallest, Foundation.acos(max(-1, min(1, dot / (norms[a] * norms[b])))) * 180 / Double.pi)
                }
            }
            self.norms = norms
            smallestAngle = smallest
        }

        public var json: JSONValue {
            .object([("zero_fraction", .number(zeroFraction)), ("norm_min", .number(norms.min() ?? .nan)),
                     ("norm_max", .number(norms.max() ?? .nan)), ("smallest_angle_degrees", .number(smallestAngle))])
        }
    }
}
