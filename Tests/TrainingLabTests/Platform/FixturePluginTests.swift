import XCTest
import Foundation
import TrainingLab

/// The fixture plugin (Tests/Plugins/TestFixture, built like any plugin folder and listed nowhere) adds
/// from outside the core what paper methods add: a model sized by an option, a loop-owning method that
/// trains two models on the one training loop, and a three-arm comparison.
final class FixturePluginTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 192, test: 96)

    private func fixturePath() throws -> String {
        let path = try buildFolder() + "/libTestFixture.so"
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: build with `swift build --build-tests`")
            throw XCTSkip("fixture not built")
        }
        return path
    }

    private func registry() throws -> PluginRegistry { try PluginRegistry(pluginPaths: [try fixturePath()], environment: [:]) }

    private var settings: [(String, JSONValue)] {
        [("dataset", .string(FixturePluginTests.data.spec)), ("epochs", 2), ("batch_size", 32), ("crop_padding", 0)]
    }

    func testFolderScansSkipTheFixtureAndANamedFileLoadsIt() throws {
        let path = try fixturePath()
        let scanned = try PluginRegistry(environment: [:])
        XCTAssertFalse(scanned.names.contains("fixture-pair"))
        XCTAssertTrue(scanned.skipped.contains { $0.path.hasSuffix("libTestFixture.so") && $0.reason.contains("test fixture") })
        let named = try registry()
        XCTAssertTrue(named.names.contains("fixture-pair"))
        let model = try named.models.entry(named: "fixture-mlp")
        XCTAssertEqual(model.provider, path)
        XCTAssertFalse(try PluginRegistry(environment: [:]).names.contains("fixture-pair"), "a cached fixture stays hidden from scans")
    }

    func testTheMethodSizesThePluginModelAndTrainsBothModels() throws {
        let plan = try RunPlan(registry: try registry(), name: "fixture-pair", settings: settings, optionAssignments: ["hidden=7"])
        let report = try plan.execute()
        XCTAssertEqual(report["complete"], .bool(true))
        XCTAssertEqual(report["sample_passes"]?.doubleValue, 2 * 192)
        XCTAssertGreaterThan(report["test"]?["accuracy"]?.doubleValue ?? 0, 0.5)
        XCTAssertNotNil(report["agreement"]?.doubleValue)
    }

    func testThePluginsCustomOperationPassesTheHostsGradientCheck() throws {
        let registry = try registry()
        let operation = try registry.operations.item(named: "fixture-squared-gap")
        XCTAssertLessThan(try GradientCheck.check(operation), 1e-3)
        // The check would catch a wrong backward: the same op with the gradient halved.
        let wrong = CustomOperation(name: "wrong", exampleInputShapes: operation.exampleInputShapes,
                                    forward: { try operation($0) }, backward: { g, x, _, _ in
            let gap = try x[0] - x[1], scale = g.scalars[0] / Float(x[0].count)
            return [try gap * scale, try gap * (-scale)]
        })
        XCTAssertGreaterThan(try GradientCheck.check(wrong), 0.01)
        // Every operation any loaded plugin registers passes the same check.
        for entry in registry.operations.entries {
            XCTAssertLessThan(try GradientCheck.check(entry.item), 1e-3, "\(entry.item.name) from \(entry.provider)")
        }
    }

    func testAPluginDerivationAndMetricReachTheReport() throws {
        let registry = try registry()
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "fixture-pair", settings: [("dataset", "fashion-mnist,fixture-grups=2")])) {
            XCTAssertTrue("\($0)".contains("fixture-groups"), "unknown keys list the registered ones: \($0)")
        }
        let spec = FixturePluginTests.data.spec + ",fixture-groups=3"
        let report = try RunPlan(registry: registry, name: "fixture-pair", settings: settings + [("dataset", .string(spec))]).execute()
        let groups = report["test"]?["groups"]
        XCTAssertEqual(groups?["groups"]?.arrayValue?.count, 3)
        XCTAssertNotNil(groups?["macro_std"]?.doubleValue)
        let confidence = report["test"]?["fixture-confidence"]?.doubleValue ?? -1
        XCTAssertTrue((0.1...1).contains(confidence), "mean max probability of 10 classes: \(confidence)")
        // Without the method asking, a run can ask for the metric by name; an unknown name is refused.
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "erm", settings: settings + [("eval_metrics", "fixture-confidense")])) {
            XCTAssertTrue("\($0)".contains("fixture-confidence"), "\($0)")
        }
        let erm = try RunPlan(registry: registry, name: "erm", settings: settings + [("eval_metrics", "fixture-confidence"), ("model", "fixture-mlp")]).execute()
        XCTAssertNotNil(erm["test"]?["fixture-confidence"]?.doubleValue)
    }

    func testARunSelectsAPluginAugmentationByName() throws {
        let registry = try registry()
        func weights(_ extra: [(String, JSONValue)]) throws -> Data {
            let dir = TemporaryDirectory()
            try RunPlan(registry: registry, name: "erm", settings: settings + [("model", "fixture-mlp")] + extra,
                        outputDirectory: URL(fileURLWithPath: dir.path)).execute()
            return try Data(contentsOf: URL(fileURLWithPath: dir.path + "/model.safetensors"))
        }
        let plain = try weights([]), shifted = try weights([("augment", "fixture-shift")])
        XCTAssertNotEqual(plain, shifted, "the augmentation changes what the model sees")
        XCTAssertEqual(shifted, try weights([("augment", "fixture-shift")]), "and is seeded")
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "erm", settings: settings + [("augment", "fixture-shfit")])) {
            XCTAssertTrue("\($0)".contains("fixture-shift"), "\($0)")
        }
    }

    func testStoppedAfterOneEpochAndResumedEqualsAnUninterruptedRun() throws {
        let registry = try registry()
        let whole = TemporaryDirectory(), pieces = TemporaryDirectory()
        func plan(_ dir: TemporaryDirectory) throws -> RunPlan {
            try RunPlan(registry: registry, name: "fixture-pair", settings: settings, outputDirectory: URL(fileURLWithPath: dir.path))
        }
        let reference = try plan(whole).execute()
        let first = try plan(pieces)
        first.stopAfterEpochs = 1
        XCTAssertEqual(try first.execute()["complete"], .bool(false))
        let second = try plan(pieces)
        second.resume = true
        let resumed = try second.execute()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: whole.path + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: pieces.path + "/model.safetensors")))
        XCTAssertEqual(resumed["test"], reference["test"])
        XCTAssertEqual(resumed["sample_passes"], reference["sample_passes"])
        let lines = { (dir: TemporaryDirectory) in
            try String(contentsOfFile: dir.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
                .map { line -> JSONValue in
                    var json = try JSONValue.parse(String(line))
                    json.set("seconds", .null)
                    return json
                }
        }
        XCTAssertEqual(try lines(pieces), try lines(whole))
    }

    func testAThreeArmComparisonWritesEveryArm() throws {
        let dir = TemporaryDirectory()
        let comparison = try Comparison(registry: try registry(), method: "fixture-pair", settings: settings, seeds: [0, 1],
                                        outputDirectory: URL(fileURLWithPath: dir.path))
        XCTAssertEqual(comparison.arms.map(\.label), ["pair", "independent", "erm"])
        let result = try comparison.run()
        let json = try JSONValue.parse(try String(contentsOfFile: dir.path + "/compare.json", encoding: .utf8))
        XCTAssertEqual(json["arms"], .array(["pair", "independent", "erm"]))
        XCTAssertEqual(json["reference_arm"], "erm")
        for arm in ["pair", "independent", "erm"] {
            XCTAssertEqual(json["reports"]?[arm]?.arrayValue?.count, 2, arm)
            XCTAssertEqual(json["rows"]?.arrayValue?.first?["arms"]?[arm]?["values"]?.arrayValue?.count, 2, arm)
        }
        let erm = result.reports[2][0]
        XCTAssertEqual(erm["model"], "fixture-mlp", "the erm arm runs with its declared settings")
        let independent = result.reports[1][0]
        XCTAssertEqual(independent["options"]?["fixture-pair"]?["agreement"]?.doubleValue, 0)
        XCTAssertEqual(result.rows.first { $0.metric == "sample_passes" }?.ratios[0], 1)
        for arm in ["pair", "independent", "erm"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/\(arm)-seed1/report.json"), arm)
        }
    }
}
