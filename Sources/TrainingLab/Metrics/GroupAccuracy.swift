import Foundation

/// Accuracy per value of a metadata column (subgroups, clients ...) and the subgroup discrepancy MacroStd
/// (FlowAug, Chiu et al. ICCV 2023; /work/shared/methods/flowaug-macrostd.md step A): for each class, the
/// sample-weighted standard deviation of the accuracies of its non-empty subgroups, averaged over classes.
/// Accuracies here are fractions (0-1) except MacroStd, which is in percentage points as the paper reports it.
public struct GroupAccuracy: Equatable, Sendable {
    /// The column the groups come from.
    public var column: String
    /// Group values present, ascending, and the accuracy and sample count of each.
    public var groups: [Int]
    public var accuracy: [Double]
    public var counts: [Int]
    /// The lowest group accuracy.
    public var worst: Double
    /// Mean over classes with test samples of sd_c = sqrt(sum_g n_g (a_g - abar)^2 / ((M - 1) / M * sum_g n_g)),
    /// a_g the class's subgroup accuracies in percent, M its number of non-empty subgroups (sd_c = 0 if M = 1).
    public var macroStd: Double
    /// The same with the population denominator sum_g n_g (the spec leaves open which one the paper used).
    public var macroStdPopulation: Double

    /// From predictions, labels and one group value per sample.
    public init(column: String, predictions: [Int32], labels: [Int32], groups values: [Int], classes: Int) throws {
        guard predictions.count == labels.count, values.count == labels.count, !labels.isEmpty else {
            throw DataError(.shapeMismatch, "GroupAccuracy(\(column)): \(predictions.count) predictions, \(labels.count) labels and \(values.count) group values; expected equal, non-zero counts")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw DataError(.labelOutOfRange, "GroupAccuracy(\(column)): label \(labels[bad]) of sample \(bad) is outside 0..<\(classes)")
        }
        // (class, group) -> (correct, total), and group -> (correct, total).
        var cells: [Int: [Int: (Int, Int)]] = [:], totals: [Int: (Int, Int)] = [:]
        for i in labels.indices {
            let hit = predictions[i] == labels[i] ? 1 : 0
            let c = Int(labels[i]), g = values[i]
            let cell = cells[c, default: [:]][g, default: (0, 0)]
            cells[c, default: [:]][g] = (cell.0 + hit, cell.1 + 1)
            let total = totals[g, default: (0, 0)]
            totals[g] = (total.0 + hit, total.1 + 1)
        }
        self.column = column
        groups = totals.keys.sorted()
        accuracy = groups.map { Double(totals[$0]!.0) / Double(totals[$0]!.1) }
        counts = groups.map { totals[$0]!.1 }
        worst = accuracy.min()!
        var sample = 0.0, population = 0.0
        for c in cells.keys {
            let cell = cells[c]!.values
            let n = cell.map { Double($0.1) }, a = cell.map { 100 * Double($0.0) / Double($0.1) }
            let weight = n.reduce(0, +), mean = zip(n, a).reduce(0) { $0 + $1.0 * $1.1 } / weight
            let squares = zip(n, a).reduce(0) { $0 + $1.0 * ($1.1 - mean) * ($1.1 - mean) }
            let m = Double(n.count)
            population += (squares / weight).squareRoot()
            sample += m > 1 ? (squares / ((m - 1) / m * weight)).squareRoot() : 0
        }
        macroStd = sample / Double(cells.count)
        macroStdPopulation = population / Double(cells.count)
    }

    public var json: JSONValue {
        .object([
            ("column", .string(column)),
            ("groups", .array(groups.map { .number(Double($0)) })),
            ("accuracy", .array(accuracy.map(JSONValue.number))),
            ("counts", .array(counts.map { .number(Double($0)) })),
            ("worst", .number(worst)),
            ("macro_std", .number(macroStd)),
            ("macro_std_population", .number(macroStdPopulation)),
        ])
    }
}
