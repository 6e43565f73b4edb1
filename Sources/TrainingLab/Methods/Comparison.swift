import Foundation

/// `tlab compare NAME`: every arm the method declares (`MethodDescriptor.arms`), on the same seeds and
/// data, under the compared method's resolved run settings (each arm may override some). The result has,
/// per metric, every arm's values with mean ± std, and each arm's difference and ratio against the
/// reference arm; it is written to compare.json with every run's report.
public final class Comparison {
    public let method: String
    public let arms: [ComparisonArm]
    public let referenceArm: String
    public let seeds: [Int]
    /// Report keys (dotted paths) tabulated, in order.
    public let metrics: [String]
    private let registry: PluginRegistry
    private let settings: [(String, JSONValue)]
    private let optionAssignments: [String]
    private let referenceAssignments: [String]
    private let outputDirectory: URL
    /// Continue every arm's run from its checkpoints (finished arms are only evaluated again); see `RunPlan.resume`.
    public var resume = false
    /// Write into an output folder that holds files already, each arm replacing its previous run.
    public var overwrite = false
    /// Request from another thread (Ctrl-C) to stop the arm that is training at its next step, and the comparison.
    public let stopRequest = StopRequest()
    /// The arm run that stopped early, and its folder name, if one did.
    public private(set) var stopped: (run: String, stop: RunStopped)?

    /// `settings` and `optionAssignments` are the user's (run settings; options of the compared method,
    /// applied to every arm that runs it before the arm's own); `referenceAssignments` go to the reference arm last.
    public init(registry: PluginRegistry, method: String, settings: [(String, JSONValue)] = [], optionAssignments: [String] = [],
                referenceAssignments: [String] = [], seeds: [Int]? = nil, outputDirectory: URL) throws {
        let descriptor = try registry.entry(named: method).descriptor
        guard let reference = descriptor.referenceArm, descriptor.arms.count >= 2 else {
            throw ConfigError("method '\(method)' is a baseline itself: it declares no arms to compare")
        }
        let labels = descriptor.arms.map(\.label)
        guard Set(labels).count == labels.count else { throw ConfigError("method '\(method)': arm labels repeat: \(labels)") }
        self.method = method
        arms = descriptor.arms
        referenceArm = reference
        self.seeds = seeds ?? descriptor.comparisonSeeds
        guard !self.seeds.isEmpty else { throw ConfigError("compare \(method): no seeds") }
        var keys = ["test.accuracy", "test.mean_class_accuracy", "sample_passes", "wall_seconds"]
        for arm in arms { for key in try registry.entry(named: arm.method).descriptor.metrics where !keys.contains(key) { keys.append(key) } }
        metrics = keys
        self.registry = registry
        self.settings = settings
        self.optionAssignments = optionAssignments
        self.referenceAssignments = referenceAssignments
        self.outputDirectory = outputDirectory
        for seed in self.seeds { _ = try plans(seed: seed) }  // every arm validates before anything trains
    }

    /// The runs of one seed, one per arm, under the compared method's resolved settings.
    private func plans(seed: Int) throws -> [RunPlan] {
        let resolved = try RunPlan(registry: registry, name: method, settings: settings + [("seed", .number(Double(seed)))],
                                   optionAssignments: optionAssignments)
        let shared = resolved.config.json.objectValue ?? []
        return try arms.map { arm in
            let assignments = (arm.method == method ? optionAssignments : []) + arm.optionAssignments
                + (arm.label == referenceArm ? referenceAssignments : [])
            return try RunPlan(registry: registry, name: arm.method, settings: shared + arm.settings.sorted { $0.key < $1.key },
                               optionAssignments: assignments,
                               outputDirectory: outputDirectory.appendingPathComponent("\(Comparison.folderName(arm.label))-seed\(seed)"))
        }
    }

    /// Whether this process writes compare.json (not an MPI rank > 0; known once `run` ran).
    public private(set) var writesOutputs = true

    /// Runs every arm for every seed (seed by seed, arms in declared order) and writes compare.json; a run that stops
    /// early (`stopRequest`) ends the comparison there, and compare.json then says `"complete": false` and which run
    /// stopped (`resume` continues it).
    @discardableResult
    public func run(progress: ProgressSink? = nil) throws -> ComparisonResult {
        var reports = [[JSONValue]](repeating: [], count: arms.count)
        let first = try plans(seed: seeds[0])
        // Only the process that writes (not an MPI rank > 0, which would see rank 0's files) checks the folder.
        let writes = try first[0].config.backend != "mpi" || MPITransport.joined().rank == 0
        if writes {
            let present = try RunOutputs.contents(of: outputDirectory)
            if !present.isEmpty, !resume, !overwrite { throw RunOutputs.occupied(outputDirectory, holding: present) }
        }
        runs: for seed in seeds {
            for (a, plan) in try (seed == seeds[0] ? first : plans(seed: seed)).enumerated() {
                plan.resume = resume
                plan.overwrite = overwrite
                plan.stopRequest = stopRequest
                let report = try plan.execute(progress: progress)
                writesOutputs = plan.writesOutputs
                if let stop = plan.stopped {
                    // The table holds finished runs only; the stopped one's report is in its folder.
                    stopped = ("\(Comparison.folderName(arms[a].label))-seed\(seed)", stop)
                    break runs
                }
                reports[a].append(report)
            }
        }
        let result = ComparisonResult(method: method, arms: arms.map(\.label), referenceArm: referenceArm, seeds: seeds,
                                      metrics: metrics, reports: reports)
        if writesOutputs {
            var json = result.json
            RunStopped.markCompletion(of: &json, stopped: stopped?.stop)
            if let stopped { json.set("stopped_in", .string(stopped.run)) }
            try AtomicFile.write(json.serialized(pretty: true) + "\n", to: outputDirectory.appendingPathComponent("compare.json"))
        }
        return result
    }

