import XCTest
import Foundation
import TrainingLab

/// Honest run folders: a fresh run never writes over another run, a resumed run is the run that stopped (or is
/// refused, naming every difference), and a stopped run's report says how far it got.
final class RunFolderTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 128, test: 64)
    let settings: [(String, JSONValue)] = [("dataset", .string(RunFolderTests.data.spec)), ("model", "mlp"), ("epochs", 2),
                                           ("batch_size", 32), ("crop_padding", 0)]

    private func plan(_ dir: TemporaryDirectory, _ extra: [(String, JSONValue)] = [], options: [String] = []) throws -> RunPlan {
        _ = try buildFolder()
        return try RunPlan(registry: try PluginRegistry(environment: [:]), name: "erm", settings: settings + extra,
                           optionAssignments: options, outputDirectory: URL(fileURLWithPath: dir.path))
    }

    func testAFreshRunRefusesANonEmptyFolderAndOverwriteReplacesOnlyTheRunsFiles() throws {
        let dir = TemporaryDirectory()
        try plan(dir, [("epochs", 1)]).execute()
        dir.write("checkpoint-stage.safetensors", [1])  // a stale stage checkpoint a later --resume must not pick up
        dir.write("notes.txt", [65])
        XCTAssertThrowsError(try plan(dir, [("epochs", 1)]).execute()) {
            XCTAssertTrue("\($0)".contains("\(dir.path) is not empty") && "\($0)".contains("--overwrite"), "\($0)")
        }
        let replacing = try plan(dir, [("epochs", 1)])
        replacing.overwrite = true
        XCTAssertEqual(try replacing.execute()["complete"], .bool(true))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertFalse(left.contains("checkpoint-stage.safetensors"), "\(left)")
        XCTAssertTrue(left.contains("notes.txt"), "files the run did not write stay")
    }

    /// The bug of issue 12: only the seed was compared, so a 2-epoch run resumed with 3 epochs changed its schedule midway.
    func testResumeRefusesAChangedConfigurationNamingEveryDifferenceAndLeavesTheFolderAlone() throws {
        let dir = TemporaryDirectory()
        let first = try plan(dir)
        first.stopAfterEpochs = 1
        XCTAssertEqual(try first.execute()["complete"], .bool(false))
        let written = try String(contentsOfFile: dir.path + "/config.json", encoding: .utf8)

        let changed = try plan(dir, [("epochs", 3), ("lr", 0.1)])
        changed.resume = true
        XCTAssertThrowsError(try changed.execute()) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("checkpoint.safetensors") && message.contains("epochs 2 -> 3") && message.contains("lr 0.05 -> 0.1"), message)
        }
        XCTAssertEqual(try String(contentsOfFile: dir.path + "/config.json", encoding: .utf8), written, "a refused resume writes nothing")

        let same = try plan(dir, [("backend", "in-process")])  // backend may differ (ResumeCheck.mayDiffer); here it is the default
        same.resume = true
        let report = try same.execute()
        XCTAssertEqual(report["complete"], .bool(true))
        XCTAssertEqual(report["sample_passes"]?.doubleValue, 2 * 128)
    }

    func testDifferencesNameRunAndMethodOptionsAsTheCommandLineDoesAndSkipWhatMayDiffer() {
        let old: JSONValue = .object([("method", "infobatch"), ("config", .object([("epochs", 4), ("backend", "mpi"), ("seed", 0)])),
                                      ("options", .object([("infobatch", .object([("ratio", 0.5)]))]))])
        let new: JSONValue = .object([("method", "infobatch"), ("config", .object([("epochs", 5), ("backend", "in-process"), ("flip", true)])),
                                      ("options", .object([("infobatch", .object([("ratio", 0.3)]))]))])
        XCTAssertEqual(ResumeCheck.differences(checkpoint: old, current: new),
                       ["epochs 4 -> 5", "flip (absent) -> true", "seed 0 -> (absent)", "infobatch.ratio 0.5 -> 0.3"])
        XCTAssertEqual(ResumeCheck.differences(checkpoint: new, current: new), [])
        XCTAssertThrowsError(try ResumeCheck.verify(stored: nil, current: new, checkpoint: "c.safetensors")) {
            XCTAssertTrue("\($0)".contains("does not record the configuration"), "\($0)")
        }
    }

    /// Ctrl-C and a C caller's cancellation: the run stops at the next step, discards the partial epoch, says so, and
    /// --resume then completes it with the work of an uninterrupted run.
    func testAStopRequestEndsTheRunAtTheNextStepWithAReportOfHowFarItGot() throws {
        let dir = TemporaryDirectory()
        let interrupted = try plan(dir)
        interrupted.stopRequest.request()
        let report = try interrupted.execute()
        XCTAssertEqual(report["complete"], .bool(false))
        XCTAssertEqual(report["stopped_by"], "interrupt")
        XCTAssertEqual(report["epochs_completed"]?.doubleValue, 0)
        XCTAssertEqual(report["partial_epoch"]?["epoch"]?.doubleValue, 0)
        XCTAssertEqual(report["partial_epoch"]?["steps_done"]?.doubleValue, 1)
        XCTAssertEqual(report["partial_epoch"]?["steps"]?.doubleValue, 4)
        let onDisk = try JSONValue.parse(String(contentsOfFile: dir.path + "/report.json", encoding: .utf8))
        XCTAssertEqual(onDisk["complete"], .bool(false))

        let resumed = try plan(dir)
        resumed.resume = true
        let done = try resumed.execute()
        XCTAssertEqual(done["complete"], .bool(true))
        XCTAssertNil(done["stopped_by"])
        XCTAssertEqual(done["sample_passes"]?.doubleValue, 2 * 128, "the discarded partial epoch is not counted")
    }

    /// A federated run checks the request between rounds; its checkpoint carries the configuration too.
    func testAFederatedRunStopsBetweenRoundsAndResumesOnlyUnderItsConfiguration() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let dir = TemporaryDirectory()
        func plan(_ extra: [(String, JSONValue)] = []) throws -> RunPlan {
            try RunPlan(registry: registry, name: "fedavg",
                        settings: [("dataset", .string(RunFolderTests.data.spec + ",clients=4,alpha=0.3")), ("model", "mlp"), ("epochs", 3),
                                   ("batch_size", 16), ("clients_per_round", 2), ("local_steps", 2)] + extra,
                        outputDirectory: URL(fileURLWithPath: dir.path))
        }
        let interrupted = try plan()
        interrupted.stopRequest.request()
        let report = try interrupted.execute()
        XCTAssertEqual(report["stopped_by"], "interrupt")
        XCTAssertEqual(report["epochs_completed"]?.doubleValue, 1, "the round in progress finishes")
        let changed = try plan([("clients_per_round", 3)])
        changed.resume = true
        XCTAssertThrowsError(try changed.execute()) { XCTAssertTrue("\($0)".contains("clients_per_round 2 -> 3"), "\($0)") }
        let resumed = try plan()
        resumed.resume = true
        XCTAssertEqual(try resumed.execute()["complete"], .bool(true))
    }

    /// A comparison stops with the run it is training; compare.json says so with the same keys as a run's report,
    /// and --resume finishes it.
    func testAStoppedComparisonSaysWhereAndResumes() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let dir = TemporaryDirectory()
        func comparison() throws -> Comparison {
            try Comparison(registry: registry, method: "erm", settings: settings, seeds: [0], outputDirectory: URL(fileURLWithPath: dir.path))
        }
        let stopped = try comparison()
        stopped.stopRequest.request()
        try stopped.run()
        let partial = try JSONValue.parse(String(contentsOfFile: dir.path + "/compare.json", encoding: .utf8))
        XCTAssertEqual(partial["complete"], .bool(false))
        XCTAssertEqual(partial["stopped_by"], "interrupt")
        XCTAssertEqual(partial["stopped_in"], "erm-seed0")
        XCTAssertThrowsError(try comparison().run()) { XCTAssertTrue("\($0)".contains("is not empty"), "\($0)") }
        let resumed = try comparison()
        resumed.resume = true
        let result = try resumed.run()
        XCTAssertEqual(result.reports.map(\.count), [1, 1])
        let done = try JSONValue.parse(String(contentsOfFile: dir.path + "/compare.json", encoding: .utf8))
        XCTAssertEqual(done["complete"], .bool(true))
        XCTAssertNil(done["stopped_in"])
    }

    func testAStoppedRunSaysWhatStoppedIt() throws {
        let dir = TemporaryDirectory()
        let first = try plan(dir)
        first.stopAfterEpochs = 1
        let report = try first.execute()
        XCTAssertEqual(report["stopped_by"], "stop_after")
        XCTAssertEqual(report["epochs_completed"]?.doubleValue, 1)
        XCTAssertNil(report["partial_epoch"])
        XCTAssertEqual(first.stopped?.cause, .stopAfter)
    }
}
