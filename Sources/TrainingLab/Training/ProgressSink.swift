import Foundation

/// Receives the trainer's progress events as JSON objects with an "event" key: "batch" (every few
/// batches), "epoch" (the metrics line of an epoch) and "message". The CLI draws them, the C API
/// forwards them to the caller's callback.
public protocol ProgressSink: AnyObject {
    func report(_ event: JSONValue)
}

/// Draws a progress bar with images/s and the time left on a terminal, and plain epoch lines (with the epoch's
/// training images/s) otherwise (logs, CI).
public final class ConsoleProgress: ProgressSink {
    private let interactive: Bool
    private let handle: FileHandle
    private var barShown = false
    private var rate = ProgressRate()
    private let clock = Stopwatch()

    public init(handle: FileHandle = .standardError) {
        self.handle = handle
        interactive = isatty(handle.fileDescriptor) != 0
    }

    public func report(_ event: JSONValue) {
        switch event["event"]?.stringValue {
        case "batch":
            rate.batch(event, at: clock.seconds)
            guard interactive, let line = ConsoleProgress.bar(event, rate: rate) else { return }
            write("\r\(line)\u{1B}[K")
            barShown = true
        case "epoch":
            let speed = rate.epoch(event)
            if barShown { write("\r\u{1B}[K"); barShown = false }
            write(ConsoleProgress.summary(event, imagesPerSecond: speed) + "\n")
        default:
            if barShown { write("\n"); barShown = false }
            write((event["message"]?.stringValue ?? event.serialized()) + "\n")
        }
    }

    /// "label epoch 3/10 [=====     ] 120/469 loss 0.4123  1830 img/s  ETA 1:23" from a batch event; nil without
    /// a batch count. Throughput and ETA appear once the rate has two events of the epoch.
    public static func bar(_ e: JSONValue, rate: ProgressRate) -> String? {
        guard let done = e["batch"]?.doubleValue, let total = e["batches"]?.doubleValue, total > 0 else { return nil }
        let width = 30, filled = min(max(Int(Double(width) * done / total), 0), width)
        let epoch = Int(e["epoch"]?.doubleValue ?? 0) + 1
        var parts = [(e["label"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 },
                     "epoch \(epoch)" + (e["epochs"]?.doubleValue.map { "/\(Int($0))" } ?? ""),
                     "[\(String(repeating: "=", count: filled))\(String(repeating: " ", count: width - filled))] \(Int(done))/\(Int(total))"]
        parts.append(e["loss"]?.doubleValue.map { String(format: "loss %.4f", $0) })
        parts.append(rate.imagesPerSecond.map { String(format: "%.0f img/s", $0) })
        if let epochs = e["epochs"]?.doubleValue, let left = rate.secondsLeft(batches: total, epochs: Int(epochs)) {
            parts.append("ETA \(ProgressRate.duration(left))")
        }
        return parts.compactMap { $0 }.joined(separator: "  ")
    }

    /// "label epoch 3/10 loss 0.41 acc 0.85 test 0.88 lr 0.05 12.3 s 1830 img/s" from an epoch (or federated round) event
    /// and the training throughput measured over the epoch's batches.
    static func summary(_ e: JSONValue, imagesPerSecond: Double? = nil) -> String {
        func num(_ key: String, _ format: String) -> String? { e[key]?.doubleValue.map { String(format: format, $0) } }
        var parts: [String] = []
        if let label = e["label"]?.stringValue, !label.isEmpty { parts.append(label) }
        if let epoch = e["epoch"]?.doubleValue, let epochs = e["epochs"]?.doubleValue { parts.append("epoch \(Int(epoch) + 1)/\(Int(epochs))") }
        if let round = e["round"]?.doubleValue, let rounds = e["rounds"]?.doubleValue { parts.append("round \(Int(round) + 1)/\(Int(rounds))") }
        num("train_loss", "%.4f").map { parts.append("loss \($0)") }
        num("train_accuracy", "%.4f").map { parts.append("train acc \($0)") }
        num("test_accuracy", "%.4f").map { parts.append("test acc \($0)") }
        num("lr", "%.4g").map { parts.append("lr \($0)") }
        num("seconds", "%.1f").map { parts.append("\($0) s") }
        imagesPerSecond.map { parts.append(String(format: "%.0f img/s", $0)) }
        return parts.joined(separator: "  ")
    }

    private func write(_ s: String) { handle.write(Data(s.utf8)) }
}
