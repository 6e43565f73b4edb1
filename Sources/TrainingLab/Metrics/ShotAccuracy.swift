/// Accuracy of head, middle and tail classes of a long-tailed training set (the "many / medium / few-shot"
/// columns of long-tail papers), and of its `rareCount` rarest classes (the rare-class checks of the SCoRe
/// and FedLoGe specs): each value is the mean of its classes' test accuracies.
public struct ShotAccuracy: Codable, Equatable, Sendable {
    /// nil when the group has no class with test samples.
    public var many: Double?
    public var medium: Double?
    public var few: Double?
    public var rare: Double?
    public var manyClasses: [Int]
    public var mediumClasses: [Int]
    public var fewClasses: [Int]
    public var rareClasses: [Int]

    /// How many of the rarest classes `rare` averages.
    public static let rareCount = 3
}

/// The `count` classes with the fewest training samples (ties: the higher class index counts as rarer), ascending.
public func rarestClasses(trainCounts: [Int], count: Int) -> [Int] {
    Array(trainCounts.indices.sorted { (trainCounts[$0], -$0) < (trainCounts[$1], -$1) }.prefix(count)).sorted()
}

/// How classes are grouped by their training counts.
public enum ShotSplit: Equatable, Sendable {
    /// many: n > manyAbove, few: n < fewBelow, medium: the rest (the usual 100 / 20 of Liu et al. 2019).
    case thresholds(manyAbove: Int = 100, fewBelow: Int = 20)
    /// Classes sorted by count (descending, ties by class index) and cut into thirds: rank r goes to group
    /// floor(3r / C), so 10 classes split 4/3/3. For small long-tailed sets where no class is under 20.
    case terciles
    /// FedLoGe's head/middle/tail: classes sorted by count; a class is head if the samples of the classes
    /// before it cover less than `head` of the total, middle if less than `middle`, else tail.
    case cumulative(head: Double = 0.75, middle: Double = 0.95)

    public static let standard = ShotSplit.thresholds()

    /// The splits a run can name (`shot_split`), with their default thresholds.
    public static let named: [(String, ShotSplit)] = [("thresholds", .standard), ("terciles", .terciles), ("cumulative", .cumulative())]

    /// The split called `name` in `named`; an unknown name lists the valid ones.
    public init(named name: String) throws {
        guard let split = ShotSplit.named.first(where: { $0.0 == name })?.1 else {
            throw ConfigError("unknown shot split '\(name)'; expected one of \(ShotSplit.named.map(\.0).joined(separator: ", "))")
        }
        self = split
    }
}

/// Groups the classes by training count and averages the per-class accuracies within each group.
public func shotAccuracy(perClass: [Double?], trainCounts: [Int], split: ShotSplit = .standard) throws -> ShotAccuracy {
    guard perClass.count == trainCounts.count, !trainCounts.isEmpty else {
        throw DataError(.shapeMismatch, "shotAccuracy: \(perClass.count) per-class accuracies for \(trainCounts.count) training counts")
    }
    let classes = trainCounts.count
    var group = [Int](repeating: 1, count: classes)
    switch split {
    case let .thresholds(manyAbove, fewBelow):
        for c in 0..<classes { group[c] = trainCounts[c] > manyAbove ? 0 : (trainCounts[c] < fewBelow ? 2 : 1) }
    case .terciles:
        let order = (0..<classes).sorted { (trainCounts[$0], -$0) > (trainCounts[$1], -$1) }
        for (rank, c) in order.enumerated() { group[c] = 3 * rank / classes }
    case let .cumulative(head, middle):
        let order = (0..<classes).sorted { (trainCounts[$0], -$0) > (trainCounts[$1], -$1) }
        let total = Double(max(1, trainCounts.reduce(0, +)))
        var before = 0
        for c in order {
            let covered = Double(before) / total
            group[c] = covered < head ? 0 : (covered < middle ? 1 : 2)
            before += trainCounts[c]
        }
    }
    func members(_ g: Int) -> [Int] { (0..<classes).filter { group[$0] == g } }
    func mean(_ members: [Int]) -> Double? {
        let values = members.compactMap { perClass[$0] }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
    let (m, d, f) = (members(0), members(1), members(2))
    let rare = rarestClasses(trainCounts: trainCounts, count: ShotAccuracy.rareCount)
    return ShotAccuracy(many: mean(m), medium: mean(d), few: mean(f), rare: mean(rare),
                        manyClasses: m, mediumClasses: d, fewClasses: f, rareClasses: rare)
}
