/// A dataset derivation that a plugin registers (`PluginRegistration(datasetDerivations:)`) and a run names in
/// its dataset SPEC, beside the core's (val, subset, imbalance, clients, labels, data-seed):
///
///     fashion-mnist,colour-backgrounds=4,correlation=0.9
///
/// Its SPEC keys are its options: the one called `name` turns it on, the others modify it (like the core's
/// imbalance and profile) and may only be given with it. `apply` receives the data after the core's validation
/// split, subset and imbalance and before the client split; it may set metadata columns (subgroups, OOD
/// flags), replace the training set (a float store of synthetic samples) and add extra evaluation sets.
/// Derivations run in the order the SPEC names them; the seed of every draw should come from
/// `data.spec.dataSeed`, so runs with different training seeds see the same data.
public struct DatasetDerivation: Sendable {
    public let name: String
    /// One line for `tlab` listings.
    public let summary: String
    /// The SPEC keys with type, default and help; one of them is named `name`.
    public let options: [OptionSpec]
    private let body: @Sendable (LoadedDataset, OptionValues) throws -> LoadedDataset

    public init(name: String, summary: String, options: [OptionSpec],
                apply: @escaping @Sendable (_ data: LoadedDataset, _ options: OptionValues) throws -> LoadedDataset) {
        self.name = name
        self.summary = summary
        self.options = options
        body = apply
    }

    /// Its SPEC keys, `name` first.
    public var keys: [String] { [name] + options.map(\.name).filter { $0 != name } }

    public func apply(_ data: LoadedDataset, _ options: OptionValues) throws -> LoadedDataset { try body(data, options) }

    /// The registration checks this: the key that turns the derivation on must be one of its options.
    func checkDeclaration() throws {
        guard options.contains(where: { $0.name == name }) else {
            throw ConfigError("dataset derivation '\(name)' must declare an option named '\(name)' (the SPEC key that turns it on); it declares \(options.map(\.name))")
        }
        if let taken = keys.first(where: DatasetSpec.coreKeys.contains) {
            throw ConfigError("dataset derivation '\(name)': the key '\(taken)' is the core's (\(DatasetSpec.coreKeys.joined(separator: ", ")))")
        }
    }
}

extension DatasetSpec {
    /// A registered derivation as a SPEC names it: the derivation and the values of all its keys.
    public struct Derivation: Equatable, Sendable {
        public let derivation: DatasetDerivation
        public let options: OptionValues

        public static func == (a: Derivation, b: Derivation) -> Bool {
            a.derivation.name == b.derivation.name && a.options == b.options
        }

        /// "key=value" of the key that turns it on and of every other key that differs from its default.
        var parts: [String] {
            derivation.keys.compactMap { key in
                guard let value = options.values[key] else { return nil }
                let spec = derivation.options.first { $0.name == key }
                return key == derivation.name || value != spec?.defaultValue ? "\(key)=\(value)" : nil
            }
        }
    }
}
