import ArgumentParser
import TrainingLab

/// `tlab methods`: what the registry discovered.
struct Methods: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the methods discovered in plugins.")

    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Also list the files that were skipped, and why, and the folders searched.") var verbose = false
    @Option(name: .customLong("plugin-path"), help: "A folder (or plugin file) to search first; repeatable.")
    var pluginPaths: [String] = []

    func run() throws {
        let registry = try PluginRegistry(pluginPaths: pluginPaths)
        if json {
            var methods: [JSONValue] = registry.entries.map { entry in
                var d = entry.descriptor.json
                d.set("plugin", .string(entry.pluginPath))
                return d
            }
            if verbose {
                methods = [.object([("methods", .array(methods)),
                                    ("skipped", .array(registry.skipped.map { .object([("path", .string($0.path)), ("reason", .string($0.reason))]) })),
                                    ("search_path", .array(registry.searchPath.map(JSONValue.string)))])]
                print(methods[0].serialized(pretty: true))
            } else {
                print(JSONValue.array(methods).serialized(pretty: true))
            }
            return
        }
        let width = (registry.names.map(\.count).max() ?? 4) + 2
        for entry in registry.entries {
            print(entry.descriptor.name.padding(toLength: width, withPad: " ", startingAt: 0) + entry.descriptor.title)
            if verbose { print(String(repeating: " ", count: width) + entry.pluginPath) }
        }
        if registry.entries.isEmpty { print("no methods found") }
        if verbose {
            print("\nsearched: \(registry.searchPath.joined(separator: ", "))")
            for skip in registry.skipped { print("skipped \(skip.path): \(skip.reason)") }
        }
    }
}
