import CTrainingLab

/// L-inf projected gradient ascent on an input (Madry et al. 2018): from a start inside the eps-ball,
/// repeat x' = clip_{[x - eps, x + eps] and bounds}(x' + stepSize * sign(grad_x' objective)). FGSM is one
/// step of size eps from the clean input. The model is put in evaluation mode while attacking (batch
/// statistics must not depend on the attack) and restored afterwards; its parameters receive no gradient.
public struct PGDAttack: Equatable, Sendable {
    public enum Start: Equatable, Sendable {
        /// The clean input (FGSM, deterministic PGD).
        case clean
        /// x + U(-eps, eps) per element (Madry's random start).
        case uniform
        /// x + std * N(0, 1) per element (TRADES starts with std 0.001).
        case gaussian(std: Float)
    }

    public let eps: Float
    public let stepSize: Float
    public let steps: Int
    public let start: Start
    /// Independent starts in `evaluate`; a sample counts as robust only if no restart fools the model.
    public let restarts: Int
    /// The valid input range (pixels in [0, 1]).
    public let bounds: ClosedRange<Float>

    public init(eps: Float, stepSize: Float, steps: Int, start: Start = .uniform, restarts: Int = 1,
                bounds: ClosedRange<Float> = 0...1) throws {
        guard eps >= 0, eps.isFinite, stepSize >= 0, stepSize.isFinite else {
            throw ConfigError("PGD attack: eps (\(eps)) and step size (\(stepSize)) must be finite and >= 0")
        }
        guard steps >= 1, restarts >= 1 else { throw ConfigError("PGD attack: steps (\(steps)) and restarts (\(restarts)) must be >= 1") }
        if case .gaussian(let std) = start, !(std >= 0 && std.isFinite) {
            throw ConfigError("PGD attack: the Gaussian start needs a finite std >= 0, got \(std)")
        }
        self.eps = eps
        self.stepSize = stepSize
        self.steps = steps
        self.start = start
        self.restarts = restarts
        self.bounds = bounds
    }

    /// FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps from the clean input.
    public static func fgsm(eps: Float, bounds: ClosedRange<Float> = 0...1) throws -> PGDAttack {
        try PGDAttack(eps: eps, stepSize: eps, steps: 1, start: .clean, bounds: bounds)
    }

    /// The usual evaluation attack: random start and step 2.5 eps / steps, so the path can cross the ball.
    public static func evaluation(eps: Float, steps: Int, restarts: Int = 1) throws -> PGDAttack {
        try PGDAttack(eps: eps, stepSize: 2.5 * eps / Float(steps), steps: steps, start: .uniform, restarts: restarts)
    }

    /// The final iterate of one attack from one start (adversarial training). Forward + backward passes
    /// per sample: `steps`.
    public func perturb(_ model: Module, _ x: Tensor, objective: AttackObjective, seed: UInt64) throws -> Tensor {
        try model.inEvaluationMode {
            let xa = try startingPoint(x, seed: seed)
            for _ in 0..<steps {
                let (_, _, gradient) = try inputGradient(of: model, at: xa, objective: objective)
                try step(xa, gradient: gradient, origin: x, size: stepSize)
            }
            return xa
        }
    }

