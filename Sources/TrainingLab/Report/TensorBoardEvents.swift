/// TensorBoard scalar event files written without a protobuf library: TFRecord-framed `Event` messages
/// (tensorflow/core/util/event.proto), of which only these fields are used:
///   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
///   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
/// The file starts with the version event TensorBoard expects, then one event per metrics line.
public enum TensorBoardEvents {
    /// Named like TensorBoard's own files ("tfevents" is what readers look for); one fixed name per run folder
    /// because the file is rewritten whole, like metrics.jsonl, and must keep its name across a resume.
    public static let fileName = "events.out.tfevents.traininglab"
    static let fileVersion = "brain.Event:2"

    /// The whole event file of a run's metrics lines, each with the time it was recorded (seconds since 1970).
    /// A line without an epoch or round takes its position in the file as the step.
    public static func file(lines: [JSONValue], wallTimes: [Double]) -> [UInt8] {
        var bytes = TFRecord.frame(event(wallTime: wallTimes.first ?? 0, step: 0, fileVersion: fileVersion))
        for (i, line) in lines.enumerated() {
            let stage = MetricScalars.stage(of: line)
            let values = MetricScalars.scalars(of: line).map { (MetricScalars.tag($0, stage: stage), Float($0.value)) }
            guard !values.isEmpty else { continue }
            let step = Int64(MetricScalars.step(of: line) ?? i)
            bytes += TFRecord.frame(event(wallTime: i < wallTimes.count ? wallTimes[i] : 0, step: step, scalars: values))
        }
        return bytes
    }

    /// One serialized Event: the version event when `fileVersion` is given, else a summary of scalars.
    static func event(wallTime: Double, step: Int64, fileVersion: String? = nil, scalars: [(tag: String, value: Float)] = []) -> [UInt8] {
        var out = key(1, .fixed64) + TFRecord.littleEndian(wallTime.bitPattern)
        out += key(2, .varint) + varint(UInt64(bitPattern: step))
        if let fileVersion { out += lengthDelimited(3, Array(fileVersion.utf8)) }
        if !scalars.isEmpty {
            let summary = scalars.flatMap { tag, value in
                lengthDelimited(1, lengthDelimited(1, Array(tag.utf8)) + key(2, .fixed32) + TFRecord.littleEndian(value.bitPattern))
            }
            out += lengthDelimited(5, summary)
        }
        return out
    }

    enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    static func key(_ field: UInt64, _ type: WireType) -> [UInt8] { varint(field << 3 | type.rawValue) }

    static func lengthDelimited(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        key(field, .lengthDelimited) + varint(UInt64(payload.count)) + payload
    }

    /// Base-128 little-endian groups, high bit set on all but the last.
    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }
}
