/// What a model is built for: the shape of one input sample (channels, height, width for images; any
/// shape for other data) and the number of classes of the classifier head.
public struct ModelInput: Equatable, Sendable {
    public var shape: [Int]
    public var classes: Int

    public init(shape: [Int], classes: Int) {
        self.shape = shape
        self.classes = classes
    }

    /// (channels, height, width) of an image input; a clear error for other ranks.
    public func image(for model: String) throws -> (channels: Int, height: Int, width: Int) {
        guard shape.count == 3 else { throw ConfigError("model '\(model)' needs image inputs (channels x height x width), got a sample shape \(shape)") }
        return (shape[0], shape[1], shape[2])
    }
}

/// A model users can name (`--model NAME[,option=value...]`): the core's zoo and plugins register these.
/// `build` runs under `ParameterInit.withSeed`, so every parameter it creates is seeded from the run.
public struct ModelBuilder {
    public let name: String
    public let summary: String
    /// Options that size or shape the model (width, depth, timesteps ...), with defaults.
    public let options: [OptionSpec]
    let build: (ModelInput, OptionValues) throws -> Module

    public init(name: String, summary: String, options: [OptionSpec] = [],
                build: @escaping (_ input: ModelInput, _ options: OptionValues) throws -> Module) {
        self.name = name
        self.summary = summary
        self.options = options
        self.build = build
    }
}

/// A parsed model SPEC: a name, then comma-separated `option=value` pairs ("resnet8,width=2").
public struct ModelSpec: Equatable, Sendable {
    public var name: String
    public var assignments: [String]

    public init(parsing text: String) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard let head = parts.first, !head.isEmpty, !head.contains("=") else {
            throw ConfigError("model spec '\(text)': expected NAME[,option=value...]")
        }
        name = head
        assignments = Array(parts.dropFirst())
        if let bad = assignments.first(where: { !$0.contains("=") || $0.hasPrefix("=") }) {
            throw ConfigError("model spec '\(text)': '\(bad)' is not option=value")
        }
    }
}
