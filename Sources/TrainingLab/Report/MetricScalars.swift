/// The plottable numbers of one metrics.jsonl line, read the same way by the TensorBoard event file and by
/// `tlab report`: every finite number is a scalar named by its key, every array of numbers gives one scalar
/// per element (precision per layer, accuracy per client), and the epoch or round counters are the step,
/// not a series. Strings, booleans, objects, non-finite numbers (null in the file) and the federated driver's
/// lists of client ids are left out.
public struct MetricScalar: Equatable {
    public let key: String
    /// The element of an array-valued key, nil for a plain number.
    public let index: Int?
    public let value: Double

    public init(key: String, index: Int?, value: Double) {
        self.key = key
        self.index = index
        self.value = value
    }
}

public enum MetricScalars {
    /// Keys that say where a line is in the run, or which clients took part, rather than what was measured.
    static let counters: Set<String> = ["epoch", "epochs", "round", "rounds", "clients", "succeeded"]

    /// The line's epoch, else its round (0-based); nil when it has neither.
    public static func step(of line: JSONValue) -> Int? {
        (line["epoch"]?.doubleValue ?? line["round"]?.doubleValue).flatMap { $0.isFinite ? Int($0) : nil }
    }

    /// The stage that wrote the line ("" for the main loop).
    public static func stage(of line: JSONValue) -> String { line["stage"]?.stringValue ?? "" }

    public static func scalars(of line: JSONValue) -> [MetricScalar] {
        var out: [MetricScalar] = []
        for (key, value) in line.objectValue ?? [] where !counters.contains(key) {
            switch value {
            case .number(let x) where x.isFinite:
                out.append(MetricScalar(key: key, index: nil, value: x))
            case .array(let elements) where !elements.isEmpty && elements.allSatisfy({ $0.doubleValue != nil }):
                for (i, element) in elements.enumerated() {
                    if let x = element.doubleValue, x.isFinite { out.append(MetricScalar(key: key, index: i, value: x)) }
                }
            default:
                break
            }
        }
        return out
    }

    /// TensorBoard's tag of a scalar: "stage/key/index" without the parts that are absent.
    public static func tag(_ scalar: MetricScalar, stage: String) -> String {
        ([stage, scalar.key] + (scalar.index.map { [String($0)] } ?? [])).filter { !$0.isEmpty }.joined(separator: "/")
    }
}
