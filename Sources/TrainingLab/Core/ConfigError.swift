/// A user-supplied option, configuration value or name is unknown or invalid. The message says
/// which one and what would be valid.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
