import Foundation

/// A request, from another thread, that a run stop at its next step (the CLI's Ctrl-C, a C caller's cancellation).
/// Recording loops that train alone check it after every step and throw `RunStopped` (cause `interrupt`);
/// data-parallel loops do not, since the replicas could see it at different steps and wait on each other forever.
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
