/// Every model a run can name: the core's zoo (`ModelZoo.builders`) plus the models plugins register,
/// each with the plugin that provides it. Two providers of one name are refused.
public struct ModelCatalog {
    public struct Entry {
        public let builder: ModelBuilder
        /// "core" or the plugin library's path.
        public let provider: String
    }

    public private(set) var entries: [Entry] = []

    /// The core's models only.
    public static var core: ModelCatalog {
        var catalog = ModelCatalog()
        // The core's names are distinct by construction (ModelZoo.builders); a duplicate is a programming error.
        for builder in ModelZoo.builders { catalog.entries.append(Entry(builder: builder, provider: "core")) }
        return catalog
    }

    public init() {}

    public mutating func add(_ builders: [ModelBuilder], provider: String) throws {
        for builder in builders {
            if let existing = entries.first(where: { $0.builder.name == builder.name }) {
                throw ConfigError("two providers of the model '\(builder.name)': \(existing.provider) and \(provider); remove one")
            }
            entries.append(Entry(builder: builder, provider: provider))
        }
    }

    public var names: [String] { entries.map(\.builder.name) }

    public func entry(named name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.builder.name == name }) else {
            throw ConfigError("unknown model '\(name)'; available: \(names.joined(separator: ", "))")
        }
        return entry
    }

    /// A freshly initialised model from a SPEC ("resnet8" or "resnet8,width=2"), cloneable (`Module.clone()`).
    /// `options` are set by the method running it (they size the model from the method's own options) and
    /// override the spec's.
    public func make(_ spec: String, input: ModelInput, seed: UInt64, options: [String: OptionValue] = [:]) throws -> Module {
        let parsed = try ModelSpec(parsing: spec)
        let builder = try entry(named: parsed.name).builder
        guard !input.shape.isEmpty, input.shape.allSatisfy({ $0 > 0 }), input.classes > 1 else {
            throw ConfigError("model '\(parsed.name)': invalid input \(input.shape) with \(input.classes) classes")
        }
        let owner = "model \(parsed.name)"
        var given = try OptionValues(specs: builder.options, assignments: parsed.assignments, owner: owner).values
        for (name, value) in options { given[name] = value }
        let values = try OptionValues(specs: builder.options, given: given, owner: owner)
        // The same seeded build is the recipe `clone()` rebuilds the architecture with.
        let build = { try ParameterInit.withSeed(seed) { try builder.build(input, values) } }
        return try build().withRecipe(build)
    }
}
