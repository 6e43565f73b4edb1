import XCTest
import Foundation
import TrainingLab

/// Trains each round's clients elsewhere, as an MPI backend would: in reverse order, every task, broadcast and
/// outcome through the wire format, each client on a fresh runner whose template model has other weights.
private final class ElsewhereBackend: FederatedBackend {
    func train(_ tasks: [ClientTask], broadcast: RoundBroadcast, runner: FederatedClientRunner) throws -> [ClientOutcome] {
        let shipped = try FederatedWire.encode(broadcast)
        var outcomes: [Int: ClientOutcome] = [:]
        for task in tasks.reversed() {
            let remote = FederatedClientRunner(context: runner.context, strategy: runner.strategy, clients: runner.clients,
                                               template: try runner.context.makeModel(purpose: "elsewhere \(task.client)"), settings: runner.settings)
            let outcome = remote.outcome(try FederatedWire.decodeTask(FederatedWire.encode(task)), try FederatedWire.decodeBroadcast(shipped))
            outcomes[task.client] = try FederatedWire.decodeOutcome(FederatedWire.encode(outcome))
        }
        return tasks.map { outcomes[$0.client]! }
    }
}

/// The FedSWA paper's four methods through the registry: the spec's bit-exact equivalences, placement
/// independence of the round driver, what the runs log, and the comparison's arms.
final class FedSWATests: XCTestCase {
    static let data = LearnableIDXDataset(train: 240, test: 60)
    /// Rows of MethodSuiteTests: 3 clients (2 per round, so clients return with their state), 3 local steps.
    static let suiteSettings: [(String, JSONValue)] = [("dataset", .string(data.spec + ",clients=3,alpha=1")), ("clients_per_round", 2),
                                                        ("local_steps", 3), ("eval_every", 1)]

    private func registry() throws -> PluginRegistry {
        _ = try buildFolder()
        return try PluginRegistry(environment: [:])
    }

    /// A tiny run of `name` on 4 clients of 60 samples (per-client Dirichlet sampling), 3 rounds; returns the report
    /// and the model file's bytes.
    private func run(_ name: String, _ options: [String] = [], settings: [(String, JSONValue)] = [], registry: PluginRegistry,
                     out: TemporaryDirectory = TemporaryDirectory()) throws -> (report: JSONValue, model: Data, metrics: [JSONValue]) {
        let tiny: [(String, JSONValue)] = [("dataset", .string(FedSWATests.data.spec + ",clients=4,alpha=0.3,client-size=60")), ("model", "cnn-s"),
                                           ("epochs", 3), ("batch_size", 16), ("clients_per_round", 3), ("local_steps", 4), ("eval_every", 1)]
        let plan = try RunPlan(registry: registry, name: name, settings: tiny + settings, optionAssignments: options,
                               outputDirectory: URL(fileURLWithPath: out.path))
        let report = try plan.execute()
        let lines = try String(contentsOfFile: out.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            var line = try JSONValue.parse(String($0))
            line.set("seconds", .null)
            return line
        }
        return (report, try Data(contentsOf: URL(fileURLWithPath: out.path + "/model.safetensors")), lines)
    }

    func testFedSWAWithMOneAndRhoOneEqualsFedAvg() throws {
        let registry = try registry()
        let fedavg = try run("fedavg", registry: registry)
        XCTAssertEqual(try run("fedswa", ["m=1", "rho=1"], registry: registry).model, fedavg.model)
        XCTAssertNotEqual(try run("fedswa", registry: registry).model, fedavg.model, "the default cycle (m 2, rho 0) changes the result")
    }

    func testFedMoSWAWithZeroControlVariatesEqualsFedSWA() throws {
        let registry = try registry()
        let fedswa = try run("fedswa", registry: registry)
        XCTAssertEqual(try run("fedmoswa", ["zero_control_variates=true"], registry: registry).model, fedswa.model)
        let corrected = try run("fedmoswa", registry: registry)
        XCTAssertNotEqual(corrected.model, fedswa.model, "the control variates change the result")
        XCTAssertGreaterThan(corrected.report["control_norm"]?.doubleValue ?? 0, 0)
    }

    func testFedSAMWithZeroRadiusEqualsFedAvgWithoutDecayOrClipping() throws {
        let registry = try registry()
        let plain = try run("fedavg", ["clip=0"], settings: [("weight_decay", 0)], registry: registry)
        let sam = try run("fedsam", ["rho_sam=0"], registry: registry)
        XCTAssertEqual(sam.model, plain.model)
        XCTAssertEqual(sam.report["sample_passes"]?.doubleValue, 2 * (plain.report["sample_passes"]?.doubleValue ?? 0), "SAM's second pass is counted")
        XCTAssertNotEqual(try run("fedsam", registry: registry).model, plain.model)
    }

    /// Bit-identical global model and round log when clients train elsewhere, in another order, from bytes.
    func testResultsDoNotDependOnWhereClientsTrain() throws {
        let registry = try registry()
        FederatedBackends.register("test-elsewhere") { ElsewhereBackend() }
        let failures: [(String, JSONValue)] = [("clients_per_round", 4), ("fail_clients", "1@1,2@2:nan")]
        let here = try run("fedmoswa", settings: failures, registry: registry)
        let there = try run("fedmoswa", settings: failures + [("backend", "test-elsewhere")], registry: registry)
        XCTAssertEqual(there.model, here.model)
        XCTAssertEqual(there.metrics, here.metrics)
        XCTAssertEqual(here.report["failed_clients"]?.doubleValue, 2, "the failures were exercised")
    }

    func testRunsLogTheFirstStepRateAndTheSplit() throws {
        let registry = try registry()
        let swa = try run("fedswa", registry: registry)
        let first = swa.metrics[1]
        XCTAssertEqual(first["local_lr_first"]?.doubleValue ?? 0, 2 * (first["lr"]?.doubleValue ?? 0), accuracy: 1e-15, "m = 2: the first step uses 2 eta_r")
        XCTAssertEqual(swa.report["split"]?["samples"], .array([60, 60, 60, 60]))
        XCTAssertEqual(swa.report["evaluations"]?.arrayValue?.count, 3)
        XCTAssertEqual(swa.report["accuracy_last3"]?.doubleValue ?? -1,
                       (swa.report["evaluations"]?.arrayValue ?? []).compactMap { $0["accuracy"]?.doubleValue }.reduce(0, +) / 3, accuracy: 1e-12)
    }

    func testComparisonArmsAndRefusals() throws {
        let registry = try registry()
        let descriptor = try registry.entry(named: "fedmoswa").descriptor
        XCTAssertEqual(descriptor.arms.map(\.label), ["fedavg", "fedsam", "fedswa", "fedmoswa"])
        XCTAssertEqual(descriptor.referenceArm, "fedavg")
        XCTAssertEqual(descriptor.arms[1].settings["weight_decay"], 0, "FedSAM runs without weight decay")
        for name in ["fedavg", "fedsam", "fedswa", "fedmoswa"] { XCTAssertTrue(try registry.entry(named: name).descriptor.usesClients, name) }
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "fedavg", settings: [("backend", "mpi")])) {
            XCTAssertTrue("\($0)".contains("backend=mpi: this process was not started by mpirun"), "\($0)")
        }
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "erm", settings: [("local_steps", 5)])) {
            XCTAssertTrue("\($0)".contains("local_steps") && "\($0)".contains("trains no clients"), "\($0)")
        }
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "fedavg", settings: [("fail_clients", "x")])) {
            XCTAssertTrue("\($0)".contains("fail_clients"), "\($0)")
        }
    }
}
