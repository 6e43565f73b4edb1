import ArgumentParser
import Foundation
import TrainingLab

/// `tlab compare NAME`: the method and its baseline with the same settings and seeds; one table of the
/// method's metrics (mean ± std over seeds) and the difference, also written to DIR/compare.json.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a method and its baseline on the same seeds and data; tabulate.")

    @Argument(help: "Method name.") var name: String
    @OptionGroup var options: RunOptions
    @Option(help: "Comma-separated seeds (default: the method's comparison seeds).") var seeds: String?
    @Option(help: "Output folder (default: runs/compare-NAME).") var out: String?
    @Option(name: .customLong("baseline-set"), help: "key=value: an option of the baseline method (after the method's own baseline options); repeatable.")
    var baselineSettings: [String] = []

    func run() throws {
        let registry = try options.registry()
        let entry = try registry.entry(named: name)
        guard let baselineName = entry.descriptor.baseline else {
            throw ConfigError("method '\(name)' is a baseline itself: it names no method to compare against")
        }
        let seedList = try seeds.map { text in
            try text.split(separator: ",").map { s -> Int in
                guard let v = Int(s), v >= 0 else { throw ConfigError("--seeds \(text): expected comma-separated non-negative integers") }
                return v
            }
        } ?? entry.descriptor.comparisonSeeds
        let (settings, assignments) = try options.split(for: name, registry: registry)
        let dir = URL(fileURLWithPath: out ?? "runs/compare-\(name)")
        let progress = ConsoleProgress()
        let baselineAssignments = entry.descriptor.baselineOptions.map { "\($0.key)=\($0.value)" }.sorted() + baselineSettings
        // A baseline that is a variant of the method itself (same plugin, other options) is labelled by its options.
        let baselineLabel = baselineName != name ? baselineName
            : baselineAssignments.isEmpty ? "\(name)-baseline" : "\(name)[\(baselineAssignments.joined(separator: ","))]"
        let baselineFolder = baselineName == name ? "\(name)-baseline" : baselineName

        var reports: [String: [JSONValue]] = [name: [], baselineLabel: []]
        for seed in seedList {
            let method = try RunPlan(registry: registry, name: name, settings: settings + [("seed", .number(Double(seed)))],
                                       optionAssignments: assignments, outputDirectory: dir.appendingPathComponent("\(name)-seed\(seed)"))
            // The baseline trains under exactly the method's resolved settings.
            let shared = (method.config.json.objectValue ?? [])
            let baseline = try RunPlan(registry: registry, name: baselineName, settings: shared, optionAssignments: baselineAssignments,
                                         outputDirectory: dir.appendingPathComponent("\(baselineFolder)-seed\(seed)"))
            reports[name]!.append(try method.execute(progress: progress))
            reports[baselineLabel]!.append(try baseline.execute(progress: progress))
        }

        let keys = ["test.accuracy", "test.mean_class_accuracy", "sample_passes", "wall_seconds"] + entry.descriptor.metrics
        var rows: [JSONValue] = []
        print("\n" + "metric".padding(toLength: 34, withPad: " ", startingAt: 0) + name.padding(toLength: 24, withPad: " ", startingAt: 0)
              + baselineLabel.padding(toLength: 24, withPad: " ", startingAt: 0) + "difference")
        for key in keys {
            let a = reports[name]!.compactMap { value(at: key, in: $0) }
            let b = reports[baselineLabel]!.compactMap { value(at: key, in: $0) }
            guard !a.isEmpty else { continue }
            let (ma, sa) = meanStd(a)
            let baseline = b.isEmpty ? nil : meanStd(b)
            let row: [(String, JSONValue)] = [("metric", .string(key)), ("method", .array(a.map(JSONValue.number))),
                                              ("baseline", .array(b.map(JSONValue.number))), ("method_mean", .number(ma)), ("method_std", .number(sa))]
                + (baseline.map { [("baseline_mean", .number($0.0)), ("baseline_std", .number($0.1)), ("difference", .number(ma - $0.0))] } ?? [])
            rows.append(.object(row))
            let cell = { (m: Double, s: Double) in String(format: "%.4g ± %.2g", m, s).padding(toLength: 24, withPad: " ", startingAt: 0) }
            print(key.padding(toLength: 34, withPad: " ", startingAt: 0) + cell(ma, sa)
                  + (baseline.map { cell($0.0, $0.1) + String(format: "%+.4g", ma - $0.0) }
                     ?? "n/a".padding(toLength: 24, withPad: " ", startingAt: 0)))
        }
        let summary: JSONValue = .object([("method", .string(name)), ("baseline", .string(baselineLabel)),
                                          ("seeds", .array(seedList.map { .number(Double($0)) })), ("rows", .array(rows)),
                                          ("reports", .object([(name, .array(reports[name]!)), (baselineLabel, .array(reports[baselineLabel]!))]))])
        try AtomicFile.write(summary.serialized(pretty: true) + "\n", to: dir.appendingPathComponent("compare.json"))
        print("written: \(dir.appendingPathComponent("compare.json").path)")
    }

    /// A number at a dotted path ("test.accuracy") of a report.
    private func value(at path: String, in report: JSONValue) -> Double? {
        var node: JSONValue? = report
        for part in path.split(separator: ".") { node = node?[String(part)] }
        return node?.doubleValue
    }

    private func meanStd(_ xs: [Double]) -> (Double, Double) {
        let m = xs.reduce(0, +) / Double(xs.count)
        let v = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1) : 0
        return (m, v.squareRoot())
    }
}
