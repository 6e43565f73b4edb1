import Foundation

/// Thrown by a recording loop when the run must stop with training left to do: its `--stop-after` budget of epochs
/// is used up (after the checkpoint of the epoch just finished), or a stop was requested (`StopRequest`: Ctrl-C, a C
/// caller's cancellation), which ends the epoch in progress at the next step and discards it. Either way the last
/// checkpoint lets `--resume` continue exactly; the host catches it and writes a report marked incomplete.
/// Loop-owning methods let it propagate.
public struct RunStopped: Error, CustomStringConvertible {
    public enum Cause: String, Sendable {
        case stopAfter = "stop_after"
        case interrupt
    }

    /// Epochs completed in the whole run (every recorded loop of it) when it stopped: where a resumed run continues.
    public let epochsCompleted: Int
    public let cause: Cause
    /// For an interrupt inside an epoch: that epoch (0-based, of the loop that stopped), the steps done of it and
    /// its number of steps. The resumed run repeats the epoch from its start.
    public let partialEpoch: (epoch: Int, step: Int, steps: Int)?

    public init(epochsCompleted: Int, cause: Cause = .stopAfter, partialEpoch: (epoch: Int, step: Int, steps: Int)? = nil) {
        self.epochsCompleted = epochsCompleted
        self.cause = cause
        self.partialEpoch = partialEpoch
    }

    public var description: String { "run stopped after \(epochsCompleted) epochs (continue with --resume)" }

    /// The report keys of a run that ended here, or of a complete one (nil): "complete", and for a stopped run
    /// how far it got ("epochs_completed", "stopped_by", "partial_epoch"). Runs and comparisons write the same keys.
    public static func markCompletion(of report: inout JSONValue, stopped: RunStopped?) {
        report.set("complete", .bool(stopped == nil))
        guard let stopped else { return }
        report.set("epochs_completed", .number(Double(stopped.epochsCompleted)))
        report.set("stopped_by", .string(stopped.cause.rawValue))
        if let partial = stopped.partialEpoch {
            report.set("partial_epoch", .object([("epoch", .number(Double(partial.epoch))), ("steps_done", .number(Double(partial.step))),
                                                 ("steps", .number(Double(partial.steps))), ("note", "discarded; --resume repeats this epoch")]))
        }
    }
}
