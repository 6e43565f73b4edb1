import Foundation
import TrainingLab

/// SCoRe: submodular combinatorial representation learning. A loop-owning method with two stages, as
/// in the paper's SupCon pipeline: (1) encoder + projection head trained on two augmented views of each
/// image with a set loss over the whole batch's cosine kernel (`setLoss` in the core), (2) a linear probe
/// trained with cross-entropy on the frozen encoder's features. `loss=ce` instead trains encoder and
/// classifier end to end with cross-entropy (the paper's CE baseline); `loss=supcon` is the SupCon
/// baseline that `tlab compare score` runs.
///
/// Why loop-owning rather than in-loop: the trainer's loop draws one view, treats the model output as
/// logits and evaluates them every epoch, while stage 1 needs two views, a model whose output is an
/// embedding, and a second stage on extracted features. The loop below reuses the same blocks (DataLoader
/// views, the run's optimiser and progress-driven schedule, Evaluation, LinearProbe, metrics).
public final class SCoRe: LoopOwningMethod {
    public static let losses = SetLoss.allCases.map(\.rawValue) + ["ce"]

    public static let descriptor = MethodDescriptor(
        name: "score",
        title: "SCoRe: submodular combinatorial representation learning",
        paper: "A. Majee, S. Kothawade, K. Killamsetty, R. Iyer, SCoRe: Submodular Combinatorial Representation Learning, ICML 2024",
        summary: "Two-view representation learning with a submodular set loss (facility location, graph cut, log-determinant) over the batch's cosine kernel, then a linear probe on the frozen encoder.",
        options: [
            .choice("loss", "fl", losses, help: "stage-1 objective: fl (facility location), gc (graph cut, total correlation C_f), gc-ratio (graph cut ratio form on (S+1)/2), logdet (log-determinant C_f), logdet-sf (log-determinant total information), submod-supcon, supcon, ce (cross-entropy end to end, no probe)"),
            .double("temperature", 0.07, in: 1e-3...10, help: "temperature tau (inside the exp of SupCon/Submod-SupCon; a tau/tau_b scale elsewhere)"),
            .double("base_temperature", 0.07, in: 1e-3...10, help: "base temperature tau_b"),
            .double("lambda", 1.0, in: 0...100, help: "set-function weight of facility location and graph cut (1.0 as the official stage 1 calls them)"),
            .double("logdet_delta", 0.5, in: 1e-6...100, help: "ridge delta of the log-determinant kernels S_A + delta I"),
            .double("crop_scale_min", 0.3, in: 0.01...1, help: "lower bound of RandomResizedCrop's area fraction for the views"),
            .int("feature_dim", 256, in: 2...4096, help: "width of the encoder's feature layer (dim_in of head and probe)"),
            .int("projection_dim", 128, in: 2...4096, help: "embedding dimension of the projection head"),
            .int("probe_epochs", 30, in: 1...1000, help: "linear-probe epochs on the frozen features"),
            .double("probe_lr", 0.1, in: 1e-6...10, help: "linear-probe learning rate (x0.2 at 60/75/90 % of the probe)"),
            .int("probe_batch_size", 256, in: 1...65536, help: "linear-probe mini-batch size"),
            .double("probe_weight_decay", 0, in: 0...1, help: "linear-probe weight decay"),
            .int("rare_classes", 3, in: 1...1000, help: "how many of the rarest training classes the rare-class accuracy averages"),
        ],
        baseline: "score",
        baselineOptions: ["loss": .string("supcon")],
        metrics: ["rare_accuracy", "embedding_max_class_cosine", "feature_max_class_cosine", "stage1.final_loss",
                  "nonfinite_steps", "stage1.seconds", "probe.seconds"],
        runDefaults: [("dataset", "fashion-mnist,imbalance=10"), ("model", "smallcnn"), ("epochs", 12), ("batch_size", 256),
                      ("optimizer", "sgd"), ("lr", 0.05), ("momentum", 0.9), ("weight_decay", 1e-4), ("schedule", "cosine"),
                      ("crop_padding", 0), ("flip", true)],
        comparisonSeeds: [0, 1, 2],
        supportsResume: true
    )

