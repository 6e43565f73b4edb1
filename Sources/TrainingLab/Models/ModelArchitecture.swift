/// What `ModelCatalog.make` built a model from: the registered name, every option resolved (defaults
/// included) and the input it was sized for. Model files record it so that the model can be rebuilt without
/// the run that trained it (`SavedModel`).
public struct ModelArchitecture: Equatable, Sendable {
    public let name: String
    public let options: OptionValues
    public let input: ModelInput

    /// The model SPEC that rebuilds it: the name, then every option as option=value, sorted by name.
    public var spec: String {
        ([name] + options.values.keys.sorted().map { key in
            let value = JSONValue(options.values[key]!)
            return "\(key)=\(value.stringValue ?? value.serialized())"
        }).joined(separator: ",")
    }
}
