/// The settings every run shares, whatever its method: model, data, optimisation, augmentation, seed.
/// Methods may change the defaults (their descriptor's `runDefaults`); users override both.
public struct RunConfig: Equatable, Sendable {
    public var model = "smallcnn"
    public var dataset = "fashion-mnist"
    public var epochs = 10
    public var batchSize = 128
    public var optimizer = "sgd"
    public var lr = 0.05
    public var momentum = 0.9
    public var nesterov = false
    public var weightDecay = 5e-4
    public var schedule = "onecycle"
    public var labelSmoothing = 0.0
    public var cropPadding = 2
    public var flip = false
    /// Standardise inputs with the dataset's per-channel mean and std; off, inputs are pixels / 255 in [0, 1].
    public var normalize = true
    public var seed = 0
    /// Evaluate on the test set every this many epochs (and always after the last).
    public var evalEvery = 1
    /// Comma-separated names of registered evaluation metrics computed on the final model ("" for none).
    public var evalMetrics = ""
    /// Comma-separated names of registered augmentations applied after crop and flip in training ("" for none).
    public var augment = ""
    /// Before the final evaluation, recompute every BatchNorm's running statistics from this many training
    /// batches (0: keep the statistics training left).
    public var bnRecalibration = 0
    /// How many/medium/few accuracy groups the classes of long-tailed data (`ShotSplit.named`).
    public var shotSplit = "thresholds"

    // Federated runs (methods that train clients). An epoch of such a run is one communication round:
    // `epochs` rounds, `lr` the peak of the round schedule, `batch_size` the clients' local batch.
    /// Clients sampled per round.
    public var clientsPerRound = 10
    /// Local optimisation steps per client and round; 0 trains `localEpochs` full passes instead.
    public var localSteps = 0
    public var localEpochs = 1
    /// Rounds with fewer successful clients keep the previous global model.
    public var minClients = 1
    /// Server learning rate eta_g: x <- x + eta_g * mean of the client deltas.
    public var serverLR = 1.0
    /// How client contributions are weighted: by their sample counts or equally.
    public var clientWeighting = "samples"
    /// Injected client failures for tests and drills: "CLIENT@ROUND[:nan],..." (0-based ids and rounds).
    public var failClients = ""
    /// Per-client local test sets of this many test images in the client's class proportions (0: none).
    public var localTest = 0
    /// Where the run trains: in-process, or mpi (every rank of `mpirun -np P` runs the same command; federated
    /// runs spread each round's clients over the ranks, other runs train data-parallel).
    public var backend = "in-process"

    /// The names in `evalMetrics`.
    public var evaluationMetrics: [String] { RunConfig.names(evalMetrics) }
    /// The names in `augment`.
    public var augmentations: [String] { RunConfig.names(augment) }

