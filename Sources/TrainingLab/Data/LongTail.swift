import Foundation

/// How class sizes fall off in a long-tailed (class-imbalanced) training set.
public enum ImbalanceProfile: String, CaseIterable, Sendable {
    /// n_k = floor(n_max * (1/ratio)^(k/(C-1))): the CIFAR-10/100-LT benchmarks (Cao et al. 2019).
    case exponential
    /// The first floor(C/2) classes keep n_max, the others floor(n_max / ratio) (LDAM's "step" imbalance).
    case step
}

extension Dataset {
    /// Per-class sizes of a long-tailed profile with head size `maxCount`; class 0 is the head.
    public static func longTailedCounts(maxCount: Int, classes: Int, ratio: Double,
                                        profile: ImbalanceProfile = .exponential) throws -> [Int] {
        guard classes > 0, maxCount >= 0, ratio >= 1, ratio.isFinite else {
            throw DataError(.invalidArgument, "long-tailed counts need classes > 0, maxCount >= 0 and a finite ratio >= 1, got \(classes), \(maxCount), \(ratio)")
        }
        switch profile {
        case .exponential:
            guard classes > 1 else { return [maxCount] }
            return (0..<classes).map { k in Int((Double(maxCount) * pow(1.0 / ratio, Double(k) / Double(classes - 1))).rounded(.down)) }
        case .step:
            return (0..<classes).map { k in k < classes / 2 ? maxCount : Int((Double(maxCount) / ratio).rounded(.down)) }
        }
    }

    /// A long-tailed subset: class k keeps the first n_k of its samples in a seeded shuffle, with n_max the
    /// size of the largest class (n_k is capped by what the class has). The result keeps the dataset order.
    public func longTailed(ratio: Double, profile: ImbalanceProfile = .exponential, seed: UInt64) throws -> Dataset {
        guard ratio >= 1, ratio.isFinite else {
            throw DataError(.invalidArgument, "imbalance ratio must be a finite number >= 1, got \(ratio)")
        }
        let groups = indicesByClass()
        let targets = try Dataset.longTailedCounts(maxCount: groups.map(\.count).max() ?? 0, classes: classCount,
                                                    ratio: ratio, profile: profile)
        let generator = SeededGenerator(seed: seed).split("long-tail")
        var keep: [Int] = []
        for (k, group) in groups.enumerated() {
            var g = generator.split(UInt64(k))
            var shuffled = group
            g.shuffle(&shuffled)
            keep += shuffled.prefix(min(targets[k], group.count))
        }
        keep.sort()
        return try subset(keep, name: "\(name)-lt\(Dataset.format(ratio))")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
