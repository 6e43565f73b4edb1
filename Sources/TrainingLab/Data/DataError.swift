/// A dataset that cannot be read or built: the file (if any), what kind of problem, and what was expected.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Equatable, Sendable {
        case missingFile = "missing file"
        case unreadable = "unreadable file"
        case badMagic = "wrong magic number"
        case truncated = "truncated file"
        case badSize = "wrong file size"
        case labelOutOfRange = "label out of range"
        case shapeMismatch = "shape mismatch"
        case badSpec = "bad dataset spec"
        case invalidArgument = "invalid argument"
    }

    public let kind: Kind
    /// The file the problem is in; empty when it is not about one file.
    public let path: String
    public let message: String

    public init(_ kind: Kind, path: String = "", _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
