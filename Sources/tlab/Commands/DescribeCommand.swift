import ArgumentParser
import TrainingLab

/// `tlab describe NAME`: the method card from its descriptor.
struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe one method: paper, summary, options, events, metrics.")

    @Argument(help: "Method name.") var name: String
    @Flag(help: "JSON output.") var json = false
    @Option(name: .customLong("plugin-path"), help: "A folder (or plugin file) to search first; repeatable.")
    var pluginPaths: [String] = []

    func run() throws {
        let entry = try PluginRegistry(pluginPaths: pluginPaths).entry(named: name)
        let d = entry.descriptor
        if json {
            var j = d.json
            j.set("plugin", .string(entry.pluginPath))
            print(j.serialized(pretty: true))
            return
        }
        print("\(d.name): \(d.title)")
        print("paper:    \(d.paper)")
        print("summary:  \(d.summary)")
        print("baseline: \(d.baseline ?? "(none: this is a baseline)")")
        if !d.arms.isEmpty {
            let arms = d.arms.map { arm -> String in
                let details = arm.optionAssignments + arm.settings.keys.sorted().map { "\($0)=\(arm.settings[$0]!.serialized())" }
                let text = arm.label == arm.method ? arm.label : "\(arm.label) (\(arm.method))"
                return (details.isEmpty ? text : "\(text) [\(details.joined(separator: ", "))]") + (arm.label == d.referenceArm ? " reference" : "")
            }
            print("arms:     \(arms.joined(separator: "; "))")
        }
        print("kind:     \(entry.type is any LoopOwningMethod.Type ? "runs its own loop (stages on the training loop)" : "in-loop (events: \(d.events.isEmpty ? "none" : d.events.map(\.rawValue).joined(separator: ", ")))")")
        if !d.claims.isEmpty { print("claims:   \(d.claims.map(\.rawValue).sorted().joined(separator: ", "))") }
        if !d.metrics.isEmpty { print("reports:  \(d.metrics.joined(separator: ", "))") }
        if !d.evaluationMetrics.isEmpty { print("evaluates: \(d.evaluationMetrics.joined(separator: ", "))") }
        if !d.runDefaults.isEmpty { print("defaults: \(d.runDefaults.map { "\($0.0)=\($0.1.serialized())" }.joined(separator: " "))") }
        print("plugin:   \(entry.pluginPath)")
        print(d.options.isEmpty ? "options:  none" : "options:")
        for o in d.options { print("  \(o.name) = \(o.defaultValue)  (\(o.expectation)) \(o.help)") }
    }
}
