/// What a method takes over in a run. Two in-loop methods that claim the same thing cannot be combined.
public enum MethodClaim: String, Sendable, CaseIterable {
    /// Replaces or prunes the epoch's sample order.
    case sampleOrder
    /// Replaces the per-sample loss (the objective).
    case loss
    /// Sets the per-sample weights of the loss reduction.
    case lossWeights
    /// Replaces the batch inputs (e.g. adversarial examples).
    case inputs
    /// Replaces the optimiser update.
    case optimizerStep
    /// Changes the model's architecture or weights outside the optimiser.
    case model
}

/// Everything a user and the registry know about a method before running it (the method card in code).
public struct MethodDescriptor: Sendable {
    /// Lower-case id typed on the command line (`tlab run NAME`).
    public var name: String
    public var title: String
    /// Citation of the paper (authors, title, venue, year).
    public var paper: String
    /// One line on what the method does.
    public var summary: String
    public var options: [OptionSpec]
    /// The arms `tlab compare NAME` runs on the same seeds and data (empty for a baseline itself); by
    /// default the method and its `baseline`.
    public var arms: [ComparisonArm]
    /// Label of the arm that differences and ratios are taken against.
    public var referenceArm: String?
    /// Keys this method adds to report.json beside the common ones.
    public var metrics: [String]
    /// Registered evaluation metrics (`EvaluationMetric`, by name) the host computes on the method's final model.
    public var evaluationMetrics: [String]
    /// Trainer events an in-loop method reacts to (documentation and conflict checks).
    public var events: [TrainingEvent]
    public var claims: Set<MethodClaim>
    /// Names of methods whose events must run before this one's when combined.
    public var runsAfter: [String]
    /// Run settings this method's experiments use (the spec's small-scale check), applied before the user's.
    public var runDefaults: [(String, JSONValue)]
    /// Seeds of `tlab compare`.
    public var comparisonSeeds: [Int]

    /// The method of the reference arm (what this method is compared against).
    public var baseline: String? { arms.first { $0.label == referenceArm }?.method }
    /// Whether a run of this method can be checkpointed at an epoch boundary and resumed exactly.
    public var supportsResume: Bool
    /// Whether the method trains federated clients (`MethodContext.data.clients`); a dataset split with
    /// `clients=K` is refused for a method that would silently train on everything.
    public var usesClients: Bool

    public init(name: String, title: String, paper: String, summary: String, options: [OptionSpec] = [],
                baseline: String? = "erm", baselineOptions: [String: OptionValue] = [:],
                arms: [ComparisonArm]? = nil, referenceArm: String? = nil, metrics: [String] = [], evaluationMetrics: [String] = [],
                events: [TrainingEvent] = [], claims: Set<MethodClaim> = [], runsAfter: [String] = [],
                runDefaults: [(String, JSONValue)] = [], comparisonSeeds: [Int] = [0, 1, 2], supportsResume: Bool = false,
                usesClients: Bool = false) {
        self.name = name
        self.title = title
        self.paper = paper
        self.summary = summary
        self.options = options
        if let arms {
            self.arms = arms
            self.referenceArm = referenceArm ?? arms.first?.label
        } else if let baseline {
            // A baseline that is a variant of the method itself (same plugin, other options) is labelled by its options.
            let variant = baselineOptions.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
            let label = baseline != name ? baseline : variant.isEmpty ? "\(name)-baseline" : "\(name)[\(variant)]"
            self.arms = [ComparisonArm(name, method: name), ComparisonArm(label, method: baseline, options: baselineOptions)]
            self.referenceArm = label
        } else {
            self.arms = []
            self.referenceArm = nil
        }
        self.metrics = metrics
        self.evaluationMetrics = evaluationMetrics
        self.events = events
        self.claims = claims
        self.runsAfter = runsAfter
        self.runDefaults = runDefaults
        self.comparisonSeeds = comparisonSeeds
        self.supportsResume = supportsResume
        self.usesClients = usesClients
    }

    /// The description as JSON (`tlab describe --json`, `tl_method_describe`).
    public var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("title", .string(title)),
            ("paper", .string(paper)),
            ("summary", .string(summary)),
            ("baseline", baseline.map(JSONValue.string) ?? .null),
            ("arms", .array(arms.map(\.json))),
            ("reference_arm", referenceArm.map(JSONValue.string) ?? .null),
            ("options", .array(options.map { spec in
                .object([("name", .string(spec.name)), ("default", JSONValue(spec.defaultValue)),
                         ("expected", .string(spec.expectation)), ("help", .string(spec.help))])
            })),
            ("metrics", .array(metrics.map(JSONValue.string))),
            ("evaluation_metrics", .array(evaluationMetrics.map(JSONValue.string))),
            ("events", .array(events.map { .string($0.rawValue) })),
            ("claims", .array(claims.map(\.rawValue).sorted().map(JSONValue.string))),
            // A later default of the same setting overrides an earlier one (RunPlan applies them in order); JSON
            // keys are unique, so the object holds the value that applies.
            ("run_defaults", runDefaults.reduce(into: JSONValue.object([])) { $0.set($1.0, $1.1) }),
            ("comparison_seeds", .array(comparisonSeeds.map { .number(Double($0)) })),
            ("supports_resume", .bool(supportsResume)),
            ("uses_clients", .bool(usesClients)),
        ])
    }
}
