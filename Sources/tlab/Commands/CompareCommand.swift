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
    @Option(help: "Output folder (default: runs/compare-NAME). It must be new or empty, unless --overwrite or --resume.") var out: String?
    @Flag(help: "Continue every arm's run from its checkpoints (finished ones are only evaluated again).") var resume = false
    @Flag(help: "Write into a non-empty output folder, replacing the runs there.") var overwrite = false
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
        let (_, settings, assignments) = try options.resolve(method: name, registry: registry)
        let folder = out ?? "runs/compare-\(name)"
        let dir = URL(fileURLWithPath: folder)
        let comparison = try Comparison(registry: registry, method: name, settings: settings, optionAssignments: assignments,
                                        referenceAssignments: baselineSettings, seeds: seedList, outputDirectory: dir)
        comparison.resume = resume
        comparison.overwrite = overwrite
        let result = try Interruption.handling(comparison.stopRequest) { try comparison.run(progress: ConsoleProgress()) }
        guard comparison.writesOutputs else { return }
        if let stopped = comparison.stopped {
            printError("comparison stopped in \(stopped.run): " + Interruption.resumeAdvice(stopped.stop, out: folder))
            throw ExitCode(130)
        }
        print("\n" + result.table)
        print("written: \(dir.appendingPathComponent("compare.json").path)")
    }
}
