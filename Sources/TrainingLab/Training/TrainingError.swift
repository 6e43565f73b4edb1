/// Training could not continue: a non-finite loss or gradient, or a method left the step incomplete.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