    /// Which samples of a labelled batch withstand the attack: every restart's start and iterates are
    /// checked, and a sample is robust only if the model classifies all of them correctly (the attack keeps
    /// the first point that fools it, so more steps or restarts can only lower robust accuracy). Fooled
    /// samples leave the batch, so later steps cost only what is still standing; the batch shrinks through
    /// a few fixed sizes (padded with finished rows) so that buffers of the same sizes are reused.
    /// Returns the flags and, per sample, the first fooling point (or the last iterate of the last
    /// restart where none fooled it).
    public func evaluate(_ model: Module, _ x: Tensor, labels: [Int32], loss: ClassificationAttackLoss,
                         seed: UInt64) throws -> (robust: [Bool], adversarial: Tensor) {
        let n = x.rank >= 1 ? x.shape[0] : 0
        guard labels.count == n else { throw TensorError("PGD evaluate: \(labels.count) labels for \(n) inputs") }
        var robust = [Bool](repeating: true, count: n)
        let adversarial = x.copy()
        let row = n > 0 ? x.count / n : 0
        func record(_ sample: Int, from xa: Tensor, row i: Int) {
            (adversarial.pointer + sample * row).update(from: xa.pointer + i * row, count: row)
        }
        try model.inEvaluationMode {
            for restart in 0..<restarts {
                // rows[i]: the sample in batch row i; live[i]: still attacked (false for fooled and padding rows).
                var rows = robust.indices.filter { robust[$0] }
                guard let first = rows.first else { break }
                var live = [Bool](repeating: true, count: rows.count)
                let padding = PGDAttack.batchSize(for: rows.count, atMost: n) - rows.count
                rows += [Int](repeating: first, count: padding)
                live += [Bool](repeating: false, count: padding)
                var origin = try x.gatheringRows(rows).detached()
                var xa = try startingPoint(origin, seed: SeededGenerator(seed: seed).split(UInt64(restart)).seed)
                for k in 0...steps {
                    let y = rows.map { labels[$0] }
                    let logits: Tensor, gradient: Tensor?
                    if k < steps {
                        (logits, _, gradient) = try inputGradient(of: model, at: xa, objective: loss.objective(labels: y))
                    } else {
                        logits = try withoutGradients { try model(xa) }
                        gradient = nil
                    }
                    let predicted = try predictions(logits: logits.scalars, classes: logits.shape[1])
                    for i in rows.indices where live[i] && predicted[i] != y[i] {
                        robust[rows[i]] = false
                        record(rows[i], from: xa, row: i)
                        live[i] = false
                    }
                    let standing = live.filter { $0 }.count
                    if k == steps || standing == 0 {
                        if restart == restarts - 1 { for i in rows.indices where live[i] { record(rows[i], from: xa, row: i) } }
                        break
                    }
                    var g = gradient!
                    let size = PGDAttack.batchSize(for: standing, atMost: rows.count)
                    if size < rows.count {
                        let finished = rows.indices.filter { !live[$0] }.prefix(size - standing)
                        let keep = rows.indices.filter { live[$0] } + finished
                        (rows, live) = (keep.map { rows[$0] }, keep.map { live[$0] })
                        (xa, origin, g) = (try xa.gatheringRows(keep).detached(), try origin.gatheringRows(keep).detached(),
                                           try g.gatheringRows(keep).detached())
                    }
                    try step(xa, gradient: g, origin: origin, size: stepSize)
                }
            }
        }
        return (robust, adversarial)
    }

    /// The smallest of 1, 2, 3, 4, 6, 8, 12, 16, ... (2^k and 3 * 2^k) that holds `count` rows, capped at `limit`.
    static func batchSize(for count: Int, atMost limit: Int) -> Int {
        var size = 1
        while size < count { size = size == 1 ? 2 : size.nonzeroBitCount == 1 ? size * 3 / 2 : size * 4 / 3 }
        return min(size, limit)
    }

    /// x plus the start's noise, projected into the ball and the bounds.
    func startingPoint(_ x: Tensor, seed: UInt64) throws -> Tensor {
        let noise: Tensor
        switch start {
        case .clean: return x.detached().copy()
        case .uniform: noise = Tensor.uniform(x.shape, low: -eps, high: eps, seed: seed)
        case .gaussian(let std): noise = Tensor.normal(x.shape, mean: 0, std: std, seed: seed)
        }
        let xa = try withoutGradients { try x.detached() + noise }
        // A zero-size step is a pure projection: the sign of any gradient is scaled by 0.
        try step(xa, gradient: noise, origin: x, size: 0)
        return xa
    }

    /// One signed step of `xa` in place, projected onto the eps-ball around `origin` and the bounds.
    func step(_ xa: Tensor, gradient: Tensor, origin: Tensor, size: Float) throws {
        guard xa.shape == gradient.shape, xa.shape == origin.shape else {
            throw TensorError("PGD step: input \(xa.shape), gradient \(gradient.shape) and origin \(origin.shape) differ")
        }
        try tlCheck(tl_sign_step_project(xa.pointer, gradient.pointer, origin.pointer, xa.count, size, eps,
                                         bounds.lowerBound, bounds.upperBound))
        withExtendedLifetime((gradient, origin)) {}
    }
}
