import Foundation

/// A JSON document as a value: what reports, configs and method descriptions are made of.
/// Objects keep their key order, so written files read in a stable, meaningful order.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public init(_ value: OptionValue) {
        switch value {
        case .int(let v): self = .number(Double(v))
        case .double(let v): self = .number(v)
        case .bool(let v): self = .bool(v)
        case .string(let v): self = .string(v)
        }
    }

    /// The value of `key` in an object (nil otherwise).
    public subscript(key: String) -> JSONValue? {
        if case .object(let pairs) = self { return pairs.last(where: { $0.0 == key })?.1 }
        return nil
    }

    /// Sets or appends `key` in an object (no effect on other values).
    public mutating func set(_ key: String, _ value: JSONValue) {
        guard case .object(var pairs) = self else { return }
        if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = value } else { pairs.append((key, value)) }
        self = .object(pairs)
    }

    public var doubleValue: Double? { if case .number(let v) = self { return v }; return nil }
    public var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    public var boolValue: Bool? { if case .bool(let v) = self { return v }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let v) = self { return v }; return nil }
    public var objectValue: [(String, JSONValue)]? { if case .object(let v) = self { return v }; return nil }

    /// Compact (one line) or indented text. Non-finite numbers become null (JSON has no NaN).
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(into: &out, indent: pretty ? 0 : nil)
        return out
    }

    private func write(into out: inout String, indent: Int?) {
        let newline: (Int) -> String = { level in indent == nil ? "" : "\n" + String(repeating: "  ", count: level) }
        switch self {
        case .null: out += "null"
        case .bool(let v): out += v ? "true" : "false"
        case .number(let v):
            if !v.isFinite { out += "null" }
            else if v == v.rounded() && abs(v) < 1e15 { out += String(Int64(v)) }
            else { out += "\(v)" }  // shortest text that reads back to the same Double
        case .string(let s): out += JSONValue.quote(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            let level = indent ?? 0
            out += "["
            for (i, item) in items.enumerated() {
                out += (i > 0 ? "," : "") + newline(level + 1)
                item.write(into: &out, indent: indent.map { $0 + 1 })
            }
            out += newline(level) + "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            let level = indent ?? 0
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                out += (i > 0 ? "," : "") + newline(level + 1) + JSONValue.quote(key) + (indent == nil ? ":" : ": ")
                value.write(into: &out, indent: indent.map { $0 + 1 })
            }
            out += newline(level) + "}"
        }
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// Parses one JSON document under the strict grammar of RFC 8259 (objects keep their key order); see
    /// `JSONParser` for the limits. Errors name `source`, the byte offset and what was expected there.
    public static func parse(_ text: String, source: String = "JSON") throws -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8), source: source)
        return try parser.document()
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