    private static func names(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public init() {}

    /// One settable field: its name in configs and on the command line, and how to read and write it.
    private struct Field {
        let name: String
        let help: String
        let get: (RunConfig) -> JSONValue
        let set: (inout RunConfig, JSONValue) throws -> Void
    }

    private static func int(_ name: String, _ path: WritableKeyPath<RunConfig, Int>, min: Int, _ help: String) -> Field {
        Field(name: name, help: help, get: { .number(Double($0[keyPath: path])) }) { config, value in
            guard let v = value.doubleValue, v == v.rounded(), v >= Double(min), v <= Double(Int32.max) else {
                throw ConfigError("run option '\(name)' = \(value.serialized()) is invalid; expected an integer >= \(min)")
            }
            config[keyPath: path] = Int(v)
        }
    }

    private static func double(_ name: String, _ path: WritableKeyPath<RunConfig, Double>, _ range: ClosedRange<Double>, _ help: String) -> Field {
        Field(name: name, help: help, get: { .number($0[keyPath: path]) }) { config, value in
            guard let v = value.doubleValue, range.contains(v) else {
                throw ConfigError("run option '\(name)' = \(value.serialized()) is invalid; expected a number in \(range.lowerBound)...\(range.upperBound)")
            }
            config[keyPath: path] = v
        }
    }

    private static func string(_ name: String, _ path: WritableKeyPath<RunConfig, String>, choices: [String]? = nil, _ help: String) -> Field {
        Field(name: name, help: help, get: { .string($0[keyPath: path]) }) { config, value in
            guard let v = value.stringValue, choices == nil || choices!.contains(v) else {
                let expected = choices.map { "one of \($0.joined(separator: ", "))" } ?? "a string"
                throw ConfigError("run option '\(name)' = \(value.serialized()) is invalid; expected \(expected)")
            }
            config[keyPath: path] = v
        }
    }

    private static func bool(_ name: String, _ path: WritableKeyPath<RunConfig, Bool>, _ help: String) -> Field {
        Field(name: name, help: help, get: { .bool($0[keyPath: path]) }) { config, value in
            switch value {
            case .bool(let b): config[keyPath: path] = b
            case .string(let s) where ["true", "false"].contains(s): config[keyPath: path] = s == "true"
            default: throw ConfigError("run option '\(name)' = \(value.serialized()) is invalid; expected true or false")
            }
        }
    }

    private static let fields: [Field] = [
        string("model", \.model, "model name (tlab models lists them)"),
        string("dataset", \.dataset, "dataset SPEC, e.g. fashion-mnist, cifar10=DIR, fashion-mnist,imbalance=10"),
        int("epochs", \.epochs, min: 1, "training epochs"),
        int("batch_size", \.batchSize, min: 1, "mini-batch size"),
        string("optimizer", \.optimizer, choices: ["sgd", "adamw"], "optimiser"),
        double("lr", \.lr, 0...100, "base (peak) learning rate"),
        double("momentum", \.momentum, 0...0.9999, "SGD momentum"),
        bool("nesterov", \.nesterov, "Nesterov momentum"),
        double("weight_decay", \.weightDecay, 0...1, "weight decay (coupled for SGD, decoupled for AdamW)"),
        string("schedule", \.schedule, "learning-rate schedule over training progress: constant, step:M1,M2[:gamma], cosine[:floor], onecycle[:pct][+warmup:F]"),
        double("label_smoothing", \.labelSmoothing, 0...0.999, "label smoothing of the cross-entropy"),
        int("crop_padding", \.cropPadding, min: 0, "random-crop padding in pixels (0: no crop)"),
        bool("flip", \.flip, "random horizontal flips"),
        bool("normalize", \.normalize, "standardise inputs with the dataset mean/std (false: pixels in [0, 1], the box of L-inf attacks)"),
        int("seed", \.seed, min: 0, "seed of data order, initialisation and augmentation"),
        int("eval_every", \.evalEvery, min: 1, "evaluate every this many epochs"),
        string("eval_metrics", \.evalMetrics, "comma-separated registered evaluation metrics computed on the final model"),
        string("augment", \.augment, "comma-separated registered augmentations applied after crop and flip in training"),
        int("bn_recalibration", \.bnRecalibration, min: 0, "training batches that recompute BatchNorm statistics before the final evaluation (0: off)"),
        string("shot_split", \.shotSplit, choices: ShotSplit.named.map(\.0),
               "many/medium/few groups of long-tailed data: thresholds (> 100, < 20 training samples), terciles, cumulative (75 % / 95 % of the samples)"),
        int("clients_per_round", \.clientsPerRound, min: 1, "federated: clients sampled per round (an epoch is a round)"),
        int("local_steps", \.localSteps, min: 0, "federated: local steps per client and round (0: local_epochs full passes)"),
        int("local_epochs", \.localEpochs, min: 1, "federated: local passes over the client's data when local_steps is 0"),
        int("min_clients", \.minClients, min: 1, "federated: a round with fewer successful clients keeps the previous global model"),
        double("server_lr", \.serverLR, 0...100, "federated: server learning rate eta_g (x += eta_g * mean client delta)"),
        string("client_weighting", \.clientWeighting, choices: ["samples", "equal"], "federated: weight client contributions by sample count or equally"),
        string("fail_clients", \.failClients, "federated: injected failures CLIENT@ROUND[:nan],... (0-based; an error, or a non-finite loss with :nan)"),
        int("local_test", \.localTest, min: 0, "federated: per-client local test sets of this many test images in the client's class proportions (0: none)"),
        string("backend", \.backend, "in-process (default) or mpi: under mpirun, federated clients spread over the ranks, other runs train data-parallel"),
    ]

    /// The run options that configure federated rounds; a method that trains no clients refuses them.
    public static let federatedOptionNames = ["clients_per_round", "local_steps", "local_epochs", "min_clients", "server_lr",
                                              "client_weighting", "fail_clients", "local_test"]

    public static var optionNames: [String] { fields.map(\.name) }
    public static var optionHelp: [(String, String)] { fields.map { ($0.name, $0.help) } }

    /// Sets one option by name; unknown names list the valid ones.
    public mutating func set(_ name: String, _ value: JSONValue) throws {
        guard let field = RunConfig.fields.first(where: { $0.name == name }) else {
            throw ConfigError("unknown run option '\(name)'\(NameSuggestion.clause(for: name, among: RunConfig.optionNames)); valid: \(RunConfig.optionNames.joined(separator: ", "))")
        }
        try field.set(&self, value)
        if name == "schedule" { _ = try LearningRateSchedule(parsing: schedule) }
    }

    /// Sets one option from text (command line): numbers and booleans are recognised.
    public mutating func set(_ name: String, text: String) throws {
        let value: JSONValue = Double(text).map(JSONValue.number) ?? (text == "true" || text == "false" ? .bool(text == "true") : .string(text))
        if let field = RunConfig.fields.first(where: { $0.name == name }), case .string = field.get(self) {
            try set(name, .string(text))
        } else {
            try set(name, value)
        }
    }

    /// Applies every key of a JSON object.
    public mutating func apply(_ object: JSONValue) throws {
        guard let pairs = object.objectValue else { throw ConfigError("run configuration must be a JSON object") }
        for (key, value) in pairs { try set(key, value) }
    }

    public var json: JSONValue { .object(RunConfig.fields.map { ($0.name, $0.get(self)) }) }

    /// What the loaders of training and evaluation do to pixel values.
    public var inputNormalization: Augmentation.Normalization { normalize ? .dataset : .none }

    public var learningRateSchedule: LearningRateSchedule { (try? LearningRateSchedule(parsing: schedule)) ?? .constant }
}
