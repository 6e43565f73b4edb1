import Foundation

/// metrics.jsonl of a run: one line per epoch of every recorded loop (a loop with a stage name adds a
/// "stage" key), rewritten atomically after each epoch and sent to the progress sink as an "epoch" event.
/// Checkpoints carry the lines, so a resumed run's file continues where the stopped one ended.
public final class MetricsLog {
    public private(set) var lines: [JSONValue] = []
    private let file: URL?
    private let progress: ProgressSink?

    public init(file: URL?, progress: ProgressSink?) {
        self.file = file
        self.progress = progress
    }

    public func append(_ line: JSONValue) throws {
        lines.append(line)
        var event: JSONValue = .object([("event", "epoch")])
        for (key, value) in line.objectValue ?? [] { event.set(key, value) }
        progress?.report(event)
        try write()
    }

    /// Replaces the lines with those a checkpoint carried.
    func restore(_ saved: [JSONValue]) throws {
        lines = saved
        try write()
    }

    private func write() throws {
        guard let file else { return }
        try AtomicFile.write(lines.map { $0.serialized() + "\n" }.joined(), to: file)
    }
}
