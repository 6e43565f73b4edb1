/// The JSON reader behind `JSONValue.parse`: strict RFC 8259, because it reads files other people and
/// programs write (checkpoint headers, configurations, the C API's configuration string).
/// - Grammar: exactly RFC 8259. Refused: `+1`, `01`, `1.`, `.5`, `1e`, unknown escapes (`"\q"`), raw control
///   characters in strings, a byte-order mark, comments, trailing commas, anything after the value.
/// - Numbers become Doubles; one beyond the range of a Double (`1e400`) is refused rather than made infinite.
/// - `\u` escapes of UTF-16 surrogates must come in high-low pairs; a lone surrogate is refused (a Swift
///   String cannot hold one, and replacing it would change the text silently).
/// - A key may appear once per object: a duplicate is refused, naming the key (RFC 8259 leaves the meaning of
///   duplicates open; readers disagree on which one wins).
/// - Arrays and objects nest at most `maximumDepth` deep. The parser keeps its open containers in an explicit
///   stack, not in recursion, so a hostile 60 000-deep document ends in this error, not a stack overflow; the
///   limit bounds the recursion of what consumes the value afterwards (`==`, `serialized`, its deallocation).
struct JSONParser {
    static let maximumDepth = 512

    private let bytes: [UInt8]
    private let source: String
    private var i = 0

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// An array or object being read: its elements so far and, for an object, its keys and the pending key.
    private struct OpenContainer {
        let isObject: Bool
        var items: [JSONValue] = []
        var pairs: [(String, JSONValue)] = []
        var keys: Set<String> = []
        var key = ""
    }

    /// The whole text as one value, with nothing but white space after it.
    mutating func document() throws -> JSONValue {
        var open: [OpenContainer] = []
        while true {
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of the text, expected a value") }
            var value: JSONValue
            switch bytes[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = bytes[i] == UInt8(ascii: "{")
                guard open.count < JSONParser.maximumDepth else {
                    throw error("arrays and objects nest deeper than \(JSONParser.maximumDepth) levels, the limit of this reader")
                }
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: isObject ? "}" : "]") {
                    i += 1
                    value = isObject ? .object([]) : .array([])
                } else {
                    var container = OpenContainer(isObject: isObject)
                    if isObject { container.key = try key(into: &container.keys) }
                    open.append(container)
                    continue
                }
            case UInt8(ascii: "\""): value = .string(try string())
            case UInt8(ascii: "t"): try literal("true"); value = .bool(true)
            case UInt8(ascii: "f"): try literal("false"); value = .bool(false)
            case UInt8(ascii: "n"): try literal("null"); value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): value = .number(try number())
            default: throw error("expected a value (object, array, string, number, true, false or null), found \(found)")
            }
            // Hand the value to its container; close every container that ends here.
            while true {
                guard !open.isEmpty else {
                    skipSpace()
                    guard i >= bytes.count else { throw error("unexpected \(found) after the JSON value") }
                    return value
                }
                let top = open.count - 1
                if open[top].isObject { open[top].pairs.append((open[top].key, value)) } else { open[top].items.append(value) }
                skipSpace()
                let close = UInt8(ascii: open[top].isObject ? "}" : "]")
                if i < bytes.count, bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    if open[top].isObject {
                        let key = try key(into: &open[top].keys)
                        open[top].key = key
                    }
                    break
                }
                guard i < bytes.count, bytes[i] == close else {
                    throw error("expected , or \(Character(Unicode.Scalar(close))) in \(open[top].isObject ? "an object" : "an array"), found \(found)")
                }
                i += 1
                let done = open.removeLast()
                value = done.isObject ? .object(done.pairs) : .array(done.items)
            }
        }
    }

    func error(_ what: String, at offset: Int? = nil) -> ConfigError {
        ConfigError("\(source): invalid JSON at byte \(offset ?? i): \(what)")
    }

    /// The byte at the read position, for messages.
    private var found: String {
        guard i < bytes.count else { return "the end of the text" }
        let b = bytes[i]
        return (0x21..<0x7F).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x" + String(b, radix: 16, uppercase: true)
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count,
              bytes[i..<(i + count)].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count)) else {
            throw error("expected \(word)")
        }
        i += count
    }

    /// An object key and the ':' after it, refused when it is already in `keys`, else added to them.
    private mutating func key(into keys: inout Set<String>) throws -> String {
        skipSpace()
        let start = i
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key, found \(found)") }
        let key = try string()
        guard keys.insert(key).inserted else { throw error("duplicate key \"\(key)\" in an object", at: start) }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected : after the key, found \(found)") }
        i += 1
        return key
    }

    private func isDigit(_ at: Int) -> Bool { at < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) }

    /// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    private mutating func number() throws -> Double {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw error("expected a digit after '-', found \(found)") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            guard !isDigit(i) else { throw error("a number cannot start with 0 followed by digits (leading zeros)", at: start) }
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw error("expected a digit after the decimal point, found \(found)") }
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw error("expected a digit in the exponent, found \(found)") }
            while isDigit(i) { i += 1 }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number \(text) is beyond the range of a double", at: start) }
        return value
    }

    /// A string from its opening quote; the read position ends after the closing quote.
    private mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            guard b >= 0x20 else {
                throw error("control character 0x\(b < 0x10 ? "0" : "")\(String(b, radix: 16, uppercase: true)) inside a string, expected it escaped (\\n, \\t, \\u00XX)")
            }
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            let escape = i
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"): out += Array(String(Character(try unicodeEscape(at: escape))).utf8)
            default:
                i = escape
                throw error("invalid escape \\\(e < 0x80 && e >= 0x20 ? String(Character(Unicode.Scalar(e))) : "(byte \(e))") in a string, expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
            }
        }
        throw error("unterminated string, expected a closing \"")
    }

    /// Four hex digits at the read position (after "\u").
    private mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var code: UInt32 = 0
        for b in bytes[i..<(i + 4)] {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): code = code << 4 | UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): code = code << 4 | UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): code = code << 4 | UInt32(b - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
        i += 4
        return code
    }

    /// The scalar of a \uXXXX escape (after "\u"), joining a UTF-16 surrogate pair; `escape` is the offset of
    /// its backslash, for messages.
    private mutating func unicodeEscape(at escape: Int) throws -> Unicode.Scalar {
        guard let code = hex4() else { throw error("\\u must be followed by four hex digits", at: escape) }
        if (0xDC00..<0xE000).contains(code) {
            throw error("lone low surrogate \\u\(String(code, radix: 16, uppercase: true)), expected it after a high surrogate \\uD800-\\uDBFF", at: escape)
        }
        guard (0xD800..<0xDC00).contains(code) else { return Unicode.Scalar(code)! }
        let pair = i
        guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
            throw error("lone high surrogate \\u\(String(code, radix: 16, uppercase: true)), expected a low surrogate \\uDC00-\\uDFFF after it", at: escape)
        }
        i += 2
        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else {
            throw error("high surrogate \\u\(String(code, radix: 16, uppercase: true)) is not followed by a low surrogate \\uDC00-\\uDFFF", at: pair)
        }
        return Unicode.Scalar(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))!
    }
}
