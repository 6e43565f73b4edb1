import ArgumentParser
import Foundation
import TrainingLab

/// `tlab compare NAME`: every arm the method declares, on the same seeds and data; one table of mean ± std
/// per arm with differences and ratios against the reference arm, also written to DIR/compare.json.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a method's comparison arms on the same seeds and data; tabulate.")

    @Argument(help: "Method name.") var name: String
    @OptionGroup var options: RunOptions
    @Option(help: "Comma-separated seeds (default: the method's comparison seeds).") var seeds: String?
    @Option(help: "Output folder (default: runs/compare-NAME).") var out: String?
    @Option(name: .customLong("baseline-set"), help: "key=value: an option of the reference arm (after the arm's own options); repeatable.")
    var baselineSettings: [String] = []

    func run() throws {
        let registry = try options.registry()
        let seedList = try seeds.map { text in
            try text.split(separator: ",", omittingEmptySubsequences: false).map { s -> Int in
                guard let v = Int(s), v >= 0 else { throw ConfigError("--seeds \(text): expected comma-separated non-negative integers") }
                return v
            }
        }
        let (settings, assignments) = try options.split(for: name, registry: registry)
        let dir = URL(fileURLWithPath: out ?? "runs/compare-\(name)")
        let comparison = try Comparison(registry: registry, method: name, settings: settings, optionAssignments: assignments,
                                        referenceAssignments: baselineSettings, seeds: seedList, outputDirectory: dir)
        let result = try comparison.run(progress: ConsoleProgress())
        guard comparison.writesOutputs else { return }
        print("\n" + result.table)
        print("written: \(dir.appendingPathComponent("compare.json").path)")
    }
}
