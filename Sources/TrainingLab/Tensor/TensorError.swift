/// A tensor operation got arguments it cannot work with: a shape, an axis, a value.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
