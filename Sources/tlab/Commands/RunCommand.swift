import ArgumentParser
import Foundation
import TrainingLab

/// `tlab run NAME`: one run of a method; writes config.json, metrics.jsonl, report.json, model.safetensors.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a method (or several in-loop methods joined by +).")

    @Argument(help: "Method name, e.g. erm or infobatch (optional with a --config file that names it).") var name: String?
    @OptionGroup var options: RunOptions
    @Option(help: "Output folder (default: runs/NAME-seedS). It must be new or empty, unless --overwrite or --resume.") var out: String?
    @Flag(help: "Continue from the checkpoints in the output folder (written after every epoch); refused when the configuration differs.") var resume = false
    @Flag(help: "Write into a non-empty output folder, replacing the run there.") var overwrite = false
    @Option(name: .customLong("stop-after"), parsing: .unconditional, help: "Stop after this many epochs (>= 1; resume later with --resume).") var stopAfter: Int?
    @Flag(name: .customLong("print-config"), help: "Print the resolved configuration (defaults included) as JSON and exit without training.") var printConfig = false

    func run() throws {
        if let stopAfter, stopAfter < 1 { throw ConfigError("--stop-after \(stopAfter) is invalid; expected an integer >= 1") }
        let registry = try options.registry()
        let (name, settings, assignments) = try options.resolve(method: self.name, registry: registry)
        let probe = try RunPlan(registry: registry, name: name, settings: settings, optionAssignments: assignments)
        if printConfig { return print(probe.configuration.serialized(pretty: true)) }
        let folder = out ?? "runs/\(name)-seed\(probe.config.seed)"
        let dir = URL(fileURLWithPath: folder)
        let plan = try RunPlan(registry: registry, name: name, settings: settings, optionAssignments: assignments, outputDirectory: dir)
        plan.resume = resume
        plan.overwrite = overwrite
        plan.stopAfterEpochs = stopAfter
        let report = try Interruption.handling(plan.stopRequest) { try plan.execute(progress: ConsoleProgress()) }
        guard plan.writesOutputs else { return }
        if let stopped = plan.stopped {
            printError(Interruption.resumeAdvice(stopped, out: folder))
            if stopped.cause == .interrupt { throw ExitCode(130) }
        } else {
            printSummary(report, dir: dir)
        }
    }
}

func printSummary(_ report: JSONValue, dir: URL?) {
    let accuracy = report["test"]?["accuracy"]?.doubleValue.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a"
    let wall = report["wall_seconds"]?.doubleValue.map { String(format: "%.1f s", $0) } ?? "n/a"
    print("\(report["method"]?.stringValue ?? "?") on \(report["dataset"]?.stringValue ?? "?") with \(report["model"]?.stringValue ?? "?"): test accuracy \(accuracy), wall time \(wall)")
    if let dir { print("report: \(dir.appendingPathComponent("report.json").path)") }
}

func printError(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

/// `tlab train`: plain training, the same as `tlab run erm`.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Plain training (same as `tlab run erm`).")

    @OptionGroup var options: RunOptions
    @Option(help: "Output folder (default: runs/erm-seedS).") var out: String?
    @Flag(help: "Continue from the checkpoints in the output folder.") var resume = false
    @Flag(help: "Write into a non-empty output folder, replacing the run there.") var overwrite = false
    @Flag(name: .customLong("print-config"), help: "Print the resolved configuration and exit.") var printConfig = false

    func run() throws {
        var command = try Run.parse(["erm"])
        command.options = options
        command.out = out
        command.resume = resume
        command.overwrite = overwrite
        command.printConfig = printConfig
        try command.run()
    }
}
