import Foundation
import XCTest
import TrainingLab

/// TensorBoard event files: CRC-32C against published vectors, the record framing and Event bytes against
/// hand-built ones, the metrics-to-scalars rule, and a written file read back by TensorBoard itself (in a
/// virtual environment the test sets up; skipped, saying why, where PyPI cannot be reached).
final class EventFileTests: XCTestCase {
    func testCRC32CKnownVectors() {
        // RFC 3720 appendix B.4 and the customary check string.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    func testMaskedCRC() {
        // Values of TensorBoard's masked_crc32c for the same bytes.
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), 0xC78A_B0E5)
        XCTAssertEqual(CRC32C.masked([UInt8]()), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked([23, 0, 0, 0, 0, 0, 0, 0]), 0x1EF8_CEE7)
    }

    /// Event(wall_time 1.5, step 3, summary { value { tag "a" simple_value 2 } }), bytes as protobuf serializes them.
    static let handEvent: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0x03, 0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, 0x61,
                                     0x15, 0, 0, 0, 0x40]

    func testRecordFraming() throws {
        let record = TFRecord.frame(EventFileTests.handEvent)
        XCTAssertEqual(record.count, 8 + 4 + 23 + 4)
        XCTAssertEqual(Array(record[0..<8]), [23, 0, 0, 0, 0, 0, 0, 0], "length, little-endian UInt64")
        XCTAssertEqual(Array(record[8..<12]), [0xE7, 0xCE, 0xF8, 0x1E], "masked CRC of the length, little-endian")
        XCTAssertEqual(Array(record[12..<35]), EventFileTests.handEvent)
        let crc = CRC32C.masked(EventFileTests.handEvent)
        XCTAssertEqual(Array(record[35...]), [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
        // The test's reader accepts it and refuses any flipped bit.
        XCTAssertEqual(try eventRecords(record), [EventFileTests.handEvent])
        for i in [0, 9, 20, 37] {
            var bad = record
            bad[i] ^= 0x10
            XCTAssertThrowsError(try eventRecords(bad), "flipped byte \(i)")
        }
    }

    func testEventBytes() throws {
        let file = TensorBoardEvents.file(lines: [.object([("epoch", 3), ("a", 2.0)])], wallTimes: [1.5])
        let records = try eventRecords(file)
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(try decodeEvent(records[0]), DecodedEvent(wallTime: 1.5, step: 0, fileVersion: "brain.Event:2"))
        XCTAssertEqual(records[1], EventFileTests.handEvent)
    }

    func testScalarsOfAMetricsLine() {
        let line: JSONValue = .object([("stage", "probe"), ("epoch", 4), ("epochs", 9), ("train_loss", 0.5), ("label", "erm seed 0"),
                                       ("aggregated", .bool(true)), ("test_nll", .number(.nan)), ("precision", .array([8, 4, 16])),
                                       ("failed", .array([.object([("client", 1)])])), ("mixed", .array([1, "x"])), ("big", 1e12)])
        XCTAssertEqual(MetricScalars.step(of: line), 4)
        XCTAssertEqual(MetricScalars.stage(of: line), "probe")
        let scalars = MetricScalars.scalars(of: line)
        XCTAssertEqual(scalars, [MetricScalar(key: "train_loss", index: nil, value: 0.5), MetricScalar(key: "precision", index: 0, value: 8),
                                 MetricScalar(key: "precision", index: 1, value: 4), MetricScalar(key: "precision", index: 2, value: 16),
                                 MetricScalar(key: "big", index: nil, value: 1e12)])
        XCTAssertEqual(scalars.map { MetricScalars.tag($0, stage: "probe") },
                       ["probe/train_loss", "probe/precision/0", "probe/precision/1", "probe/precision/2", "probe/big"])
        XCTAssertEqual(MetricScalars.tag(scalars[0], stage: ""), "train_loss")
        XCTAssertEqual(MetricScalars.step(of: .object([("round", 7)])), 7)
        XCTAssertNil(MetricScalars.step(of: .object([("x", 1)])))
    }

    /// Lines of every shape a run writes: epochs, a stage, federated rounds with per-client arrays.
    static let lines: [JSONValue] = [
        .object([("epoch", 0), ("epochs", 2), ("lr", 0.1), ("train_loss", 2.25), ("train_accuracy", 0.25), ("label", "x")]),
        .object([("epoch", 1), ("epochs", 2), ("lr", 0.05), ("train_loss", 1.5), ("test_accuracy", 0.5), ("pruned_samples", 12)]),
        .object([("stage", "probe"), ("epoch", 0), ("train_loss", 0.75)]),
        .object([("round", 0), ("rounds", 3), ("clients", .array([4, 7])), ("succeeded", .array([4, 7])),
                 ("local_accuracies", .array([0.5, 0.75])), ("status", "aggregated 2 of 2 clients")]),
        .object([("note", "no numbers: no event")]),
    ]

    func testMetricsLogWritesTheEventFileBesideMetricsJSONL() throws {
        let dir = TemporaryDirectory()
        let log = MetricsLog(directory: URL(fileURLWithPath: dir.path), progress: nil)
        for line in EventFileTests.lines { try log.append(line) }
        let events = try runEvents(dir.path)
        XCTAssertEqual(events.count, 1 + 4)
        XCTAssertEqual(events.map(\.wallTime), [log.wallTimes[0]] + log.wallTimes.prefix(4))
        XCTAssertEqual(events[2], DecodedEvent(wallTime: log.wallTimes[1], step: 1,
                                               values: ["lr": 0.05, "train_loss": 1.5, "test_accuracy": 0.5, "pruned_samples": 12]))
        XCTAssertEqual(events[3].values, ["probe/train_loss": 0.75])
        XCTAssertEqual(events[4].values, ["local_accuracies/0": 0.5, "local_accuracies/1": 0.75])
        let expected = try expectedEvents(metricsOf: dir.path)
        XCTAssertEqual(events.dropFirst().map(\.values), expected.map(\.values))
    }

    func testTensorBoardReadsTheEventFile() throws {
        let venv = repositoryRoot + "/.build/venv-tensorboard"
        let setup = try shell(["sh", repositoryRoot + "/scripts/tensorboard_venv.sh", venv])
        guard setup.status == 0 else {
            throw XCTSkip("TensorBoard is not installable here, so the event file is not read back by it: \(setup.out) \(setup.err)")
        }
        let dir = TemporaryDirectory()
        let log = MetricsLog(directory: URL(fileURLWithPath: dir.path), progress: nil)
        for line in EventFileTests.lines { try log.append(line) }
        let read = try shell([venv + "/bin/python", repositoryRoot + "/scripts/read_tfevents.py", dir.path])
        XCTAssertEqual(read.status, 0, read.err)
        let json = try JSONValue.parse(read.out, source: "read_tfevents.py output")
        XCTAssertEqual(json["file_version"], "brain.Event:2")
        XCTAssertEqual(json["records"]?.doubleValue, 5)
        var expected: [String: [[Double]]] = [:]
        for (i, line) in EventFileTests.lines.enumerated() {
            let stage = MetricScalars.stage(of: line)
            for scalar in MetricScalars.scalars(of: line) {
                expected[MetricScalars.tag(scalar, stage: stage), default: []].append(
                    [Double(MetricScalars.step(of: line)!), Double(Float(scalar.value)), log.wallTimes[i]])
            }
        }
        let scalars = json["scalars"]?.objectValue ?? []
        XCTAssertEqual(Set(scalars.map(\.0)), Set(expected.keys))
        for (tag, points) in scalars {
            XCTAssertEqual(points.arrayValue?.map { $0.arrayValue?.compactMap(\.doubleValue) ?? [] }, expected[tag], tag)
        }
    }
}
