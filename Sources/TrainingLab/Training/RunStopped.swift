import Foundation

/// Thrown by the loop when the run's `--stop-after` budget of epochs is used up with training left to do.
/// The checkpoint of the epoch just finished is written first, so `--resume` continues exactly; the host
/// catches it and writes a report marked incomplete. Loop-owning methods let it propagate.
public struct RunStopped: Error, CustomStringConvertible {
    /// Epochs completed in the whole run (every recorded loop of it) when it stopped.
    public let epochsCompleted: Int

    public var description: String { "run stopped after \(epochsCompleted) epochs (continue with --resume)" }
}

/// A request to stop a run at the end of the epoch under way, like `--stop-after` (checkpoint, then a report
/// marked incomplete): made from a progress callback (the C API's, returning nonzero) or another thread.
public final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public func request() {
        lock.lock()
        requested = true
        lock.unlock()
    }

    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }
}
