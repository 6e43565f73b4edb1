import ArgumentParser
import Foundation
import TrainingLab

/// `tlab models`: every model the core and the plugins provide, with parameters and forward FLOPs for an
/// input shape, and the options that size it.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the models (core and plugins) with parameters and FLOPs per sample.")

    @Option(help: "Input shape of one sample, e.g. CxHxW.") var input = "1x28x28"
    @Option(help: "Number of classes.") var classes = 10
    @Flag(help: "JSON output.") var json = false
    @Option(name: .customLong("plugin-path"), help: "A folder (or plugin file) to search first; repeatable.")
    var pluginPaths: [String] = []

    func run() throws {
        let dims = input.split(separator: "x").compactMap { Int($0) }
        guard !dims.isEmpty, dims.count == input.split(separator: "x").count, dims.allSatisfy({ $0 > 0 }) else {
            throw ConfigError("--input \(input): expected positive sizes joined by x, e.g. 3x32x32")
        }
        let catalog = try PluginRegistry(pluginPaths: pluginPaths).models
        let shape = ModelInput(shape: dims, classes: classes)
        var rows: [JSONValue] = []
        for entry in catalog.entries {
            let builder = entry.item
            var row: JSONValue = .object([("name", .string(builder.name)), ("provider", .string(entry.provider)),
                                          ("summary", .string(builder.summary)),
                                          ("options", .array(builder.options.map { .object([("name", .string($0.name)), ("default", JSONValue($0.defaultValue)), ("help", .string($0.help))]) }))])
            do {
                let model = try catalog.make(builder.name, input: shape, seed: 0)
                let flops = try model.inEvaluationMode { try FlopCounter.count { _ = try withoutGradients { try model(Tensor(zeros: [1] + dims)) } } }
                row.set("parameters", .number(Double(model.parameters().reduce(0) { $0 + $1.count })))
                row.set("flops", .number(Double(flops)))
            } catch {
                row.set("error", .string("\(error)"))
            }
            rows.append(row)
        }
        if json { print(JSONValue.array(rows).serialized(pretty: true)); return }
        print(Models.line("model", "provider", "parameters", "MFLOPs/sample", "description"))
        for row in rows {
            let name = row["name"]?.stringValue ?? "", provider = row["provider"]?.stringValue ?? ""
            let plugin = provider == "core" ? "core" : ((provider as NSString).lastPathComponent as String)
            let params = row["parameters"]?.doubleValue.map { String(Int($0)) } ?? "-"
            let flops = row["flops"]?.doubleValue.map { String(format: "%.2f", $0 / 1e6) } ?? "-"
            let note = row["error"]?.stringValue.map { "not buildable for \(input): \($0)" } ?? (row["summary"]?.stringValue ?? "")
            print(Models.line(name, plugin, params, flops, note))
        }
    }

    private static func line(_ name: String, _ provider: String, _ params: String, _ flops: String, _ note: String) -> String {
        let cells = [(name, 12), (provider, 18), (params, 12), (flops, 15)].map { $0.0.padding(toLength: max($0.1, $0.0.count + 1), withPad: " ", startingAt: 0) }
        return cells.joined() + note
    }
}
