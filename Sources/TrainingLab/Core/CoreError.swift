import CTrainingLab

/// A failure reported by the C core: its status code and the message it left in `tl_last_error`.
public struct CoreError: Error, CustomStringConvertible, Equatable {
    public let status: Int32
    public let message: String

    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }

    public var description: String {
        let kind = String(cString: tl_status_string(status))
        return message.isEmpty ? kind : "\(message) (\(kind))"
    }
}

/// Turns a C status into a Swift error, so every core call reads `try tlCheck(tl_…(…))`.
@inline(__always)
public func tlCheck(_ status: Int32) throws {
    if status != 0 { throw CoreError(status: status, message: String(cString: tl_last_error())) }
}