    static func folderName(_ label: String) -> String {
        String(label.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}

/// The numbers of a comparison: per metric and arm, the values over seeds, mean and sample std; per
/// non-reference arm, the difference and ratio of its mean to the reference arm's.
public struct ComparisonResult {
    public struct Row {
        public let metric: String
        /// Per arm (in arm order): the value of each seed that reported the metric.
        public let values: [[Double]]
        public let means: [Double?]
        public let stds: [Double?]
        /// Per arm: mean - reference mean, and mean / reference mean (nil for the reference arm itself,
        /// for arms without the metric, and for ratios over a zero reference).
        public let differences: [Double?]
        public let ratios: [Double?]
    }

    public let method: String
    public let arms: [String]
    public let referenceArm: String
    public let seeds: [Int]
    public let reports: [[JSONValue]]
    public let rows: [Row]

    public init(method: String, arms: [String], referenceArm: String, seeds: [Int], metrics: [String], reports: [[JSONValue]]) {
        self.method = method
        self.arms = arms
        self.referenceArm = referenceArm
        self.seeds = seeds
        self.reports = reports
        let reference = arms.firstIndex(of: referenceArm) ?? 0
        rows = metrics.compactMap { key in
            let values = reports.map { $0.compactMap { ComparisonResult.number(at: key, in: $0) } }
            guard values.contains(where: { !$0.isEmpty }) else { return nil }
            let stats = values.map { $0.isEmpty ? nil : ComparisonResult.meanStd($0) }
            let ref = stats[reference]?.mean
            let differences = stats.indices.map { a in a == reference ? nil : stats[a].flatMap { s in ref.map { s.mean - $0 } } }
            let ratios = stats.indices.map { a in a == reference ? nil : stats[a].flatMap { s in ref.flatMap { $0 != 0 ? s.mean / $0 : nil } } }
            return Row(metric: key, values: values, means: stats.map { $0?.mean }, stds: stats.map { $0?.std },
                       differences: differences, ratios: ratios)
        }
    }

    /// Mean and sample standard deviation (n - 1; 0 for one value).
    public static func meanStd(_ xs: [Double]) -> (mean: Double, std: Double) {
        let m = xs.reduce(0, +) / Double(xs.count)
        let v = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1) : 0
        return (m, v.squareRoot())
    }

    /// A number at a dotted path ("test.accuracy") of a report.
    static func number(at path: String, in report: JSONValue) -> Double? {
        var node: JSONValue? = report
        for part in path.split(separator: ".") { node = node?[String(part)] }
        return node?.doubleValue
    }

    public var json: JSONValue {
        func optional(_ x: Double?) -> JSONValue { x.map(JSONValue.number) ?? .null }
        return .object([
            ("method", .string(method)), ("reference_arm", .string(referenceArm)),
            ("arms", .array(arms.map(JSONValue.string))), ("seeds", .array(seeds.map { .number(Double($0)) })),
            ("rows", .array(rows.map { row in
                .object([("metric", .string(row.metric)),
                         ("arms", .object(arms.indices.map { a in
                             (arms[a], .object([("values", .array(row.values[a].map(JSONValue.number))), ("mean", optional(row.means[a])),
                                                ("std", optional(row.stds[a])), ("difference", optional(row.differences[a])),
                                                ("ratio", optional(row.ratios[a]))]))
                         }))])
            })),
            ("reports", .object(arms.indices.map { (arms[$0], .array(reports[$0])) })),
        ])
    }

    /// The table printed by `tlab compare`: one column per arm (mean ± std), then each other arm's
    /// difference and ratio against the reference.
    public var table: String {
        let reference = arms.firstIndex(of: referenceArm) ?? 0
        let others = arms.indices.filter { $0 != reference }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count + 1), withPad: " ", startingAt: 0) }
        var lines = [pad("metric", 30) + arms.map { pad($0, 22) }.joined()
                     + others.map { pad("\(arms[$0]) - ref", 20) + pad("/ ref", 9) }.joined()]
        for row in rows {
            var line = pad(row.metric, 30)
            for a in arms.indices {
                line += pad(row.means[a].map { String(format: "%.4g ± %.2g", $0, row.stds[a] ?? 0) } ?? "n/a", 22)
            }
            for a in others {
                line += pad(row.differences[a].map { String(format: "%+.4g", $0) } ?? "n/a", 20)
                line += pad(row.ratios[a].map { String(format: "%.3f", $0) } ?? "n/a", 9)
            }
            lines.append(line)
        }
        lines.append("reference arm: \(referenceArm); seeds: \(seeds.map(String.init).joined(separator: ","))")
        return lines.joined(separator: "\n")
    }
}
