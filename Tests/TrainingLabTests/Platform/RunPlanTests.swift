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

    func testBatchNormRecalibrationBeforeTheFinalEvaluation() throws {
        let registry = try registry()
        func run(_ extra: [(String, JSONValue)]) throws -> (JSONValue, [String: [Float]]) {
            let dir = TemporaryDirectory()
            let report = try RunPlan(registry: registry, name: "erm", settings: [("dataset", .string(RunPlanTests.data.spec)), ("model", "smallcnn"),
                                                                             ("epochs", 1), ("batch_size", 32), ("crop_padding", 0)] + extra,
                                     outputDirectory: URL(fileURLWithPath: dir.path)).execute()
            let saved = try SafeTensors.read(from: URL(fileURLWithPath: dir.path + "/model.safetensors"))
            var running: [String: [Float]] = [:]
            for (name, tensor) in saved.tensors where name.hasSuffix("running_mean") { running[name] = try tensor.floats() }
            return (report, running)
        }
        let (plain, plainStats) = try run([])
        let (recalibrated, stats) = try run([("bn_recalibration", 3)])
        XCTAssertNil(plain["bn_recalibration_batches"])
        XCTAssertEqual(recalibrated["bn_recalibration_batches"]?.doubleValue, 3)
        XCTAssertFalse(stats.isEmpty)
        XCTAssertNotEqual(stats, plainStats, "the saved model carries the recalibrated statistics")
        XCTAssertNotNil(recalibrated["test"]?["accuracy"]?.doubleValue)
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "erm", settings: [("bn_recalibration", -1)])) {
            XCTAssertTrue("\($0)".contains("bn_recalibration"), "\($0)")
        }
    }
}
