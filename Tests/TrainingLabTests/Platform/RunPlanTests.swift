import XCTest
import Foundation
import TrainingLab

/// What the host does with a run before and after the training loop.
final class RunPlanTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 128, test: 64)

    private func registry() throws -> PluginRegistry {
        _ = try buildFolder()
        return try PluginRegistry(environment: [:])
    }

    func testClientsOnADatasetOfANonFederatedMethodIsRefusedNamingClients() throws {
        let registry = try registry()
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "erm", settings: [("dataset", "fashion-mnist,clients=4,alpha=0.5")])) {
            XCTAssertTrue("\($0)".contains("clients=4") && "\($0)".contains("erm"), "\($0)")
        }
    }

    func testAStoppedRunSaysItIsIncompleteAndTheResumedOneCompletes() throws {
        let registry = try registry()
        let dir = TemporaryDirectory()
        let settings: [(String, JSONValue)] = [("dataset", .string(RunPlanTests.data.spec)), ("model", "mlp"), ("epochs", 3),
                                               ("batch_size", 32), ("crop_padding", 0)]
        let first = try RunPlan(registry: registry, name: "erm", settings: settings, outputDirectory: URL(fileURLWithPath: dir.path))
        first.stopAfterEpochs = 2
        let stopped = try first.execute()
        XCTAssertEqual(stopped["complete"], .bool(false))
        XCTAssertEqual(stopped["epochs_completed"]?.doubleValue, 2)
        XCTAssertNil(stopped["test"], "no final evaluation of an unfinished model")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/model.safetensors"))
        let second = try RunPlan(registry: registry, name: "erm", settings: settings, outputDirectory: URL(fileURLWithPath: dir.path))
        second.resume = true
        let done = try second.execute()
        XCTAssertEqual(done["complete"], .bool(true))
        XCTAssertEqual(done["sample_passes"]?.doubleValue, 3 * 128)
        XCTAssertNotNil(done["test"]?["accuracy"])
    }

    func testTheReportsTestMetricsAreTheLastEpochsEvaluation() throws {
        let registry = try registry()
        let dir = TemporaryDirectory()
        let plan = try RunPlan(registry: registry, name: "erm", settings: [("dataset", .string(RunPlanTests.data.spec)), ("model", "mlp"),
                                                                         ("epochs", 2), ("crop_padding", 0)],
                               outputDirectory: URL(fileURLWithPath: dir.path))
        let report = try plan.execute()
        let lines = try String(contentsOfFile: dir.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let last = try JSONValue.parse(String(lines.last!))
        XCTAssertEqual(report["test"]?["accuracy"], last["test_accuracy"])
        XCTAssertEqual(report["test"]?["nll"], last["test_nll"])
    }
}
