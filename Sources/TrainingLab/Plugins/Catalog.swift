/// Named extensions collected from plugins, each with its provider, for the registry: models, dataset
/// derivations, augmentations, evaluation metrics, operations. Two providers of one name are refused, naming
/// both.
public struct Catalog<Item> {
    public struct Entry {
        public let item: Item
        /// "core", "test" or the plugin library's path.
        public let provider: String
    }

    /// What the items are, for messages ("dataset derivation").
    public let kind: String
    private let nameOf: (Item) -> String
    public private(set) var entries: [Entry] = []

    public init(kind: String, name: @escaping (Item) -> String) {
        self.kind = kind
        nameOf = name
    }

    public mutating func add(_ items: [Item], provider: String) throws {
        for item in items {
            let name = nameOf(item)
            if let existing = entries.first(where: { nameOf($0.item) == name }) {
                throw ConfigError("two providers of the \(kind) '\(name)': \(existing.provider) and \(provider); remove one")
            }
            entries.append(Entry(item: item, provider: provider))
        }
    }

    public var names: [String] { entries.map { nameOf($0.item) } }
    public var items: [Item] { entries.map(\.item) }

    /// The entry called `name`, with its provider; unknown names list the known ones.
    public func entry(named name: String) throws -> Entry {
        guard let entry = entries.first(where: { nameOf($0.item) == name }) else {
            throw ConfigError("unknown \(kind) '\(name)'; available: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        return entry
    }

    /// The item called `name`; unknown names list the known ones.
    public func item(named name: String) throws -> Item { try entry(named: name).item }
}
