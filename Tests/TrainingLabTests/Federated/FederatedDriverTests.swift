import XCTest
import Foundation
import TrainingLab

/// A FedAvg strategy that records what the server broadcast each round and counts, in each client's
/// state, the aggregated rounds the client took part in.
private final class Recorder: FederatedStrategy {
    var broadcasts: [[Float]] = []

    func configure(_ round: FederatedRound, server: FederatedServer) throws -> [String: ParameterVector] {
        broadcasts.append(try server.sharedVector().values.scalars)
        return [:]
    }

    func finish(_ client: ClientContext, update: inout ClientUpdate) throws {
        let seen = update.state.values["rounds"]?.doubleValue ?? 0
        update.state.values.set("rounds", .number(seen + 1))
    }
}

/// A FedAvg strategy whose personal model is the global model, recording which clients were asked for one
/// and whether the server held state for them.
private final class PersonalRecorder: FederatedStrategy {
    var asked: [(client: Int, hasState: Bool)] = []

    func personalModel(_ client: Int, state: ClientState?, server: FederatedServer) throws -> Module {
        asked.append((client, state != nil))
        return server.model
    }
}

private final class Messages: ProgressSink {
    var lines: [String] = []
    func report(_ event: JSONValue) { if let message = event["message"]?.stringValue { lines.append(message) } }
}

