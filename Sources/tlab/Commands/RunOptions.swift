import ArgumentParser
import Foundation
import TrainingLab

/// The options of `run`, `compare` and `train`: plugin discovery, common run settings, method options.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("plugin-path"), help: "A folder (or plugin file) to search first; repeatable.")
    var pluginPaths: [String] = []

    @Option(help: "Dataset SPEC: fashion-mnist (default), mnist=DIR, cifar10=DIR, cifar100=DIR, with derivations such as ,imbalance=10 ,subset=N ,val=N.")
    var dataset: String?

    @Option(help: "Model name (see `tlab models`).")
    var model: String?

    @Option(help: "Training epochs.")
    var epochs: Int?

    @Option(name: .customLong("batch-size"), help: "Mini-batch size.")
    var batchSize: Int?

    @Option(help: "Base learning rate.")
    var lr: Double?

    @Option(help: "Seed of data order, initialisation and augmentation.")
    var seed: Int?

    @Option(name: .customLong("set"), help: "key=value: a method option, or a run option (\(RunConfig.optionNames.joined(separator: ", "))); repeatable.")
    var assignments: [String] = []

    @Option(help: "OpenMP threads of the kernels (default: all cores).")
    var threads: Int?

    func registry() throws -> PluginRegistry {
        if let threads { try tlCheck(tl_set_num_threads(Int32(threads))) }
        return try PluginRegistry(pluginPaths: pluginPaths)
    }

    /// Splits `--set` into run settings and method-option assignments; flags become run settings.
    func split(for methodName: String, registry: PluginRegistry) throws -> (settings: [(String, JSONValue)], options: [String]) {
        let methodOptionNames = Set(try methodName.split(separator: "+").flatMap { name -> [String] in
            let specs = try registry.entry(named: String(name)).descriptor.options.map(\.name)
            return specs + specs.map { "\(name).\($0)" }
        })
        var settings: [(String, JSONValue)] = []
        var options: [String] = []
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "=") else { throw ConfigError("--set \(assignment): expected key=value") }
            let key = String(assignment[..<eq]), value = String(assignment[assignment.index(after: eq)...])
            if methodOptionNames.contains(key) || !RunConfig.optionNames.contains(key) {
                options.append(assignment)
            } else {
                var probe = RunConfig()
                try probe.set(key, text: value)
                settings.append((key, probe.json[key]!))
            }
        }
        if let dataset { settings.append(("dataset", .string(dataset))) }
        if let model { settings.append(("model", .string(model))) }
        if let epochs { settings.append(("epochs", .number(Double(epochs)))) }
        if let batchSize { settings.append(("batch_size", .number(Double(batchSize)))) }
        if let lr { settings.append(("lr", .number(lr))) }
        if let seed { settings.append(("seed", .number(Double(seed)))) }
        return (settings, options)
    }
}
