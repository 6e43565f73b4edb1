/// Every model a run can name: the core's zoo (`ModelZoo.builders`) plus the models plugins register,
/// each with the plugin that provides it. Two providers of one name are refused (`Catalog`).
public typealias ModelCatalog = Catalog<ModelBuilder>

extension Catalog where Item == ModelBuilder {
    /// The core's models only.
    public static var core: ModelCatalog {
        var catalog = ModelCatalog(kind: "model", name: \.name)
        // The core's names are distinct by construction (ModelZoo.builders), so this cannot fail.
        try! catalog.add(ModelZoo.builders, provider: "core")
        return catalog
    }

    /// The builder a SPEC ("resnet8" or "resnet8,width=2") names and the spec's options, validated against
    /// the builder's declarations (a run checks its model SPEC with this before anything trains).
    public func resolve(_ spec: String) throws -> (builder: ModelBuilder, options: OptionValues) {
        let parsed = try ModelSpec(parsing: spec)
        let builder = try item(named: parsed.name)
        return (builder, try OptionValues(specs: builder.options, assignments: parsed.assignments, owner: "model \(parsed.name)"))
    }

    /// A freshly initialised model from a SPEC, cloneable (`Module.clone()`). `options` are set by the method
    /// running it (they size the model from the method's own options) and override the spec's.
    public func make(_ spec: String, input: ModelInput, seed: UInt64, options: [String: OptionValue] = [:]) throws -> Module {
        let (builder, specOptions) = try resolve(spec)
        guard !input.shape.isEmpty, input.shape.allSatisfy({ $0 > 0 }), input.classes > 1 else {
            throw ConfigError("model '\(builder.name)': invalid input \(input.shape) with \(input.classes) classes")
        }
        let values = try OptionValues(specs: builder.options, given: specOptions.values.merging(options) { $1 }, owner: specOptions.owner)
        // The same seeded build is the recipe `clone()` rebuilds the architecture with.
        let build = { try ParameterInit.withSeed(seed) { try builder.build(input, values) } }
        let model = try build().withRecipe(build)
        model.architecture = ModelArchitecture(name: builder.name, options: values, input: input)
        return model
    }
}