    let options: OptionValues
    let objective: Objective

    public init(options: OptionValues) throws {
        self.options = options
        objective = try Objective(try options.string("loss"))
    }

    public func run(_ context: MethodContext) throws -> MethodOutcome {
        let config = context.config
        guard config.model == "smallcnn" else {
            throw ConfigError("score: trains the spec's smallcnn-style encoder (feature layer of feature_dim units) with a projection head; model '\(config.model)' is not supported, use --model smallcnn")
        }
        let data = context.data
        let test = data.test
        let shape = data.train.sampleShape
        let featureDim = try options.int("feature_dim")
        let networks = try ParameterInit.withSeed(context.seed("init")) {
            try SCoReNetworks(channels: shape[0], height: shape[1], width: shape[2], featureDim: featureDim,
                              projectionDim: try options.int("projection_dim"), classes: data.classCount, objective: objective)
        }
        let stage1 = try RepresentationStage(objective: objective, options: options, networks: networks).run(context)

        var probeReport: [(String, JSONValue)] = []
        var probeNonfinite = 0
        let classifier: Linear
        if case .crossEntropy = objective {
            classifier = networks.classifier!
        } else {
            let started = Stopwatch()
            let features = try Evaluation.outputs(of: networks.encoder, on: data.train)
            let probe = LinearProbe(epochs: try options.int("probe_epochs"), batchSize: try options.int("probe_batch_size"),
                                    learningRate: try options.double("probe_lr"), weightDecay: try options.double("probe_weight_decay"))
            let result = try probe.fit(features: features, labels: data.train.labels, classes: data.classCount, seed: context.seed("probe"),
                                       context: context, stage: "probe")
            classifier = result.classifier
            probeNonfinite = result.nonfiniteSteps
            probeReport = [("epochs", .number(Double(probe.epochs))), ("final_loss", .number(result.epochs.last!.loss)),
                           ("train_accuracy", .number(result.epochs.last!.accuracy)), ("nonfinite_steps", .number(Double(probeNonfinite))),
                           ("seconds", .number(started.seconds))]
        }

        let analysis = try TestAnalysis(networks: networks, classifier: classifier, test: test,
                                        trainCounts: data.train.classCounts(), rareCount: try options.int("rare_classes"))
        let nonfinite = stage1.nonfiniteSteps + probeNonfinite
        var report: [(String, JSONValue)] = [
            ("loss", .string(objective.name)),
            ("rare_classes", .array(analysis.rareClasses.map { .number(Double($0)) })),
            ("rare_accuracy", .number(analysis.rareAccuracy)),
            ("embedding_space", .string(networks.head == nil ? "features" : "projection")),
            ("embedding_max_class_cosine", .number(analysis.embeddingCosine.maximum ?? .nan)),
            ("embedding_max_class_pair", .array((analysis.embeddingCosine.maximumPair.map { [$0.0, $0.1] } ?? []).map { .number(Double($0)) })),
            ("feature_max_class_cosine", .number(analysis.featureCosine.maximum ?? .nan)),
            ("losses_finite", .bool(nonfinite == 0)),
            ("nonfinite_steps", .number(Double(nonfinite))),
            ("stage1", .object(stage1.report)),
        ]
        if !probeReport.isEmpty { report.append(("probe", .object(probeReport))) }
        return MethodOutcome(model: Sequential(networks.encoder, classifier), report: report)
    }
}

/// The stage-1 objective chosen by the `loss` option.
enum Objective {
    case set(SetLoss)
    case crossEntropy

    init(_ name: String) throws {
        if name == "ce" { self = .crossEntropy; return }
        guard let kind = SetLoss(rawValue: name) else {
            throw ConfigError("score: unknown loss '\(name)'; expected one of \(SCoRe.losses.joined(separator: ", "))")
        }
        self = .set(kind)
    }

    var name: String {
        switch self {
        case .set(let kind): return kind.rawValue
        case .crossEntropy: return "ce"
        }
    }
}
