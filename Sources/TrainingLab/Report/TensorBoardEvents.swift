/// TensorBoard scalar event files written without a protobuf library: TFRecord-framed `Event` messages
/// (tensorflow/core/util/event.proto) encoded by `ProtobufMessage`, of which only these fields are used:
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
        var event = ProtobufMessage()
        event.double(1, wallTime)
        event.int(2, Int(step))
        if let fileVersion { event.string(3, fileVersion) }
        if !scalars.isEmpty {
            var summary = ProtobufMessage()
            for (tag, value) in scalars {
                var v = ProtobufMessage()
                v.string(1, tag)
                v.float(2, value)
                summary.message(1, v)
            }
            event.message(5, summary)
        }
        return event.bytes
    }
}
