import XCTest
import Foundation
import TrainingLab

/// backend=mpi end to end: the tlab executable under `mpirun` over loopback TCP (the flags CI needs as root),
/// against the same command in one process. Skipped, saying what is missing, where OpenMPI is not installed.
final class MPIRunTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 240, test: 60)
    /// fedmoswa (client state, control variates) on 4 clients of 60 samples, 3 per round, 3 rounds.
    static let federated = ["--dataset", data.spec + ",clients=4,alpha=0.3,client-size=60", "--model", "cnn-s", "--epochs", "3",
                            "--batch-size", "16", "--set", "clients_per_round=3", "--set", "local_steps=4"]

    private func tlab() throws -> String {
        let path = try buildFolder() + "/tlab"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tlab not built at \(path)") }
        return path
    }

    /// mpirun with `ranks` ranks over loopback, bounded by `timeout` seconds (status 124: it hung).
    private func mpirun(_ ranks: Int, _ arguments: [String], flags: [String] = [], environment: [String: String] = [:],
                        timeout: Int = 180) throws -> (status: Int32, out: String, err: String) {
        guard (try shell(["sh", "-c", "command -v mpirun"])).status == 0 else {
            throw XCTSkip("mpirun not found: install openmpi-bin and libopenmpi-dev (`make deps` does)")
        }
        guard FileManager.default.fileExists(atPath: try buildFolder() + "/libTrainingLabMPI.so") else {
            throw XCTSkip("libTrainingLabMPI.so not built: install libopenmpi-dev (`make deps` does) and rebuild")
        }
        let root = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]
        let result = try shell(["timeout", String(timeout), "mpirun", "--oversubscribe", "-np", String(ranks), "--mca", "btl", "self,tcp",
                                "--mca", "btl_tcp_if_include", "lo"] + flags + [try tlab()] + arguments,
                               environment: root.merging(environment) { $1 })
        XCTAssertNotEqual(result.status, 124, "mpirun did not end within \(timeout) s:\n\(result.err)")
        return result
    }

    /// A run folder's model bytes, metrics lines without their times, and report without its wall-clock figures
    /// (the run's wall time and, in fedloge's report, SSE-C's construction time).
    private func outputs(_ dir: String) throws -> (model: Data, metrics: [JSONValue], report: JSONValue) {
        let metrics = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            var line = try JSONValue.parse(String($0))
            line.set("seconds", .null)
            return line
        }
        var report = try JSONValue.parse(String(contentsOfFile: dir + "/report.json", encoding: .utf8))
        report.set("wall_seconds", .null)
        if var sse = report["sse_c"] {
            sse.set("seconds", .null)
            report.set("sse_c", sse)
        }
        return (try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors")), metrics, report)
    }

    /// Runs `run` under 3 ranks with backend=mpi and in one process, asserts that the model bytes, the round log
    /// and the report are the same, and returns the in-process outputs and mpirun's output for further checks.
    private func assertThreeRanksMatchInProcess(_ run: [String]) throws -> (here: (model: Data, metrics: [JSONValue], report: JSONValue), ranksOut: String) {
        let dir = TemporaryDirectory()
        let ranks = try mpirun(3, run + ["--set", "backend=mpi", "--out", dir.path + "/mpi"])
        XCTAssertEqual(ranks.status, 0, ranks.err)
        let here = try inProcess(run, out: dir.path + "/one")
        let there = try outputs(dir.path + "/mpi")
        XCTAssertEqual(there.model, here.model, "global weights")
        XCTAssertEqual(there.metrics, here.metrics, "round log")
        XCTAssertEqual(there.report, here.report, "report")
        return (here, ranks.out)
    }

    private func inProcess(_ arguments: [String], out: String) throws -> (model: Data, metrics: [JSONValue], report: JSONValue) {
        let result = try shell([try tlab()] + arguments + ["--out", out])
        XCTAssertEqual(result.status, 0, result.err)
        return try outputs(out)
    }

    func testFederatedRunOverThreeRanksIsBitIdenticalToInProcess() throws {
        let (here, ranksOut) = try assertThreeRanksMatchInProcess(["run", "fedmoswa"] + MPIRunTests.federated
                                                                    + ["--set", "fail_clients=1@1,2@2:nan"])
        XCTAssertEqual(here.report["failed_clients"], 2, "the failures were exercised")
        XCTAssertGreaterThan(here.report["sample_passes"]?.doubleValue ?? 0, 0)
        XCTAssertEqual(ranksOut.components(separatedBy: "report: ").count, 2, "only rank 0 prints the summary: \(ranksOut)")
    }

    /// fedloge keeps a local head per client (sent back to rank 0 with the client's result) and builds SSE-C on
    /// every rank from the run seed: the global model, the round log and the personalised accuracies match too.
    func testFedLoGeOverThreeRanksIsBitIdenticalToInProcess() throws {
        let (here, _) = try assertThreeRanksMatchInProcess([
            "run", "fedloge", "--dataset", MPIRunTests.data.spec + ",imbalance=4,clients=4,alpha=1", "--model", "mlp",
            "--epochs", "2", "--batch-size", "32", "--set", "clients_per_round=3", "--set", "local_test=20",
            "--set", "crop_padding=0", "--set", "etf_steps=20"])
        XCTAssertNotNil(here.report["local_accuracy"]?.doubleValue, "personalised accuracy from the clients' heads")
        XCTAssertNotNil(here.report["sse_c"]?["unchanged"], "the report's SSE-C entry was compared")
    }

    /// Round 1's clients of the federated settings, and which rank trains each under 3 ranks (2 training ranks).
    private func roundOneClients() throws -> [Int] {
        let dir = TemporaryDirectory()
        let metrics = try inProcess(["run", "fedavg"] + MPIRunTests.federated, out: dir.path).metrics
        return metrics[1]["clients"]?.arrayValue?.compactMap { $0.doubleValue.map(Int.init) } ?? []
    }

    /// With --enable-recovery the job survives a dead training rank: its clients fail with the reason, the run
    /// goes on with the other rank, and rank 0 writes a complete report.
    func testALostRankIsAFailedClientAndTheRunGoesOn() throws {
        let clients = try roundOneClients()
        XCTAssertEqual(clients.count, 3)
        // Clients go to the training ranks in turn: the round's second client is rank 2's only one.
        let doomed = clients[1]
        let dir = TemporaryDirectory()
        let result = try mpirun(3, ["run", "fedavg"] + MPIRunTests.federated + ["--set", "fail_clients=\(doomed)@1:exit", "--set", "backend=mpi",
                                                                                "--out", dir.path],
                                flags: ["--enable-recovery", "-x", "TRAININGLAB_MPI_TIMEOUT"], environment: ["TRAININGLAB_MPI_TIMEOUT": "3"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("this process exits while it trains client \(doomed)"), result.err)
        let (_, metrics, report) = try outputs(dir.path)
        let failed = metrics[1]["failed"]?.arrayValue ?? []
        XCTAssertEqual(failed.map { $0["client"] }, [.number(Double(doomed))], "\(metrics[1].serialized())")
        XCTAssertTrue(failed.first?["reason"]?.stringValue?.contains("rank 2 was lost: nothing heard from it for 3.0 s") ?? false, "\(failed)")
        XCTAssertEqual(metrics[1]["aggregated"], true)
        XCTAssertEqual(metrics[2]["failed"], .array([]), "round 2 trains all its clients on rank 1")
        XCTAssertEqual(report["complete"], true)
        XCTAssertEqual(report["failed_clients"], 1)
    }

    /// Without --enable-recovery OpenMPI 4.1 ends the whole job when a rank dies: it must end, not hang, and
    /// leave the last round's checkpoint for --resume.
    func testWithoutRecoveryALostRankEndsTheJob() throws {
        let doomed = try roundOneClients()[1]
        let dir = TemporaryDirectory()
        let result = try mpirun(3, ["run", "fedavg"] + MPIRunTests.federated + ["--set", "fail_clients=\(doomed)@1:exit", "--set", "backend=mpi",
                                                                                "--out", dir.path], timeout: 120)
        XCTAssertNotEqual(result.status, 0, "mpirun should report the dead rank")
        XCTAssertTrue(result.err.contains("this process exits while it trains client \(doomed)"), result.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/checkpoint.safetensors"), "round 0's checkpoint")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/report.json"))
    }

    /// Data-parallel erm over 2 ranks equals one process with the same global batch up to summation order
    /// (cnn-s has no BatchNorm, whose statistics are per rank).
    func testDataParallelErmMatchesOneProcess() throws {
        let dir = TemporaryDirectory()
        // 240 samples in batches of 25: 9 batches split 12 + 13 and one of 15 split 7 + 8, so the ranks' shares differ.
        let run = ["run", "erm", "--dataset", MPIRunTests.data.spec, "--model", "cnn-s", "--epochs", "2", "--batch-size", "25"]
        let ranks = try mpirun(2, run + ["--set", "backend=mpi", "--out", dir.path + "/mpi"])
        XCTAssertEqual(ranks.status, 0, ranks.err)
        let one = try inProcess(run, out: dir.path + "/one")
        let two = try outputs(dir.path + "/mpi")
        let a = try SafeTensors.read(from: URL(fileURLWithPath: dir.path + "/one/model.safetensors"))
        let b = try SafeTensors.read(from: URL(fileURLWithPath: dir.path + "/mpi/model.safetensors"))
        XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name))
        var largest: Float = 0, differs = false
        for ((_, x), (_, y)) in zip(a.tensors, b.tensors) {
            for (u, v) in zip(try x.floats(), try y.floats()) {
                largest = max(largest, abs(u - v))
                differs = differs || u != v
            }
        }
        XCTAssertLessThan(largest, 1e-5, "weights after 20 steps")
        XCTAssertGreaterThan(largest, 0, "two ranks sum in another order than one process; identical weights would mean one rank trained alone")
        XCTAssertTrue(differs)
        for (x, y) in zip(one.metrics, two.metrics) {
            XCTAssertEqual(x["samples"], y["samples"], "every sample once per epoch over both ranks")
            XCTAssertEqual(x["sample_passes"], y["sample_passes"], "both ranks' passes in rank 0's cost")
            XCTAssertEqual(x["train_loss"]?.doubleValue ?? 0, y["train_loss"]?.doubleValue ?? 1, accuracy: 1e-4)
            XCTAssertEqual(x["train_accuracy"]?.doubleValue ?? 0, y["train_accuracy"]?.doubleValue ?? 1, accuracy: 1.0 / 240)
        }
        XCTAssertEqual(one.report["test"]?["accuracy"]?.doubleValue ?? 0, two.report["test"]?["accuracy"]?.doubleValue ?? 1, accuracy: 1.0 / 60)
    }

    func testMissingTransportLibraryIsNamed() throws {
        let result = try mpirun(2, ["run", "erm", "--dataset", MPIRunTests.data.spec, "--epochs", "1", "--set", "backend=mpi"],
                                flags: ["-x", "TRAININGLAB_MPI_LIBRARY"], environment: ["TRAININGLAB_MPI_LIBRARY": "/nonexistent/libTrainingLabMPI.so"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.err.contains("needs the MPI transport library libTrainingLabMPI.so") && result.err.contains("/nonexistent/libTrainingLabMPI.so"),
                      result.err)
    }
}
