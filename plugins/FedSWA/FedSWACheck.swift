import TrainingLab

/// What the four methods of the FedSWA paper share: the spec's small-scale check as run defaults, the
/// gradient-clipping option and the paper's citation.
enum FedSWACheck {
    static let paper = "J. Liu et al., Improving Generalization in Federated Learning with Highly Heterogeneous Data via Momentum-Based Stochastic Controlled Weight Averaging (FedSWA / FedMoSWA), ICML 2025"

    /// Fashion-MNIST, 30 clients of 1000 samples by per-client Dirichlet(0.1) sampling, CNN-S without BatchNorm,
    /// 6 clients per round, 25 local steps of batch 32, 40 rounds, eta0 = 0.05 with the cosine round schedule,
    /// plain local SGD with weight decay 1e-3, evaluation every 5 rounds.
    static let runDefaults: [(String, JSONValue)] = [
        ("dataset", "fashion-mnist,clients=30,alpha=0.1,client-size=1000,data-seed=42"), ("model", "cnn-s"), ("epochs", 40),
        ("batch_size", 32), ("optimizer", "sgd"), ("lr", 0.05), ("momentum", 0), ("weight_decay", 1e-3), ("schedule", "cosine"),
        ("crop_padding", 0), ("flip", false), ("eval_every", 5), ("clients_per_round", 6), ("local_steps", 25),
    ]

    static let metrics = ["accuracy_last3", "failed_clients", "skipped_rounds"]

    /// FedSWA's client cycle (fedswa, fedmoswa).
    static let cycleOptions: [OptionSpec] = [
        .double("m", 2, in: 0.001...100, help: "multiplier of the client cycle (the first local step uses m * eta_r)"),
        .double("rho", 0, in: 0...1, help: "end-of-round learning-rate ratio of the cycle"),
    ]

    /// The cycle's rate of local step k of T in a round with rate eta_r, from the `m` and `rho` options.
    static func cycle(_ options: OptionValues) throws -> (_ roundRate: Double) -> (Int, Int) -> Double {
        let (m, rho) = (try options.double("m"), try options.double("rho"))
        return { rate in { k, steps in ClientLearningRate.swaCycle(step: k, steps: steps, roundRate: rate, multiplier: m, endRatio: rho) } }
    }

    static func clip(default value: Double) -> OptionSpec {
        .double("clip", value, in: 0...1e6, help: "global L2 gradient-norm clip of local steps (0: none)")
    }

    /// The local loop's clipping transform, if any.
    static func clipping(_ options: OptionValues) throws -> [GradientTransform] {
        let clip = try options.double("clip")
        return clip > 0 ? [try GlobalNormClip(maxNorm: clip)] : []
    }
}
