import TrainingLab

/// InfoBatch (Qin et al., ICLR 2024): unbiased dynamic data pruning.
///
/// Each sample keeps a score, its most recent raw per-sample loss. At the start of a pruning epoch the
/// samples scored below the mean ("well learned", D_low) are kept with a uniform random subset S of
/// floor(k |D_low|) of them, k = 1 - prune_ratio, and the kept ones are weighted 1/k in the loss
/// reduction sum(w l) / B, so the epoch's total gradient is unbiased in expectation. From the epoch at
/// fraction `delta` of the run on, every sample is visited with weight 1 (annealing).
///
/// Mapping onto the trainer: `epochStart` filters the sampler's shuffled order (a filter of a uniformly
/// random permutation is a uniformly random order of the kept samples) and fixes the epoch's weights;
/// `loss` records the raw per-sample losses as scores and hands the weights to the reduction; the
/// schedule already follows training progress, so shorter epochs move the learning rate by one epoch.
/// Scores, weights and counters are checkpointed; the draws depend only on (seed, epoch), so resumed
/// runs prune exactly as uninterrupted ones.
public final class InfoBatchMethod: InLoopMethod, ResumableState {
    public enum Mode: String, CaseIterable {
        /// The paper's method.
        case infobatch
        /// The paper's control: drop as many samples as InfoBatch would, uniformly from the whole set, without rescaling.
        case random
    }

    public static let descriptor = MethodDescriptor(
        name: "infobatch",
        title: "InfoBatch: lossless training speed-up by unbiased dynamic data pruning",
        paper: "Z. Qin, K. Wang, Z. Zheng, J. Gu, X. Peng, Z. Xu, D. Zhou, L. Shang, B. Sun, X. Xie, Y. You, "
            + "InfoBatch: Lossless Training Speed Up by Unbiased Dynamic Data Pruning, ICLR 2024",
        summary: "Each epoch, randomly skip a fraction of the samples whose last loss is below the mean and up-weight "
            + "the kept ones by 1/(1-r); train on all data with weight 1 in the last epochs.",
        options: [
            .double("prune_ratio", 0.5, in: 0...0.9,
                    help: "r: probability of dropping a sample scored below the mean; kept ones weigh 1/(1-r) "
                        + "(the official code clamps 1-r to at least 0.1, hence the range)"),
            .double("delta", 0.875, in: 0...1,
                    help: "fraction of the epochs with pruning (epochs e < delta*epochs); the rest use all samples with weight 1"),
            .double("initial_score", 3.0, in: 0...1_000_000,
                    help: "score of a sample before it is first seen (official code 3.0, research code 1.0)"),
            .choice("mode", Mode.infobatch.rawValue, Mode.allCases.map(\.rawValue),
                    help: "infobatch: the method; random: control that drops as many samples as InfoBatch would, "
                        + "uniformly from all samples, with no rescaling"),
        ],
        baseline: "erm",
        metrics: ["infobatch.pruned_samples", "infobatch.saved_pass_fraction", "infobatch.pruned_per_epoch",
                  "infobatch.upweighted_per_epoch"],
        events: [.epochStart, .loss, .fitEnd],
        claims: [.sampleOrder, .lossWeights],
        runDefaults: [
            ("model", "smallcnn"), ("dataset", "fashion-mnist"), ("epochs", 16), ("batch_size", 128),
            ("optimizer", "sgd"), ("lr", 0.05), ("momentum", 0.9), ("nesterov", false), ("weight_decay", 5e-4),
            ("schedule", "onecycle"), ("label_smoothing", 0.1), ("crop_padding", 2), ("flip", false),
        ],
        comparisonSeeds: [0, 1, 2],
        supportsResume: true
    )

    /// k = 1 - r clamped to [0.1, 1]: the probability of keeping a sample of D_low, and the inverse of its weight.
    let keepRatio: Double
    let delta: Double
    let initialScore: Float
    let mode: Mode

    /// H[i]: the latest raw loss of sample i (stale for samples not visited since).
    private(set) var scores: [Float] = []
    /// w[i]: the loss weight of sample i in the current epoch.
    private(set) var weights: [Float] = []
    /// Samples left out of each epoch run so far.
    private(set) var prunedPerEpoch: [Int] = []
    /// Samples weighted 1/k in each epoch run so far.
    private(set) var upweightedPerEpoch: [Int] = []

    public init(options: OptionValues) throws {
        // The official clamp; within the option's range it only matters for r = 0.9, where 1 - 0.9 falls just below 0.1.
        keepRatio = try min(1, max(0.1, 1 - options.double("prune_ratio")))
        delta = try options.double("delta")
        initialScore = Float(try options.double("initial_score"))
        guard let mode = Mode(rawValue: try options.string("mode")) else {
            throw ConfigError("infobatch: unknown mode '\(try options.string("mode"))'")
        }
        self.mode = mode
    }

    /// Whether epoch `epoch` of `epochs` prunes (the official sampler prunes while its 1-based count <= delta*E).
    static func prunes(epoch: Int, of epochs: Int, delta: Double) -> Bool { Double(epoch) < delta * Double(epochs) }

