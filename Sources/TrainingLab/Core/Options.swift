import Foundation

/// The value of one option of a method or a model.
public enum OptionValue: Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v
        }
    }

    /// The value as JSON-compatible Foundation object.
    public var jsonObject: Any {
        switch self {
        case .int(let v): return v
        case .double(let v): return v
        case .bool(let v): return v
        case .string(let v): return v
        }
    }
}

/// A typed option of a method or a model: its name (as typed in `--set name=value`), type, default, range and help.
public struct OptionSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case int(ClosedRange<Int>)
        case double(ClosedRange<Double>)
        case bool
        case choice([String])
        case string
    }

    public let name: String
    public let kind: Kind
    public let defaultValue: OptionValue
    public let help: String

    public static func int(_ name: String, _ defaultValue: Int, in range: ClosedRange<Int> = Int.min...Int.max, help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .int(range), defaultValue: .int(defaultValue), help: help)
    }

    public static func double(_ name: String, _ defaultValue: Double, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude,
                              help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .double(range), defaultValue: .double(defaultValue), help: help)
    }

    public static func bool(_ name: String, _ defaultValue: Bool, help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .bool, defaultValue: .bool(defaultValue), help: help)
    }

    public static func choice(_ name: String, _ defaultValue: String, _ choices: [String], help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .choice(choices), defaultValue: .string(defaultValue), help: help)
    }

    public static func string(_ name: String, _ defaultValue: String, help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .string, defaultValue: .string(defaultValue), help: help)
    }

    /// "int in 1...10", "one of a, b": what a valid value looks like, for help and errors.
    public var expectation: String {
        switch kind {
        case .int(let r):
            return r == Int.min...Int.max ? "an integer" : "an integer in \(r.lowerBound)...\(r.upperBound)"
        case .double(let r):
            return r.lowerBound == -Double.greatestFiniteMagnitude && r.upperBound == Double.greatestFiniteMagnitude
                ? "a number" : "a number in \(r.lowerBound)...\(r.upperBound)"
        case .bool: return "true or false"
        case .choice(let c): return "one of \(c.joined(separator: ", "))"
        case .string: return "a string"
        }
    }

    /// Parses and validates a textual value (from `--set` or a JSON string).
    public func parse(_ text: String, owner: String) throws -> OptionValue {
        let value: OptionValue?
        switch kind {
        case .int: value = Int(text).map(OptionValue.int)
        case .double: value = Double(text).map(OptionValue.double)
        case .bool: value = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][text.lowercased()].map(OptionValue.bool)
        case .choice, .string: value = .string(text)
        }
        guard let value else { throw invalid(text, owner: owner) }
        return try validate(value, owner: owner)
    }

    /// Checks the type and range of a value, converting an int to a double where a number is expected.
    public func validate(_ value: OptionValue, owner: String) throws -> OptionValue {
        switch (kind, value) {
        case (.int(let r), .int(let v)) where r.contains(v): return value
        case (.double(let r), .double(let v)) where r.contains(v) && v.isFinite: return value
        case (.double(let r), .int(let v)) where r.contains(Double(v)): return .double(Double(v))
        case (.bool, .bool): return value
        case (.choice(let c), .string(let v)) where c.contains(v): return value
        case (.string, .string): return value
        default: throw invalid(value.description, owner: owner)
        }
    }

    private func invalid(_ text: String, owner: String) -> ConfigError {
        ConfigError("\(owner): option '\(name)' = '\(text)' is invalid; expected \(expectation)")
    }
}

/// Validated values of declared options (of a method in a run, or of a model): every declared option has a
/// value, given or default. `owner` names the method or model in error messages.
public struct OptionValues: Sendable, Equatable {
    public private(set) var values: [String: OptionValue]
    /// The method or model these options belong to.
    public let owner: String

    /// Defaults overridden by `given`; unknown names and invalid values are refused with a message
    /// that lists the valid options.
    public init(specs: [OptionSpec], given: [String: OptionValue] = [:], owner: String) throws {
        var values: [String: OptionValue] = [:]
        for spec in specs { values[spec.name] = spec.defaultValue }
        for (name, value) in given {
            guard let spec = specs.first(where: { $0.name == name }) else { throw OptionValues.unknown(name, specs: specs, owner: owner) }
            values[name] = try spec.validate(value, owner: owner)
        }
        self.values = values
        self.owner = owner
    }

    /// Parses `name=value` strings against the specs.
    public init(specs: [OptionSpec], assignments: [String], owner: String) throws {
        var given: [String: OptionValue] = [:]
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "=") else {
                throw ConfigError("\(owner): '--set \(assignment)' must have the form name=value")
            }
            let name = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
            guard let spec = specs.first(where: { $0.name == name }) else { throw OptionValues.unknown(name, specs: specs, owner: owner) }
            given[name] = try spec.parse(text, owner: owner)
        }
        try self.init(specs: specs, given: given, owner: owner)
    }

    /// Every value by name, sorted: how config.json, report.json and checkpoints show them.
    public var json: JSONValue { .object(values.keys.sorted().map { ($0, JSONValue(values[$0]!)) }) }

    /// An unknown option name, with the nearest valid one and the list of valid ones.
    static func unknown(_ name: String, specs: [OptionSpec], owner: String) -> ConfigError {
        let valid = specs.map(\.name).sorted()
        return ConfigError("\(owner): unknown option '\(name)'\(NameSuggestion.clause(for: name, among: valid)); valid options: \(valid.isEmpty ? "(none)" : valid.joined(separator: ", "))")
    }

    /// The value of a declared option of that type; a name the owner did not declare, or another type, is a
    /// thrown error (a plugin's typo must not abort a C caller's process).
    public func int(_ name: String) throws -> Int {
        if case .int(let v)? = values[name] { return v }
        throw undeclared(name, "an int")
    }

    public func double(_ name: String) throws -> Double {
        switch values[name] {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        default: throw undeclared(name, "a number")
        }
    }

    public func bool(_ name: String) throws -> Bool {
        if case .bool(let v)? = values[name] { return v }
        throw undeclared(name, "a bool")
    }

    public func string(_ name: String) throws -> String {
        if case .string(let v)? = values[name] { return v }
        throw undeclared(name, "a string")
    }

    private func undeclared(_ name: String, _ type: String) -> ConfigError {
        if let value = values[name] { return ConfigError("\(owner): option '\(name)' holds \(value), not \(type)") }
        return ConfigError("\(owner): no option '\(name)' is declared (asked for \(type)); declared: \(values.keys.sorted().joined(separator: ", "))")
    }
}
