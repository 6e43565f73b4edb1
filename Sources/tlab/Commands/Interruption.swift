import Foundation
import TrainingLab

/// Ctrl-C during `run` or `compare`: the first asks the run to stop at its next step (it then writes its incomplete
/// report, and the command prints how to resume); a second ends the process at once.
final class Interruption {
    private let source: DispatchSourceSignal

    init(stopping request: StopRequest) {
        signal(SIGINT, SIG_IGN)  // delivered to the dispatch source instead
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if request.isRequested { exit(130) }
            request.request()
            FileHandle.standardError.write(Data("\nstopping at the next step; Ctrl-C again quits at once\n".utf8))
        }
        source.resume()
    }

    /// Restores the default Ctrl-C.
    func end() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }

    /// Runs `body` with Ctrl-C turned into `request`.
    static func handling<T>(_ request: StopRequest, _ body: () throws -> T) rethrows -> T {
        let interruption = Interruption(stopping: request)
        defer { interruption.end() }
        return try body()
    }

    /// Where and why a run stopped, and the command that continues it: this command line with --resume (and --out),
    /// without --stop-after and --overwrite.
    static func resumeAdvice(_ stopped: RunStopped, out: String) -> String {
        var arguments: [String] = []
        var rest = CommandLine.arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--stop-after" { _ = rest.popFirst(); continue }
            if argument.hasPrefix("--stop-after=") || argument == "--overwrite" || argument == "--resume" { continue }
            arguments.append(argument)
        }
        if !arguments.contains(where: { $0 == "--out" || $0.hasPrefix("--out=") }) { arguments += ["--out", out] }
        arguments.append("--resume")
        var position = "after \(stopped.epochsCompleted) epoch\(stopped.epochsCompleted == 1 ? "" : "s")"
        if let partial = stopped.partialEpoch {
            position += " (interrupted in epoch \(partial.epoch + 1) at step \(partial.step)/\(partial.steps); that epoch starts again when resumed)"
        }
        return "run stopped \(position); continue it with:\n  \(arguments.map(shellQuoted).joined(separator: " "))"
    }

    private static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
