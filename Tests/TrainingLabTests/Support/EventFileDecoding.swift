import Foundation
import XCTest
import TrainingLab

/// The test side's own reader of TensorBoard event files: TFRecord records with both CRCs checked, and the Event
/// fields TrainingLab writes. Written from the format description, apart from the writer it checks.
struct DecodedEvent: Equatable {
    var wallTime = 0.0
    var step: Int64 = 0
    var fileVersion: String?
    var values: [String: Float] = [:]
}

struct EventDecodingError: Error, CustomStringConvertible {
    let description: String
}

func eventRecords(_ bytes: [UInt8]) throws -> [[UInt8]] {
    func word<W: FixedWidthInteger>(_ at: Int, _: W.Type) -> W {
        (0..<W.bitWidth / 8).reduce(W.zero) { $0 | W(bytes[at + $1]) << ($1 * 8) }
    }
    var records: [[UInt8]] = [], at = 0
    while at < bytes.count {
        guard at + 12 <= bytes.count else { throw EventDecodingError(description: "truncated header at byte \(at)") }
        let length = Int(word(at, UInt64.self))
        guard word(at + 8, UInt32.self) == CRC32C.masked(bytes[at..<at + 8]) else { throw EventDecodingError(description: "bad length CRC at byte \(at)") }
        guard at + 12 + length + 4 <= bytes.count else { throw EventDecodingError(description: "truncated record at byte \(at)") }
        let payload = Array(bytes[at + 12..<at + 12 + length])
        guard word(at + 12 + length, UInt32.self) == CRC32C.masked(payload) else { throw EventDecodingError(description: "bad data CRC at byte \(at)") }
        records.append(payload)
        at += 16 + length
    }
    return records
}

/// Protobuf fields of a message: (field number, varint value or fixed bits, bytes of a length-delimited field).
private func fields(_ bytes: [UInt8]) throws -> [(field: UInt64, number: UInt64, bytes: [UInt8])] {
    var out: [(UInt64, UInt64, [UInt8])] = [], at = 0
    func varint() throws -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard at < bytes.count, shift < 64 else { throw EventDecodingError(description: "bad varint") }
            let b = bytes[at]
            at += 1
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }
    func fixed(_ n: Int) throws -> UInt64 {
        guard at + n <= bytes.count else { throw EventDecodingError(description: "truncated fixed field") }
        defer { at += n }
        return (0..<n).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << ($1 * 8) }
    }
    while at < bytes.count {
        let key = try varint()
        switch key & 7 {
        case 0: out.append((key >> 3, try varint(), []))
        case 1: out.append((key >> 3, try fixed(8), []))
        case 5: out.append((key >> 3, try fixed(4), []))
        case 2:
            let n = Int(try varint())
            guard at + n <= bytes.count else { throw EventDecodingError(description: "truncated field") }
            out.append((key >> 3, 0, Array(bytes[at..<at + n])))
            at += n
        default: throw EventDecodingError(description: "unexpected wire type \(key & 7)")
        }
    }
    return out
}

func decodeEvent(_ bytes: [UInt8]) throws -> DecodedEvent {
    var event = DecodedEvent()
    for f in try fields(bytes) {
        switch f.field {
        case 1: event.wallTime = Double(bitPattern: f.number)
        case 2: event.step = Int64(bitPattern: f.number)
        case 3: event.fileVersion = String(decoding: f.bytes, as: UTF8.self)
        case 5:
            for value in try fields(f.bytes) where value.field == 1 {
                let parts = try fields(value.bytes)
                guard let tag = parts.first(where: { $0.field == 1 }), let simple = parts.first(where: { $0.field == 2 }) else {
                    throw EventDecodingError(description: "summary value without tag or simple_value")
                }
                event.values[String(decoding: tag.bytes, as: UTF8.self)] = Float(bitPattern: UInt32(simple.number))
            }
        default: break
        }
    }
    return event
}

/// The events of a run folder's event file.
func runEvents(_ folder: String) throws -> [DecodedEvent] {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + TensorBoardEvents.fileName)))
    return try eventRecords(bytes).map(decodeEvent)
}

/// What the event file of a run folder should hold for its metrics.jsonl: per line with numbers, the step and the
/// scalars by tag (as Float, the event's precision).
func expectedEvents(metricsOf folder: String) throws -> [(step: Int64, values: [String: Float])] {
    let lines = try String(contentsOfFile: folder + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    return lines.enumerated().compactMap { i, line in
        let scalars = MetricScalars.scalars(of: line)
        guard !scalars.isEmpty else { return nil }
        let stage = MetricScalars.stage(of: line)
        return (Int64(MetricScalars.step(of: line) ?? i),
                Dictionary(scalars.map { (MetricScalars.tag($0, stage: stage), Float($0.value)) }, uniquingKeysWith: { $1 }))
    }
}
