/// A classifier split the FedLoGe way: a backbone phi (a classifier's layers before its last Linear) trained
/// only through a frozen classifier (W_s, b_s), and two linear heads trained on the backbone's detached
/// features: the auxiliary head (W_a, b_a), which a federated server averages, and the local head
/// (W_l, b_l), which stays with one client. `head` selects what `forward` returns:
///
///     frozen              W_s f + b_s
///     auxiliary           W_a f + b_a
///     realigned           GA-FR(W_a) f + b_a                          (HeadRealignment.global, norm `scale`)
///     local               W_l f + b_l
///     personal            (W_l f + b_l) + (W_a f + b_a)
///     personalRealigned   (W_l f + b_l) + (LA-FR(W_a; W_l) f + b_a)    (HeadRealignment.local)
///
/// With a capture listening (`ForwardCapture`), `forward` also publishes "features" and the logits of the
/// three global heads ("frozen_logits", "auxiliary_logits", "realigned_logits"), so one evaluation pass
/// scores all of them. The frozen classifier's tensors do not require gradients: no optimiser sees them.
public final class DecoupledHeadNetwork: Module {
    public enum Head: String, CaseIterable, Sendable {
        case frozen, auxiliary, realigned, local, personal, personalRealigned

        /// The name `forward` publishes this head's logits under (global heads only).
        public var outputName: String { "\(rawValue)_logits" }
    }

    public let backbone: Sequential
    public let frozen: Linear
    public let auxiliary: Linear
    public let local: Linear
    /// What `forward` returns.
    public var head: Head = .realigned
    /// s of GA-FR: the common row norm of the realigned auxiliary head.
    public var scale = 1.7
    /// Feature norms and logit scales of the training steps since the network was built (`trainingStep`).
    public private(set) var statistics = HeadStatistics()

    /// Splits `classifier` (a `Sequential` ending in a Linear (C, d), such as smallcnn) into the backbone and
    /// its last Linear, which becomes the auxiliary head (so it starts where the plain classifier starts).
    /// `frozenWeight(C, d)` gives W_s (C, d), with b_s = 0. The local head is a fresh Linear.
    public init(splitting classifier: Module, frozenWeight: (_ classes: Int, _ features: Int) throws -> Tensor) throws {
        guard let layers = (classifier as? Sequential)?.layers, layers.count >= 2, let last = layers.last as? Linear else {
            throw ConfigError("a decoupled-head network needs a Sequential classifier ending in a Linear layer (e.g. smallcnn), got \(type(of: classifier))")
        }
        let (classes, features) = (last.weight.shape[0], last.weight.shape[1])
        let weight = try frozenWeight(classes, features)
        guard weight.shape == [classes, features] else {
            throw TensorError("decoupled-head network: frozen classifier \(weight.shape), expected (\(classes), \(features)) like the classifier's last layer")
        }
        backbone = Sequential(Array(layers.dropLast()))
        auxiliary = last
        frozen = Linear(features, classes)
        frozen.weight = weight.copy()
        frozen.bias = Tensor(zeros: [classes])
        local = Linear(features, classes)
        super.init()
        if let rebuild = classifier.rebuild {
            withRecipe { try DecoupledHeadNetwork(splitting: rebuild(), frozenWeight: { Tensor(zeros: [$0, $1]) }) }
        }
    }

    public var classes: Int { auxiliary.weight.shape[0] }
    public var features: Int { auxiliary.weight.shape[1] }

    /// What a federated server shares and averages: the backbone (weights and BatchNorm buffers) and the
    /// auxiliary head; not the frozen classifier (fixed) nor the local head (private).
    public func sharedState() -> [(String, Tensor)] {
        namedState().filter { $0.0.hasPrefix("backbone.") || $0.0.hasPrefix("auxiliary.") }
    }

    /// Replaces the local head with a fresh Linear initialised from `seed` (a client's first local head).
    public func resetLocalHead(seed: UInt64) throws {
        let fresh = ParameterInit.withSeed(seed) { Linear(features, classes) }
        try local.copyState(from: fresh)
    }

