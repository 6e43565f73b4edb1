import Foundation

/// A run configuration read from a file (`tlab run --config FILE`): the shape of config.json and of
/// `--print-config` (`RunPlan.configuration`), so a run folder's own config.json reproduces its run.
///
///     {"method": "infobatch",                      optional; must agree with the method named on the command line
///      "config": {"epochs": 5, "lr": 0.1},         run options (`RunConfig`)
///      "options": {"infobatch": {"ratio": 0.5}},   method options, per method
///      "machine": {...}}                           ignored: config.json records there where the run ran
///
/// TOML or YAML files hold the same keys (the CLI turns them into this JSON value).
public struct ConfigurationDocument {
    public let method: String?
    /// Run options, in the file's order.
    public let settings: [(String, JSONValue)]
    /// Method options per method, in the file's order.
    public let methodOptions: [(method: String, values: [(String, JSONValue)])]

    public static let keys = ["method", "config", "options", "machine"]

    /// `source` names the file in errors.
    public init(_ document: JSONValue, source: String) throws {
        guard let pairs = document.objectValue else { throw ConfigError("\(source): a configuration must be a table/object with keys \(ConfigurationDocument.keys.joined(separator: ", "))") }
        var method: String?, settings: [(String, JSONValue)] = [], methodOptions: [(String, [(String, JSONValue)])] = []
        for (key, value) in pairs {
            switch key {
            case "method":
                guard let name = value.stringValue else { throw ConfigError("\(source): \"method\" must be a string, e.g. \"erm\"") }
                method = name
            case "config":
                guard let table = value.objectValue else { throw ConfigError("\(source): \"config\" must be a table of run options") }
                if let unknown = table.first(where: { !RunConfig.optionNames.contains($0.0) })?.0 {
                    throw ConfigError("\(source): config.\(unknown) is not a run option\(NameSuggestion.clause(for: unknown, among: RunConfig.optionNames)); run options: \(RunConfig.optionNames.joined(separator: ", ")) (method options go under options.METHOD)")
                }
                settings = table
            case "options":
                guard let tables = value.objectValue else { throw ConfigError("\(source): \"options\" must hold one table of options per method") }
                methodOptions = try tables.map { name, table in
                    guard let values = table.objectValue else { throw ConfigError("\(source): options.\(name) must be a table of \(name)'s options") }
                    return (name, values)
                }
            case "machine":
                continue
            default:
                throw ConfigError("\(source): unknown key '\(key)'\(NameSuggestion.clause(for: key, among: ConfigurationDocument.keys)); valid keys: \(ConfigurationDocument.keys.joined(separator: ", ")) (run options go under \"config\", method options under \"options.METHOD\")")
            }
        }
        self.method = method
        self.settings = settings
        self.methodOptions = methodOptions
    }

    /// The method options as `--set` assignments for a run of `methodName` (one method: "name=value"; several
    /// joined by +: "method.name=value"). A table for a method not in the run is refused.
    public func optionAssignments(for methodName: String, source: String) throws -> [String] {
        let names = methodName.split(separator: "+").map(String.init)
        return try methodOptions.flatMap { method, values -> [String] in
            guard names.contains(method) else {
                throw ConfigError("\(source): options.\(method) names a method that is not in this run (\(names.joined(separator: "+")))")
            }
            return try values.map { name, value in
                let text: String
                switch value {
                case .string(let s): text = s
                case .bool(let b): text = String(b)
                // Integral numbers as integers, so that integer options parse; others in Swift's shortest round-trip form.
                case .number(let x) where x == x.rounded() && abs(x) < 1e15: text = String(Int(x))
                case .number(let x): text = String(x)
                default: throw ConfigError("\(source): options.\(method).\(name) must be a number, string or boolean, not \(value.serialized())")
                }
                return (names.count > 1 ? "\(method)." : "") + "\(name)=\(text)"
            }
        }
    }
}
