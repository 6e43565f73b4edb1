/// One arm of `tlab compare`: a labelled run of a method with its options and run settings. Every arm of
/// a comparison trains on the same seeds and data; arms differ only in what they declare here.
public struct ComparisonArm: Sendable, Equatable {
    /// Column name in the table and key in compare.json ("fedavg", "fedmoswa", "no-gla-fr").
    public var label: String
    public var method: String
    /// Method options of this arm (over the method's defaults).
    public var options: [String: OptionValue]
    /// Run settings that differ from the shared ones (e.g. a longer schedule for a baseline).
    public var settings: [String: JSONValue]

    public init(_ label: String, method: String, options: [String: OptionValue] = [:], settings: [String: JSONValue] = [:]) {
        self.label = label
        self.method = method
        self.options = options
        self.settings = settings
    }

    /// "name=value" assignments of the options, sorted (what `RunPlan` takes).
    public var optionAssignments: [String] { options.map { "\($0.key)=\($0.value)" }.sorted() }

    var json: JSONValue {
        .object([("label", .string(label)), ("method", .string(method)),
                 ("options", .object(options.keys.sorted().map { ($0, JSONValue(options[$0]!)) })),
                 ("settings", .object(settings.keys.sorted().map { ($0, settings[$0]!) }))])
    }
}
