import Foundation
import XCTest
import TrainingLab

/// The strict RFC 8259 reader behind JSONValue.parse: what it refuses, where it says the problem is, and its
/// nesting limit.
final class JSONParserTests: XCTestCase {
    /// Asserts that `text` is refused with a message naming `source`, the byte offset and `fragment`.
    private func assertRefused(_ text: String, at offset: Int, mentioning fragment: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONValue.parse(text, source: "in.json"), text, file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("in.json: invalid JSON at byte \(offset): "), "\(text): \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(fragment), "\(text): '\(message)' does not mention '\(fragment)'", file: file, line: line)
        }
    }

    func testRefusesNumbersOutsideTheGrammar() {
        assertRefused("+1", at: 0, mentioning: "expected a value")
        assertRefused("01", at: 0, mentioning: "leading zeros")
        assertRefused("[-012]", at: 1, mentioning: "leading zeros")
        assertRefused("1.", at: 2, mentioning: "digit after the decimal point")
        assertRefused(".5", at: 0, mentioning: "found '.'")
        assertRefused("1e", at: 2, mentioning: "digit in the exponent")
        assertRefused("1e+", at: 3, mentioning: "digit in the exponent")
        assertRefused("-", at: 1, mentioning: "digit after '-'")
        assertRefused("0x10", at: 1, mentioning: "unexpected 'x' after the JSON value")
        assertRefused("NaN", at: 0, mentioning: "found 'N'")
        assertRefused("1e400", at: 0, mentioning: "beyond the range of a double")
    }

    func testRefusesBadStrings() {
        assertRefused(#""\q""#, at: 1, mentioning: "invalid escape \\q")
        assertRefused("\"a\u{1}b\"", at: 2, mentioning: "control character 0x01")
        assertRefused("\"tab\there\"", at: 4, mentioning: "control character 0x09")
        assertRefused(#""\u12G4""#, at: 1, mentioning: "four hex digits")
        assertRefused(#""abc"#, at: 4, mentioning: "unterminated string")
        assertRefused(#"["\uD800"]"#, at: 2, mentioning: "lone high surrogate \\uD800")
        assertRefused(#""\uDC00""#, at: 1, mentioning: "lone low surrogate \\uDC00")
        assertRefused(#""\uD800\u0041""#, at: 7, mentioning: "not followed by a low surrogate")
    }

    func testRefusesStructuralErrors() {
        assertRefused("", at: 0, mentioning: "unexpected end of the text")
        assertRefused("[1] x", at: 4, mentioning: "unexpected 'x' after the JSON value")
        assertRefused("{} {}", at: 3, mentioning: "after the JSON value")
        assertRefused("[1,]", at: 3, mentioning: "found ']'")
        assertRefused(#"{"a":1,}"#, at: 7, mentioning: "expected a string key")
        assertRefused("[1 2]", at: 3, mentioning: "expected , or ] in an array")
        assertRefused(#"{"a" 1}"#, at: 5, mentioning: "expected : after the key")
        assertRefused("{'a': 1}", at: 1, mentioning: "expected a string key, found '''")
        assertRefused("tru", at: 0, mentioning: "expected true")
        assertRefused("\u{FEFF}1", at: 0, mentioning: "found byte 0xEF")
        assertRefused("[1] // comment", at: 4, mentioning: "after the JSON value")
        assertRefused(#"{"lr": 0.1, "lr": 0.2}"#, at: 12, mentioning: #"duplicate key "lr""#)
    }

    func testAcceptsTheWholeGrammar() throws {
        XCTAssertEqual(try JSONValue.parse(" \t\r\n-0.5e+1 "), .number(-5))
        XCTAssertEqual(try JSONValue.parse("0"), .number(0))
        XCTAssertEqual(try JSONValue.parse("1E-2"), .number(0.01))
        XCTAssertEqual(try JSONValue.parse("[[],{},[{}]]"), .array([.array([]), .object([]), .array([.object([])])]))
        XCTAssertEqual(try JSONValue.parse(#""\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00 ✓""#), .string("\"\\/\u{8}\u{C}\n\r\té😀 ✓"))
        XCTAssertEqual(try JSONValue.parse(#"{"b": null, "a": [true, false]}"#), .object([("b", .null), ("a", .array([true, false]))]))
        // The same key in two different objects is no duplicate.
        XCTAssertEqual(try JSONValue.parse(#"{"a": {"a": 1}}"#)["a"]?["a"], 1)
    }

    func testNestingLimitEndsInAnErrorNotAStackOverflow() throws {
        let limit = 512
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        XCTAssertNoThrow(try JSONValue.parse(deepest), "exactly the limit is accepted")
        assertRefused(String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1), at: limit,
                      mentioning: "nest deeper than \(limit) levels")
        // 60 000 levels of alternating objects and arrays, the shape of the crafted checkpoint header.
        let hostile = String(repeating: #"{"a":["#, count: 30_000) + "1" + String(repeating: "]}", count: 30_000)
        assertRefused(hostile, at: 6 * 256, mentioning: "nest deeper than \(limit) levels")
    }

    /// The C API's configuration string goes through the same reader: tl_run_create refuses it with the byte offset.
    func testRunCreateRefusesInvalidConfigJSON() throws {
        _ = try buildFolder()
        let cases = [(#"{"epochs": +1}"#, 11, "expected a value"), (#"{"epochs": 01}"#, 11, "leading zeros"),
                     (#"{"lr": 1.}"#, 9, "digit after the decimal point"), (#"{"model": "\q"}"#, 11, "invalid escape \\q"),
                     (String(repeating: "[", count: 60_000), 512, "nest deeper than 512 levels")]
        for (config, offset, fragment) in cases {
            var run: OpaquePointer?
            let status = tl_run_create("erm", config, &run)
            XCTAssertEqual(status, Int32(TL_ERR_INVALID_ARGUMENT.rawValue), config)
            XCTAssertNil(run)
            let message = String(cString: tl_last_error())
            XCTAssertTrue(message.hasPrefix("tl_run_create config: invalid JSON at byte \(offset): "), message)
            XCTAssertTrue(message.contains(fragment), message)
        }
    }
}
