import Foundation

/// metrics.jsonl of a run: one line per epoch of every recorded loop (a loop with a stage name adds a
/// "stage" key), rewritten atomically after each epoch and sent to the progress sink as an "epoch" event.
/// Beside it the same numbers go to a TensorBoard event file (`TensorBoardEvents`), rewritten with it.
/// Checkpoints carry the lines and their times, so a resumed run's files continue where the stopped one ended.
public final class MetricsLog {
    public private(set) var lines: [JSONValue] = []
    /// When each line was recorded, in seconds since 1970 (the event file's wall_time).
    public private(set) var wallTimes: [Double] = []
    private let directory: URL?
    private let progress: ProgressSink?

    /// Writes into `directory` (nil: keeps the lines in memory only).
    public init(directory: URL?, progress: ProgressSink?) {
        self.directory = directory
        self.progress = progress
    }

    public func append(_ line: JSONValue) throws {
        lines.append(line)
        wallTimes.append(Date().timeIntervalSince1970)
        var event: JSONValue = .object([("event", "epoch")])
        for (key, value) in line.objectValue ?? [] { event.set(key, value) }
        progress?.report(event)
        try write()
    }

    /// The checkpoint entries that `restore(from:)` reads back.
    var checkpointEntries: [(String, JSONValue)] {
        [("run_metrics", .array(lines)), ("run_metrics_wall_times", .array(wallTimes.map(JSONValue.number)))]
    }

    /// Replaces the lines with those a checkpoint state carried; a line without its time (a checkpoint from
    /// before the event files) is dated now.
    func restore(from state: JSONValue) throws {
        lines = state["run_metrics"]?.arrayValue ?? []
        let saved = state["run_metrics_wall_times"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let now = Date().timeIntervalSince1970
        wallTimes = lines.indices.map { $0 < saved.count ? saved[$0] : now }
        try write()
    }

    private func write() throws {
        guard let directory else { return }
        try AtomicFile.write(lines.map { $0.serialized() + "\n" }.joined(), to: directory.appendingPathComponent("metrics.jsonl"))
        try AtomicFile.write(Data(TensorBoardEvents.file(lines: lines, wallTimes: wallTimes)),
                             to: directory.appendingPathComponent(TensorBoardEvents.fileName))
    }
}
