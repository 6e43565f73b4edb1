import XCTest
import Foundation
import TrainingLab

/// `--config FILE` as the library reads it (the shape of config.json), and "did you mean" for mistyped names.
final class ConfigurationDocumentTests: XCTestCase {
    func testADocumentGivesRunSettingsAndMethodOptionAssignments() throws {
        let document = try ConfigurationDocument(.object([
            ("method", "infobatch"), ("config", .object([("epochs", 3), ("flip", true)])),
            ("options", .object([("infobatch", .object([("ratio", 0.25), ("anneal", 0.875), ("steps", 7), ("on", true), ("mode", "x")]))])),
            ("machine", .object([("cpu", "anything")])),
        ]), source: "c.json")
        XCTAssertEqual(document.method, "infobatch")
        XCTAssertEqual(document.settings.map(\.0), ["epochs", "flip"])
        XCTAssertEqual(try document.optionAssignments(for: "infobatch", source: "c.json"),
                       ["ratio=0.25", "anneal=0.875", "steps=7", "on=true", "mode=x"])
        XCTAssertEqual(try document.optionAssignments(for: "infobatch+erm", source: "c.json").first, "infobatch.ratio=0.25")
        XCTAssertThrowsError(try document.optionAssignments(for: "erm", source: "c.json")) {
            XCTAssertTrue("\($0)".contains("options.infobatch") && "\($0)".contains("not in this run"), "\($0)")
        }
    }

    func testUnknownKeysAndWrongShapesAreRefusedNamingTheFile() {
        XCTAssertThrowsError(try ConfigurationDocument(.object([("confg", .object([]))]), source: "my.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("my.yaml: unknown key 'confg' (did you mean 'config'?)"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationDocument(.object([("config", .object([("epochs", 2), ("lrr", 0.1)]))]), source: "my.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("my.yaml: config.lrr is not a run option (did you mean 'lr'?)"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationDocument(.object([("config", 3)]), source: "my.yaml")) {
            XCTAssertTrue("\($0)".contains("\"config\" must be a table"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationDocument(.array([]), source: "my.yaml"))
    }

    func testDidYouMeanSuggestsOnlyNearNames() {
        XCTAssertEqual(NameSuggestion.closest(to: "lrr", among: RunConfig.optionNames), "lr")
        XCTAssertEqual(NameSuggestion.closest(to: "momentun", among: RunConfig.optionNames), "momentum")
        XCTAssertEqual(NameSuggestion.closest(to: "Epochs", among: RunConfig.optionNames), "epochs")
        XCTAssertEqual(NameSuggestion.closest(to: "ratoi", among: ["ratio", "delta"]), "ratio", "a swap of neighbours is one edit")
        XCTAssertNil(NameSuggestion.closest(to: "zzzz", among: RunConfig.optionNames))
        XCTAssertNil(NameSuggestion.closest(to: "x", among: []))
        var config = RunConfig()
        XCTAssertThrowsError(try config.set("batchsize", 3)) {
            XCTAssertTrue("\($0)".contains("unknown run option 'batchsize' (did you mean 'batch_size'?)"), "\($0)")
        }
    }

    func testThePlansConfigurationHoldsEveryRunOptionAndTheMethodsOptions() throws {
        _ = try buildFolder()
        let plan = try RunPlan(registry: try PluginRegistry(environment: [:]), name: "erm", settings: [("epochs", 3)])
        let configuration = plan.configuration
        XCTAssertEqual(configuration["method"], "erm")
        XCTAssertEqual(configuration["config"]?.objectValue?.map(\.0), RunConfig.optionNames)
        XCTAssertEqual(configuration["config"]?["epochs"]?.doubleValue, 3)
        XCTAssertEqual(configuration["options"]?["erm"], .object([]))
    }
}
