import Foundation

/// Wall time since creation, on the monotonic clock (reports' `seconds` and `wall_seconds`).
public struct Stopwatch: Sendable {
    private let start = DispatchTime.now().uptimeNanoseconds

    public init() {}

    public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