/// The round driver with a strategy defined here: failures (injected errors and NaN losses), min_clients,
/// client state, the round log, the split print, round-granularity resume, and its refusals.
final class FederatedDriverTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 240, test: 60)

    private func context(_ settings: [String: JSONValue] = [:], out: String? = nil, progress: ProgressSink? = nil,
                         dataset: String = ",clients=3,alpha=1") throws -> MethodContext {
        var config = RunConfig()
        for (key, value) in ["model": "mlp", "epochs": 3, "batch_size": 16, "clients_per_round": 3, "local_steps": 2, "momentum": 0,
                             "schedule": "cosine", "crop_padding": 0, "eval_every": 1] as [String: JSONValue] {
            try config.set(key, value)
        }
        for (key, value) in settings { try config.set(key, value) }
        config.dataset = FederatedDriverTests.data.spec + dataset
        let data = try DatasetSpec(parsing: config.dataset).load()
        return MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: data,
                             outputDirectory: out.map { URL(fileURLWithPath: $0) }, progress: progress, label: "test")
    }

    private func run(_ context: MethodContext, _ strategy: FederatedStrategy = Recorder()) throws -> (FederatedDriver, MethodOutcome) {
        let driver = try FederatedDriver(context: context, strategy: strategy, model: try context.makeModel())
        return (driver, try driver.run())
    }

    func testFailedClientsAreLeftOutAndAThinRoundKeepsTheModel() throws {
        let messages = Messages()
        let context = try self.context(["fail_clients": "2@0,0@1,1@1:nan", "min_clients": 2], progress: messages)
        let recorder = Recorder()
        let (driver, outcome) = try run(context, recorder)
        let lines = context.metrics.lines
        XCTAssertEqual(lines.count, 3)

        XCTAssertEqual(lines[0]["succeeded"], .array([0, 1]))
        XCTAssertEqual(lines[0]["failed"]?.arrayValue?.first?["client"], 2)
        XCTAssertTrue(lines[0]["failed"]?.arrayValue?.first?["reason"]?.stringValue?.contains("injected failure (fail_clients=2@0)") ?? false, "\(lines[0])")
        XCTAssertEqual(lines[0]["aggregated"], true)

        let failed = lines[1]["failed"]?.arrayValue ?? []
        XCTAssertEqual(failed.map { $0["client"] }, [0, 1])
        XCTAssertTrue(failed[1]["reason"]?.stringValue?.contains("non-finite loss") ?? false, "the NaN client is stopped by the loop: \(failed)")
        XCTAssertEqual(lines[1]["aggregated"], false)
        XCTAssertTrue(lines[1]["status"]?.stringValue?.contains("kept the previous global model: 1 of 3 clients succeeded, min_clients is 2") ?? false)
        XCTAssertEqual(recorder.broadcasts[2], recorder.broadcasts[1], "the skipped round left the global model as it was")
        XCTAssertNotEqual(recorder.broadcasts[1], recorder.broadcasts[0])
        XCTAssertEqual(lines[2]["succeeded"], .array([0, 1, 2]))

        let report = JSONValue.object(outcome.report)
        XCTAssertEqual(report["failed_clients"], 3)
        XCTAssertEqual(report["skipped_rounds"], 1)
        XCTAssertEqual((0..<3).map { driver.clientStates[$0]?.values["rounds"] }, [2, 2, 1], "client state is kept only from aggregated rounds")
        XCTAssertTrue(messages.lines.contains { $0.hasPrefix("round 1: client 1 failed: ") }, "\(messages.lines)")
        XCTAssertTrue(messages.lines.contains { $0.hasPrefix("client 0: ") && $0.contains("per class") }, "the split is printed")
        XCTAssertEqual(report["split"]?["class_histograms"]?.arrayValue?.count, 3)
    }

    func testRoundLogAndLocalEvaluation() throws {
        let context = try self.context(["local_test": 20, "clients_per_round": 2, "local_steps": 0, "local_epochs": 2])
        let (driver, outcome) = try run(context)
        let line = context.metrics.lines[0]
        let clients = line["clients"]?.arrayValue?.compactMap(\.doubleValue).map { Int($0) } ?? []
        XCTAssertEqual(clients, driver.sampledClients(round: 0))
        let steps = clients.reduce(0) { $0 + 2 * ((driver.clients[$1].count + 15) / 16) }
        XCTAssertEqual(line["local_steps"]?.doubleValue, Double(steps), "local_epochs=2: two passes of batches per client")
        XCTAssertEqual(line["lr"]?.doubleValue, context.config.lr, "round 0 of the cosine schedule")
        XCTAssertEqual(line["local_lr_first"]?.doubleValue, context.config.lr)
        XCTAssertEqual(line["local_accuracies"]?.arrayValue?.count, 3)
        XCTAssertNotNil(line["test_accuracy"])
        XCTAssertEqual(JSONValue.object(outcome.report)["evaluations"]?.arrayValue?.count, 3)
        XCTAssertNotNil(outcome.evaluation, "the last round's evaluation is handed to the host")
    }

    /// Every evaluation asks the strategy for each client's personal model (with the state the server keeps for
    /// it) and scores it on the client's local test set with the classes absent from its training data masked.
    func testLocalEvaluationUsesPersonalModelsAndMasksAbsentClasses() throws {
        let context = try self.context(["local_test": 20, "epochs": 2, "clients_per_round": 2], dataset: ",clients=3,alpha=0.1")
        let strategy = PersonalRecorder()
        let (driver, outcome) = try run(context, strategy)
        XCTAssertEqual(strategy.asked.map(\.client), [0, 1, 2, 0, 1, 2], "all clients, at both evaluations")
        let first = Set(driver.sampledClients(round: 0))
        XCTAssertEqual(strategy.asked.prefix(3).map(\.hasState), (0..<3).map(first.contains), "state only after an aggregated round")

        let data = context.data
        let histograms = FederatedSplit.classHistograms(data.clients!, labels: data.train.labels, classCount: data.classCount)
        XCTAssertTrue(histograms.contains { $0.contains(0) }, "alpha 0.1 leaves some client without some class, so masking matters")
        let sets = try FederatedSplit.proportionalTestSets(testLabels: data.test.labels, classCount: data.classCount, histograms: histograms,
                                                           size: 20, seed: data.spec.dataSeed)
        let expected = try sets.enumerated().map { k, positions -> Double in
            let test = try data.test.subset(positions, name: "local\(k)")
            let logits = try Evaluation.logits(of: driver.server.model, on: test, normalization: context.config.inputNormalization)
            return try top1Accuracy(logits: logits, labels: test.labels, classes: data.classCount, allowed: histograms[k].map { $0 > 0 })
        }
        let line = context.metrics.lines.last!
        XCTAssertEqual(line["local_accuracies"]?.arrayValue?.compactMap(\.doubleValue), expected)
        XCTAssertEqual(try driver.localAccuracies { _ in driver.server.model }, expected)
        XCTAssertEqual(JSONValue.object(outcome.report)["local_accuracy"]?.doubleValue, expected.reduce(0, +) / 3)
    }

    func testResumedRunEqualsUninterruptedOneWithFailuresAndClientState() throws {
        let settings: [String: JSONValue] = ["fail_clients": "2@0,0@1,1@1:nan", "min_clients": 2, "epochs": 4]
        let whole = TemporaryDirectory(), pieces = TemporaryDirectory()
        let reference = try self.context(settings, out: whole.path)
        let (referenceDriver, _) = try run(reference)
        for stop in [1, 2] {
            let part = try self.context(settings, out: pieces.path)
            part.resume = stop > 1
            part.stopAfterEpochs = stop
            XCTAssertThrowsError(try run(part)) { XCTAssertTrue($0 is RunStopped, "\($0)") }
        }
        let rest = try self.context(settings, out: pieces.path)
        rest.resume = true
        let (driver, _) = try run(rest)
        XCTAssertEqual(driver.server.model.namedState().map(\.1.scalars), referenceDriver.server.model.namedState().map(\.1.scalars))
        XCTAssertEqual(driver.clientStates.mapValues { $0.values }, referenceDriver.clientStates.mapValues { $0.values })
        func withoutTimes(_ lines: [JSONValue]) -> [JSONValue] { lines.map { var l = $0; l.set("seconds", .null); return l } }
        XCTAssertEqual(withoutTimes(rest.metrics.lines), withoutTimes(reference.metrics.lines))
    }

    func testRefusals() throws {
        XCTAssertThrowsError(try run(try context([:], dataset: ""))) { XCTAssertTrue("\($0)".contains("needs a client split"), "\($0)") }
        XCTAssertThrowsError(try run(try context(["clients_per_round": 4]))) { XCTAssertTrue("\($0)".contains("exceeds the 3 clients"), "\($0)") }
        XCTAssertThrowsError(try run(try context(["fail_clients": "3@0"]))) { XCTAssertTrue("\($0)".contains("clients 0..<3"), "\($0)") }
        XCTAssertThrowsError(try run(try context(["backend": "mpi"]))) { XCTAssertTrue("\($0)".contains("not started by mpirun"), "\($0)") }
        XCTAssertThrowsError(try run(try context(["backend": "carrier-pigeon"]))) { XCTAssertTrue("\($0)".contains("available: in-process"), "\($0)") }
    }
}
