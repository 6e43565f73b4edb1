/// Class-balanced subsets and held-out validation splits, drawn with a fixed seed so that every run of an
/// experiment (whatever its training seed) sees the same images.
extension Dataset {
    /// Samples per class for a balanced draw of n: n / C each, the remainder to the lowest classes, and any
    /// class that has too few gives its shortfall to the others (water-filling), so the total is exactly n.
    public static func balancedQuota(total n: Int, available: [Int]) throws -> [Int] {
        guard n >= 0, n <= available.reduce(0, +), available.allSatisfy({ $0 >= 0 }) else {
            throw DataError(.invalidArgument, "a balanced draw of \(n) needs 0 <= n <= \(available.reduce(0, +)) available samples")
        }
        var quota = [Int](repeating: 0, count: available.count)
        var remaining = n
        while remaining > 0 {
            let open = available.indices.filter { quota[$0] < available[$0] }
            let share = remaining / open.count, extra = remaining % open.count
            for (rank, c) in open.enumerated() {
                let add = min(share + (rank < extra ? 1 : 0), available[c] - quota[c])
                quota[c] += add
                remaining -= add
            }
        }
        return quota
    }

    /// Positions of a class-balanced draw of n samples (seeded), ascending.
    public func balancedIndices(_ n: Int, seed: UInt64, purpose: String = "subset") throws -> [Int] {
        guard n > 0, n <= count else {
            throw DataError(.invalidArgument, "dataset \(name): a balanced \(purpose) of \(n) samples needs 0 < n <= \(count)")
        }
        let groups = indicesByClass()
        let quota = try Dataset.balancedQuota(total: n, available: groups.map(\.count))
        let generator = SeededGenerator(seed: seed).split(purpose)
        var chosen: [Int] = []
        for (k, group) in groups.enumerated() where quota[k] > 0 {
            var g = generator.split(UInt64(k))
            chosen += g.sample(quota[k], from: group.count).map { group[$0] }
        }
        return chosen.sorted()
    }

    /// A class-balanced subset of n samples (seeded).
    public func balancedSubset(_ n: Int, seed: UInt64) throws -> Dataset {
        try subset(balancedIndices(n, seed: seed, purpose: "subset"), name: "\(name)-subset\(n)")
    }

    /// Splits off a class-balanced validation set of n samples (seeded); the rest stays for training.
    public func splittingValidation(_ n: Int, seed: UInt64) throws -> (train: Dataset, validation: Dataset) {
        let validation = try balancedIndices(n, seed: seed, purpose: "validation")
        var taken = [Bool](repeating: false, count: count)
        for i in validation { taken[i] = true }
        let train = (0..<count).filter { !taken[$0] }
        return (try subset(train, name: "\(name)-train"), try subset(validation, name: "\(name)-val"))
    }

    /// A sample of `total` positions whose class histogram is proportional to `histogram` (largest remainders;
    /// seeded; without replacement within a class while it lasts). FedLoGe builds per-client test sets this way.
    public func indicesMatching(histogram: [Int], total: Int, seed: UInt64) throws -> [Int] {
        guard histogram.count == classCount, histogram.allSatisfy({ $0 >= 0 }), histogram.reduce(0, +) > 0, total >= 0 else {
            throw DataError(.invalidArgument, "dataset \(name): histogram needs \(classCount) non-negative counts with a positive sum, total >= 0")
        }
        let sum = Double(histogram.reduce(0, +))
        let exact = histogram.map { Double($0) / sum * Double(total) }
        var quota = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(quota[$0]), -$0) > (exact[$1] - Double(quota[$1]), -$1) }
        for c in order.prefix(total - quota.reduce(0, +)) { quota[c] += 1 }
        let groups = indicesByClass()
        let generator = SeededGenerator(seed: seed).split("matching")
        var chosen: [Int] = []
        for (k, group) in groups.enumerated() where quota[k] > 0 {
            guard !group.isEmpty else {
                throw DataError(.invalidArgument, "dataset \(name): class \(k) is requested but has no samples")
            }
            var g = generator.split(UInt64(k))
            var drawn = 0
            while drawn < quota[k] {
                let take = min(quota[k] - drawn, group.count)
                chosen += g.sample(take, from: group.count).map { group[$0] }
                drawn += take
            }
        }
        return chosen.sorted()
    }
}
