import ArgumentParser
import Foundation
import TrainingLab

/// `tlab run NAME`: one run of a method; writes config.json, metrics.jsonl, report.json, model.safetensors.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a method (or several in-loop methods joined by +).")

    @Argument(help: "Method name, e.g. erm or infobatch.") var name: String
    @OptionGroup var options: RunOptions
    @Option(help: "Output folder (default: runs/NAME-seedS).") var out: String?
    @Flag(help: "Continue from the checkpoint in the output folder (written after every epoch).") var resume = false
    @Option(name: .customLong("stop-after"), help: "Stop after this many epochs (resume later with --resume).") var stopAfter: Int?

    func run() throws {
        let registry = try options.registry()
        let (settings, assignments) = try options.split(for: name, registry: registry)
        let probe = try RunPlan(registry: registry, name: name, settings: settings, optionAssignments: assignments)
        let dir = URL(fileURLWithPath: out ?? "runs/\(name)-seed\(probe.config.seed)")
        let plan = try RunPlan(registry: registry, name: name, settings: settings, optionAssignments: assignments, outputDirectory: dir)
        plan.resume = resume
        plan.stopAfterEpochs = stopAfter
        let report = try plan.execute(progress: ConsoleProgress())
        if plan.writesOutputs { printSummary(report, dir: dir) }
    }
}

func printSummary(_ report: JSONValue, dir: URL?) {
    let accuracy = report["test"]?["accuracy"]?.doubleValue.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a"
    let wall = report["wall_seconds"]?.doubleValue.map { String(format: "%.1f s", $0) } ?? "n/a"
    print("\(report["method"]?.stringValue ?? "?") on \(report["dataset"]?.stringValue ?? "?") with \(report["model"]?.stringValue ?? "?"): test accuracy \(accuracy), wall time \(wall)")
    if let dir { print("report: \(dir.appendingPathComponent("report.json").path)") }
}

/// `tlab train`: plain training, the same as `tlab run erm`.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Plain training (same as `tlab run erm`).")

    @OptionGroup var options: RunOptions
    @Option(help: "Output folder (default: runs/erm-seedS).") var out: String?

    func run() throws {
        var command = try Run.parse(["erm"])
        command.options = options
        command.out = out
        try command.run()
    }
}
