import Foundation

/// Receives the trainer's progress events as JSON objects with an "event" key: "batch" (every few
/// batches), "epoch" (the metrics line of an epoch) and "message". The CLI draws them, the C API
/// forwards them to the caller's callback.
public protocol ProgressSink: AnyObject {
    func report(_ event: JSONValue)
}

/// Draws a progress bar on a terminal and plain lines otherwise (logs, CI).
public final class ConsoleProgress: ProgressSink {
    private let interactive: Bool
    private let handle: FileHandle
    private var barShown = false

    public init(handle: FileHandle = .standardError) {
        self.handle = handle
        interactive = isatty(handle.fileDescriptor) != 0
    }

    public func report(_ event: JSONValue) {
        switch event["event"]?.stringValue {
        case "batch":
            guard interactive, let done = event["batch"]?.doubleValue, let total = event["batches"]?.doubleValue, total > 0 else { return }
            let width = 30, filled = Int(Double(width) * done / total)
            let epoch = Int(event["epoch"]?.doubleValue ?? 0) + 1
            let loss = event["loss"]?.doubleValue.map { String(format: " loss %.4f", $0) } ?? ""
            write("\r\(event["label"]?.stringValue ?? "") epoch \(epoch) [\(String(repeating: "=", count: filled))\(String(repeating: " ", count: width - filled))] \(Int(done))/\(Int(total))\(loss)")
            barShown = true
        case "epoch":
            if barShown { write("\r\u{1B}[K"); barShown = false }
            write(ConsoleProgress.summary(event) + "\n")
        default:
            if barShown { write("\n"); barShown = false }
            write((event["message"]?.stringValue ?? event.serialized()) + "\n")
        }
    }

    /// "label epoch 3/10 loss 0.41 acc 0.85 test 0.88 lr 0.05 12.3 s" from an epoch (or federated round) event.
    static func summary(_ e: JSONValue) -> String {
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
        return parts.joined(separator: "  ")
    }

    private func write(_ s: String) { handle.write(Data(s.utf8)) }
}
