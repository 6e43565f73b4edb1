import ArgumentParser
import Foundation
import TrainingLab

/// The options of `run`, `compare` and `train`: plugin discovery, common run settings, method options.
/// Numeric flags take their next argument whatever it looks like, so `--epochs -1` reaches the range check.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("plugin-path"), help: "A folder (or plugin file) to search first; repeatable.")
    var pluginPaths: [String] = []

    @Option(help: "A run configuration: a run folder's config.json, or JSON/YAML with keys method, config (run options), options.METHOD (method options). Command-line flags and --set override it.")
    var config: String?

    @Option(help: "Dataset SPEC: fashion-mnist (default), mnist=DIR, cifar10=DIR, cifar100=DIR, with derivations such as ,imbalance=10 ,subset=N ,val=N.")
    var dataset: String?

    @Option(help: "Model name (see `tlab models`).")
    var model: String?

    @Option(parsing: .unconditional, help: "Training epochs (>= 1).")
    var epochs: Int?

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Mini-batch size (>= 1).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Base learning rate (0...100).")
    var lr: Double?

    @Option(parsing: .unconditional, help: "Seed of data order, initialisation and augmentation (>= 0).")
    var seed: Int?

    @Option(name: .customLong("set"), help: "key=value: a method option, or a run option (\(RunConfig.optionNames.joined(separator: ", "))); repeatable.")
    var assignments: [String] = []

    @Option(parsing: .unconditional, help: "OpenMP threads of the kernels (default: all cores).")
    var threads: Int?

    func registry() throws -> PluginRegistry {
        if let threads {
            guard (1...4096).contains(threads) else { throw ConfigError("--threads \(threads) is invalid; expected an integer in 1...4096") }
            try tlCheck(tl_set_num_threads(Int32(threads)))
        }
        return try PluginRegistry(pluginPaths: pluginPaths)
    }

    /// The run's method (the command line's, else the --config file's), its run settings and its method-option
    /// assignments, in the order they apply: the --config file, then --set, then the flags (later ones win).
    func resolve(method given: String?, registry: PluginRegistry) throws -> (name: String, settings: [(String, JSONValue)], options: [String]) {
        let file = try config.map(ConfigFile.load)
        if let given, let named = file?.method, named != given {
            throw ConfigError("--config \(config!) configures method '\(named)', but the command runs '\(given)'; drop one of them")
        }
        guard let name = given ?? file?.method else {
            throw ConfigError("no method given: name one (tlab run NAME; tlab methods lists them) or use a --config file with \"method\"")
        }
        var settings = file?.settings ?? []
        var options = try file?.optionAssignments(for: name, source: config!) ?? []
        let split = try self.split(for: name, registry: registry)
        settings += split.settings
        options += split.options
        return (name, settings, options)
    }

    /// Splits `--set` into run settings and method-option assignments; flags become run settings. A key that is
    /// neither is refused with the nearest valid name and both lists.
    private func split(for methodName: String, registry: PluginRegistry) throws -> (settings: [(String, JSONValue)], options: [String]) {
        let methods = try methodName.split(separator: "+").map { name in
            (String(name), try registry.entry(named: String(name)).descriptor.options.map(\.name))
        }
        // Plain and qualified ("method.option"); RunPlan explains that several methods need the qualified form.
        let methodOptionNames = methods.flatMap { method, names in names + names.map { "\(method).\($0)" } }
        var settings: [(String, JSONValue)] = []
        var options: [String] = []
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "=") else { throw ConfigError("--set \(assignment): expected key=value") }
            let key = String(assignment[..<eq]), value = String(assignment[assignment.index(after: eq)...])
            if methodOptionNames.contains(key) {
                options.append(assignment)
            } else if RunConfig.optionNames.contains(key) {
                var probe = RunConfig()
                try probe.set(key, text: value)
                settings.append((key, probe.json[key]!))
            } else {
                let lists = ["run options: \(RunConfig.optionNames.joined(separator: ", "))"]
                    + methods.map { method, names in "\(method) options: \(names.isEmpty ? "(none)" : names.sorted().joined(separator: ", "))" }
                throw ConfigError("--set \(assignment): unknown option '\(key)'\(NameSuggestion.clause(for: key, among: methodOptionNames + RunConfig.optionNames)); \(lists.joined(separator: "; "))")
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