    public func epochStart(_ loop: LoopState, order: inout [Int]) throws {
        let epoch = loop.epoch
        if scores.isEmpty {
            scores = [Float](repeating: initialScore, count: order.count)
            weights = [Float](repeating: 1, count: order.count)
        }
        guard prunedPerEpoch.count == epoch else {
            throw TrainingError("infobatch: its state covers \(prunedPerEpoch.count) epochs but epoch \(epoch) starts; resume only from this run's checkpoint")
        }
        if let bad = order.first(where: { $0 < 0 || $0 >= scores.count }) {
            throw TrainingError("infobatch: sample \(bad) is outside the \(scores.count) scored samples (the training set changed size)")
        }
        for i in weights.indices { weights[i] = 1 }
        var dropped = [Bool](repeating: false, count: scores.count)
        var upweighted = 0
        if InfoBatchMethod.prunes(epoch: epoch, of: loop.config.epochs, delta: delta) {
            var generator = SeededGenerator(seed: UInt64(loop.config.seed)).split("infobatch").split(UInt64(epoch))
            let low = wellLearned()
            let kept = Int((keepRatio * Double(low.count)).rounded(.down))
            switch mode {
            case .infobatch:
                for i in low { dropped[i] = true }
                let weight = Float(1 / keepRatio)
                for j in generator.sample(kept, from: low.count) {
                    dropped[low[j]] = false
                    weights[low[j]] = weight
                }
                upweighted = kept
            case .random:
                for i in generator.sample(low.count - kept, from: scores.count) { dropped[i] = true }
            }
        }
        let before = order.count
        order.removeAll { dropped[$0] }
        prunedPerEpoch.append(before - order.count)
        upweightedPerEpoch.append(upweighted)
        loop.epochMetrics.set("pruned_samples", .number(Double(before - order.count)))
        loop.epochMetrics.set("upweighted_samples", .number(Double(upweighted)))
    }

    /// D_low in index order: the samples scored strictly below the mean score. The mean is summed in
    /// double, which is exact for identical float scores (N * score needs at most 24 + log2 N bits), so
    /// equal scores (epoch 0) give an empty D_low rather than the float-rounding accident of upstream issue #25.
    func wellLearned() -> [Int] {
        var sum = 0.0
        for s in scores { sum += Double(s) }
        let mean = sum / Double(scores.count)
        return scores.indices.filter { Double(scores[$0]) < mean }
    }

    public func loss(_ loop: LoopState, _ step: StepState) throws {
        guard let losses = step.perSampleLoss, losses.count == step.indices.count else {
            throw TrainingError("infobatch: the step has no per-sample loss for its \(step.indices.count) samples")
        }
        let values = losses.pointer
        for (j, i) in step.indices.enumerated() { scores[i] = values[j] }
        step.sampleWeights = step.indices.map { weights[$0] }
    }

    public func fitEnd(_ loop: LoopState, report: inout JSONValue) throws {
        let total = prunedPerEpoch.reduce(0, +)
        let fullPasses = Double(scores.count * loop.config.epochs)
        report.set("infobatch", .object([
            ("mode", .string(mode.rawValue)),
            ("keep_ratio", .number(keepRatio)),
            ("pruning_epochs", .number(Double((0..<loop.config.epochs).filter { InfoBatchMethod.prunes(epoch: $0, of: loop.config.epochs, delta: delta) }.count))),
            ("pruned_samples", .number(Double(total))),
            ("saved_pass_fraction", .number(fullPasses > 0 ? Double(total) / fullPasses : 0)),
            ("pruned_per_epoch", .array(prunedPerEpoch.map { .number(Double($0)) })),
            ("upweighted_per_epoch", .array(upweightedPerEpoch.map { .number(Double($0)) })),
        ]))
    }

    public func checkpointState() throws -> (tensors: [(String, Tensor)], json: JSONValue) {
        guard !scores.isEmpty else { return ([], .object([])) }
        return ([("scores", try Tensor(scores, shape: [scores.count])), ("weights", try Tensor(weights, shape: [weights.count]))],
                .object([("pruned_per_epoch", .array(prunedPerEpoch.map { .number(Double($0)) })),
                         ("upweighted_per_epoch", .array(upweightedPerEpoch.map { .number(Double($0)) }))]))
    }

    public func restoreState(tensors: [String: Tensor], json: JSONValue) throws {
        if tensors.isEmpty && (json.objectValue ?? []).isEmpty {  // saved before the first epoch
            (scores, weights, prunedPerEpoch, upweightedPerEpoch) = ([], [], [], [])
            return
        }
        guard let s = tensors["scores"], let w = tensors["weights"], s.count == w.count,
              let pruned = json["pruned_per_epoch"]?.arrayValue?.compactMap(\.doubleValue),
              let upweighted = json["upweighted_per_epoch"]?.arrayValue?.compactMap(\.doubleValue), pruned.count == upweighted.count else {
            throw ConfigError("infobatch: the checkpoint lacks its scores, weights or per-epoch counts")
        }
        scores = s.scalars
        weights = w.scalars
        prunedPerEpoch = pruned.map { Int($0) }
        upweightedPerEpoch = upweighted.map { Int($0) }
    }
}
