import XCTest
import Foundation
import TrainingLab

/// The parts of data-parallel training and of backend=mpi that need no MPI job: shards of a batch, the sharded
/// loader, and what a run refuses before it joins one.
final class DataParallelTests: XCTestCase {
    func testShardsTileEveryBatchOnceInBalancedContiguousParts() throws {
        for (n, replicas) in [(2, 2), (3, 2), (7, 3), (32, 3), (5, 1), (128, 2)] {
            let batch = 40..<(40 + n)
            let parts = try (0..<replicas).map { try DataShard(replica: $0, replicas: replicas).part(of: batch) }
            XCTAssertEqual(parts.first?.lowerBound, batch.lowerBound)
            XCTAssertEqual(parts.last?.upperBound, batch.upperBound)
            for (a, b) in zip(parts, parts.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "contiguous, in rank order") }
            XCTAssertLessThanOrEqual(parts.map(\.count).max()! - parts.map(\.count).min()!, 1, "balanced: \(parts)")
        }
        XCTAssertThrowsError(try DataShard(replica: 0, replicas: 3).part(of: 0..<2)) {
            XCTAssertTrue("\($0)".contains("over 3 replicas: a batch of 2 samples"), "\($0)")
        }
        XCTAssertThrowsError(try DataShard(replica: 2, replicas: 2).part(of: 0..<8)) { XCTAssertTrue("\($0)".contains("out of range"), "\($0)") }
    }

    /// Each replica's batches are its parts of the unsharded batches, with the same augmented values.
    func testShardedLoaderGivesEachReplicaItsPartOfTheSameBatches() throws {
        let data = try LearnableIDXDataset(train: 70, test: 10).load()
        let whole = DataLoader(dataset: data.train, batchSize: 16, augmentation: .randomCrop(padding: 2), seed: 9)
        var full = try whole.epoch(1)
        var replicas = try (0..<3).map { r -> EpochBatches in
            var loader = whole
            loader.shard = DataShard(replica: r, replicas: 3)
            return try loader.epoch(1)
        }
        var batches = 0
        while let batch = try full.next() {
            let parts = try replicas.indices.map { try replicas[$0].next()! }
            XCTAssertEqual(parts.flatMap(\.indices), batch.indices)
            XCTAssertEqual(parts.flatMap(\.inputs.scalars), batch.inputs.scalars, "augmentation depends on the sample, not the replica")
            for r in replicas.indices { XCTAssertEqual(replicas[r].lastBatchTotal, batch.count) }
            batches += 1
        }
        XCTAssertEqual(batches, 5, "70 samples: 4 batches of 16 and one of 6")
        for r in replicas.indices { XCTAssertNil(try replicas[r].next()) }
    }

    func testRefusalsBeforeJoiningAnMPIJob() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let data = LearnableIDXDataset(train: 60, test: 20)
        func refusal(_ name: String, _ settings: [(String, JSONValue)], contains text: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try RunPlan(registry: registry, name: name, settings: [("dataset", .string(data.spec))] + settings), file: file, line: line) {
                XCTAssertTrue("\($0)".contains(text), "\($0)", file: file, line: line)
            }
        }
        refusal("erm", [("backend", "mpi")], contains: "backend=mpi: this process was not started by mpirun")
        refusal("infobatch", [("backend", "mpi")], contains: "'infobatch' takes over lossWeights, sampleOrder")
        refusal("score", [("backend", "mpi")], contains: "'score' runs its own loops")
        refusal("erm", [("backend", "carrier-pigeon")], contains: "a run without clients knows in-process and mpi")
        refusal("fedavg", [("dataset", .string(data.spec + ",clients=3")), ("fail_clients", "1@0:exit")],
                contains: "1@0:exit ends the process that trains client 1")
    }
}