    override public func forward(_ x: Tensor) throws -> Tensor {
        let f = try backbone(x)
        if ForwardCapture.isCapturing {
            ForwardCapture.record("features", f)
            for global in [Head.frozen, .auxiliary, .realigned] { ForwardCapture.record(global.outputName, try logits(of: f, global)) }
        }
        return try logits(of: f, head)
    }

    /// The logits of `head` on features f (N, d).
    public func logits(of f: Tensor, _ head: Head) throws -> Tensor {
        switch head {
        case .frozen: return try frozen(f)
        case .auxiliary: return try auxiliary(f)
        case .realigned: return try linear(f, weight: HeadRealignment.global(auxiliary.weight, scale: scale), bias: auxiliary.bias)
        case .local: return try local(f)
        case .personal: return try local(f) + auxiliary(f)
        case .personalRealigned:
            return try local(f) + linear(f, weight: HeadRealignment.local(auxiliary.weight, localWeight: local.weight), bias: auxiliary.bias)
        }
    }

    /// One training step (the objective of `objective()`): f = phi(x); L_b = CE(W_s f + b_s) reaches the
    /// backbone; L_a = CE(W_a stopgrad(f) + b_a) and L_l = CE(W_l stopgrad(f) + b_l) reach only their heads.
    /// The loop minimises L_b + L_a + L_l with one optimiser, which is FedLoGe's three optimisers: every
    /// parameter's gradient comes from one of the terms, and SGD updates each parameter on its own.
    /// L_b is the step's per-sample loss (train_loss, and train_accuracy from the SSE-C logits).
    public func trainingStep(_ step: StepState) throws {
        let f = try backbone(step.inputs)
        let stopped = f.detached()
        let (z, a, l) = (try frozen(f), try auxiliary(stopped), try local(stopped))
        step.logits = z
        step.perSampleLoss = try crossEntropy(z, labels: step.labels)
        step.extraTerms.append(("auxiliary_loss", try crossEntropy(a, labels: step.labels).mean()))
        step.extraTerms.append(("local_loss", try crossEntropy(l, labels: step.labels).mean()))
        statistics.record(features: stopped, frozen: z, auxiliary: a, local: l)
    }

    /// The loop objective of `trainingStep`.
    public func objective() -> TrainingObjective {
        ClosureObjective(forward: { [unowned self] step, _ in try self.trainingStep(step) })
    }
}

/// Means over training steps of the quantities that show whether heads on detached, growing features stay
/// in range: the feature norm ||f|| (mean over the batch) and each head's logit range (max_c z - min_c z,
/// mean over the batch).
public struct HeadStatistics: Equatable, Sendable {
    public private(set) var steps = 0
    private var sums = [Double](repeating: 0, count: 4)

    public static let keys = ["feature_norm", "logit_range_frozen", "logit_range_auxiliary", "logit_range_local"]

    mutating func record(features: Tensor, frozen: Tensor, auxiliary: Tensor, local: Tensor) {
        let values = [HeadStatistics.meanRowNorm(features)] + [frozen, auxiliary, local].map(HeadStatistics.meanRowRange)
        for k in 0..<4 { sums[k] += values[k] }
        steps += 1
    }

    /// The means by key (empty before the first step).
    public var means: [String: Double] {
        guard steps > 0 else { return [:] }
        return Dictionary(uniqueKeysWithValues: zip(HeadStatistics.keys, sums.map { $0 / Double(steps) }))
    }

    static func meanRowNorm(_ x: Tensor) -> Double {
        let (n, d) = (x.shape[0], x.count / max(1, x.shape[0]))
        return (0..<n).reduce(0.0) { total, i in total + (0..<d).reduce(0.0) { $0 + Double(x.pointer[i * d + $1]) * Double(x.pointer[i * d + $1]) }.squareRoot() } / Double(max(1, n))
    }

    static func meanRowRange(_ z: Tensor) -> Double {
        let (n, c) = (z.shape[0], z.count / max(1, z.shape[0]))
        return (0..<n).reduce(0.0) { total, i in
            let row = (0..<c).map { z.pointer[i * c + $0] }
            return total + Double(row.max()! - row.min()!)
        } / Double(max(1, n))
    }
}
