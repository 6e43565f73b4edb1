import XCTest
import TrainingLab

final class ConfigurationTests: XCTestCase {
    let specs: [OptionSpec] = [
        .double("prune_ratio", 0.5, in: 0...0.9, help: "drop probability"),
        .int("steps", 5, in: 1...100, help: "attack steps"),
        .bool("anneal", true, help: "anneal"),
        .choice("variant", "fl", ["fl", "gc"], help: "loss"),
    ]

    func testDefaultsAndAssignments() throws {
        let options = try OptionValues(specs: specs, assignments: ["prune_ratio=0.3", "steps=7", "anneal=false", "variant=gc"], owner: "m")
        XCTAssertEqual(try options.double("prune_ratio"), 0.3)
        XCTAssertEqual(try options.int("steps"), 7)
        XCTAssertFalse(try options.bool("anneal"))
        XCTAssertEqual(try options.string("variant"), "gc")
        let defaults = try OptionValues(specs: specs, owner: "m")
        XCTAssertEqual(try defaults.double("prune_ratio"), 0.5)
        XCTAssertEqual(try OptionValues(specs: specs, given: ["prune_ratio": .int(0)], owner: "m").double("prune_ratio"), 0)
    }

    /// A plugin asking for an option it did not declare, or for the wrong type, gets a thrown error naming the
    /// owner and what is declared (before, a precondition failure ended the process, C callers included).
    func testGettersOfUndeclaredOrMistypedOptionsThrow() throws {
        let options = try OptionValues(specs: specs, owner: "infobatch")
        XCTAssertThrowsError(try options.double("prune_ratoi")) {
            XCTAssertTrue("\($0)".contains("infobatch") && "\($0)".contains("prune_ratio"), "\($0)")
        }
        XCTAssertThrowsError(try options.int("variant")) { XCTAssertTrue("\($0)".contains("holds fl, not an int"), "\($0)") }
        XCTAssertThrowsError(try options.bool("steps"))
        XCTAssertEqual(try options.double("steps"), 5, "an int option reads as a number")
    }

    func testInvalidOptionsNameWhatIsValid() {
        XCTAssertThrowsError(try OptionValues(specs: specs, assignments: ["prune=0.3"], owner: "infobatch")) {
            XCTAssertEqual("\($0)", "infobatch: unknown option 'prune'; valid options: anneal, prune_ratio, steps, variant")
        }
        XCTAssertThrowsError(try OptionValues(specs: specs, assignments: ["prune_ratio=0.95"], owner: "infobatch")) {
            XCTAssertEqual("\($0)", "infobatch: option 'prune_ratio' = '0.95' is invalid; expected a number in 0.0...0.9")
        }
        XCTAssertThrowsError(try OptionValues(specs: specs, assignments: ["steps=2.5"], owner: "m"))
        XCTAssertThrowsError(try OptionValues(specs: specs, assignments: ["variant=ld"], owner: "m")) {
            XCTAssertTrue("\($0)".contains("one of fl, gc"))
        }
        XCTAssertThrowsError(try OptionValues(specs: specs, assignments: ["steps"], owner: "m"))
    }

    func testRunConfigSetAndJSONRoundTrip() throws {
        var config = RunConfig()
        try config.set("epochs", text: "16")
        try config.set("lr", text: "0.1")
        try config.set("flip", text: "true")
        try config.set("model", text: "resnet20")
        try config.set("schedule", text: "step:0.75")
        var copy = RunConfig()
        try copy.apply(try JSONValue.parse(config.json.serialized()))
        XCTAssertEqual(copy, config)
        XCTAssertThrowsError(try config.set("epoch", text: "3")) { XCTAssertTrue("\($0)".contains("valid: model, dataset, epochs")) }
        XCTAssertThrowsError(try config.set("epochs", text: "0"))
        XCTAssertThrowsError(try config.set("optimizer", text: "lion")) { XCTAssertTrue("\($0)".contains("sgd, adamw")) }
        XCTAssertThrowsError(try config.set("schedule", text: "warmup"))
    }

    func testJSONValueSerialisation() throws {
        let value: JSONValue = .object([("b", 1), ("a", .array([true, .null, 2.5, "x\"y"])), ("nan", .number(.nan))])
        XCTAssertEqual(value.serialized(), #"{"b":1,"a":[true,null,2.5,"x\"y"],"nan":null}"#)
        let parsed = try JSONValue.parse(#"{"k": [1, false, "s"], "n": null}"#)
        XCTAssertEqual(parsed["k"], .array([1, false, "s"]))
        XCTAssertEqual(parsed["n"], .null)
        XCTAssertThrowsError(try JSONValue.parse("{", source: "config.json")) { XCTAssertTrue("\($0)".hasPrefix("config.json: invalid JSON")) }
    }
}
