import XCTest
import Foundation
import TrainingLab

/// One table lists every registered method with tiny settings; every method gets the same checks: a
/// smoke run, an options round trip, determinism under a seed and, where supported, exact resume.
/// A new plugin joins by adding one row.
final class MethodSuiteTests: XCTestCase {
    struct Row {
        let name: String
        /// Run settings on top of the suite's tiny defaults.
        var settings: [(String, JSONValue)] = []
        /// Method options ("name=value") for the tiny run.
        var options: [String] = []
    }

    static let table: [Row] = [
        Row(name: "erm"),
        // 2 epochs: epoch 1 prunes (1 < 0.875 * 2) from the scores of epoch 0, so resuming after epoch 0 needs the restored scores.
        Row(name: "infobatch"),
        Row(name: "score", settings: [("model", "smallcnn")], options: ["probe_epochs=2"]),
        Row(name: "trades", options: LTDTests.suiteOptions),
        Row(name: "pgd-at", options: LTDTests.suiteOptions),
        Row(name: "ltd", options: LTDTests.suiteOptions + ["teacher_epochs=1", "tau_t=2"]),
        Row(name: "ltd", options: LTDTests.suiteOptions + ["teacher=robust", "base=pgd", "tau_s=2"]),
        // Federated: an epoch is a communication round; resuming after round 0 needs client states and server vectors.
        Row(name: "fedavg", settings: FedSWATests.suiteSettings),
        Row(name: "fedsam", settings: FedSWATests.suiteSettings),
        Row(name: "fedswa", settings: FedSWATests.suiteSettings),
        Row(name: "fedmoswa", settings: FedSWATests.suiteSettings),
        // Resuming after round 0 needs the local heads (client state) and rebuilds SSE-C from the run seed.
        Row(name: "fedloge", settings: FedLoGeTests.suiteSettings, options: FedLoGeTests.suiteOptions),
    ]

    static let data = LearnableIDXDataset(train: 256, test: 128)

    private func registry() throws -> PluginRegistry {
        _ = try buildFolder()
        return try PluginRegistry(environment: [:])
    }

    private func makeRun(_ row: Row, _ registry: PluginRegistry, seed: Int = 0, out: String?) throws -> RunPlan {
        let tiny: [(String, JSONValue)] = [("dataset", .string(MethodSuiteTests.data.spec)), ("model", "mlp"), ("epochs", 2),
                                          ("batch_size", 64), ("crop_padding", 0), ("seed", .number(Double(seed)))]
        return try RunPlan(registry: registry, name: row.name, settings: tiny + row.settings, optionAssignments: row.options,
                             outputDirectory: out.map { URL(fileURLWithPath: $0) })
    }

    func testEveryRegisteredMethodHasARow() throws {
        let missing = Set(try registry().names).subtracting(MethodSuiteTests.table.map(\.name))
        XCTAssertEqual(missing, [], "add a row to MethodSuiteTests.table for each new plugin")
    }

    func testSmokeRunWritesTheContractFilesAndReportKeys() throws {
        let registry = try registry()
        for row in MethodSuiteTests.table {
            let dir = TemporaryDirectory()
            let report = try makeRun(row, registry, out: dir.path).execute()
            for key in ["method", "model", "dataset", "epochs", "seed", "wall_seconds", "sample_passes", "test"] {
                XCTAssertNotNil(report[key], "\(row.name): report lacks \(key)")
            }
            let accuracy = report["test"]?["accuracy"]?.doubleValue ?? -1
            XCTAssertTrue((0...1).contains(accuracy), "\(row.name): accuracy \(accuracy)")
            XCTAssertEqual(report["test"]?["per_class_accuracy"]?.arrayValue?.count, 10, row.name)
            XCTAssertGreaterThan(report["sample_passes"]?.doubleValue ?? 0, 0, row.name)
            let descriptor = try registry.entry(named: row.name).descriptor
            for key in descriptor.metrics {
                var node: JSONValue? = report
                for part in key.split(separator: ".") { node = node?[String(part)] }
                XCTAssertNotNil(node, "\(row.name): declared metric \(key) missing from the report")
            }
            for file in ["config.json", "metrics.jsonl", "report.json", "model.safetensors"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/" + file), "\(row.name): \(file)")
            }
            XCTAssertEqual(try JSONValue.parse(String(contentsOfFile: dir.path + "/report.json", encoding: .utf8)), report)
        }
    }

    func testOptionsRoundTripAndValidation() throws {
        let registry = try registry()
        for row in MethodSuiteTests.table {
            let descriptor = try registry.entry(named: row.name).descriptor
            let defaults = try OptionValues(specs: descriptor.options, owner: row.name)
            let assignments = descriptor.options.map { "\($0.name)=\($0.defaultValue)" }
            XCTAssertEqual(try OptionValues(specs: descriptor.options, assignments: assignments, owner: row.name), defaults, row.name)
            XCTAssertThrowsError(try OptionValues(specs: descriptor.options, assignments: ["no_such_option=1"], owner: row.name))
            for spec in descriptor.options {
                if case .int(let r) = spec.kind, r.upperBound < Int.max {
                    XCTAssertThrowsError(try spec.parse(String(r.upperBound + 1), owner: row.name), "\(row.name).\(spec.name)")
                }
                if case .double(let r) = spec.kind, r.upperBound < Double.greatestFiniteMagnitude {
                    XCTAssertThrowsError(try spec.parse(String(r.upperBound + 1), owner: row.name), "\(row.name).\(spec.name)")
                }
            }
            XCTAssertEqual(descriptor.json["name"]?.stringValue, row.name)
        }
    }

    func testSameSeedGivesIdenticalModels() throws {
        let registry = try registry()
        for row in MethodSuiteTests.table {
            let a = TemporaryDirectory(), b = TemporaryDirectory()
            try makeRun(row, registry, seed: 5, out: a.path).execute()
            try makeRun(row, registry, seed: 5, out: b.path).execute()
            let modelA = try Data(contentsOf: URL(fileURLWithPath: a.path + "/model.safetensors"))
            let modelB = try Data(contentsOf: URL(fileURLWithPath: b.path + "/model.safetensors"))
            XCTAssertEqual(modelA, modelB, "\(row.name): same seed, different weights")
        }
    }

    func testResumeEqualsUninterruptedRun() throws {
        let registry = try registry()
        for row in MethodSuiteTests.table where try registry.entry(named: row.name).descriptor.supportsResume {
            let whole = TemporaryDirectory(), pieces = TemporaryDirectory()
            try makeRun(row, registry, out: whole.path).execute()
            let first = try makeRun(row, registry, out: pieces.path)
            first.stopAfterEpochs = 1
            try first.execute()
            let second = try makeRun(row, registry, out: pieces.path)
            second.resume = true
            try second.execute()
            let a = try Data(contentsOf: URL(fileURLWithPath: whole.path + "/model.safetensors"))
            let b = try Data(contentsOf: URL(fileURLWithPath: pieces.path + "/model.safetensors"))
            XCTAssertEqual(a, b, "\(row.name): resumed run differs from the uninterrupted one")
            let lines = { (dir: TemporaryDirectory) in
                try String(contentsOfFile: dir.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line -> JSONValue in
                    var json = try JSONValue.parse(String(line))
                    json.set("seconds", .null)
                    return json
                }
            }
            XCTAssertEqual(try lines(pieces), try lines(whole), "\(row.name): metrics.jsonl continues across the resume")
        }
    }
}
