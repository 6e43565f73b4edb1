/// Partitions of a training set across federated clients, as lists of sample positions per client (ascending).
/// All draws are seeded; build client datasets with `Dataset.subset`. For long-tailed federated data
/// (FedLoGe) split a `longTailed` set with `dirichletLabelSkew`.
public enum FederatedSplit {
    /// Label skew by class (Hsu et al. 2019; FedLoGe's protocol): for each class, proportions over the clients
    /// are drawn from Dirichlet(alpha, ..., alpha) and the class's shuffled samples are cut at the cumulative
    /// proportions (numpy's split at floor(cumsum * n)). Every sample goes to exactly one client. Small alpha
    /// leaves clients empty; the whole partition is redrawn up to `attempts` times until every client holds at
    /// least `minimumSize` samples, after which the remaining shortfalls are filled by moving samples from the
    /// largest client (so with many clients and tiny alpha some clients hold only `minimumSize` samples).
    public static func dirichletLabelSkew(labels: [Int32], classCount: Int, clients: Int, alpha: Double, seed: UInt64,
                                          minimumSize: Int = 1, attempts: Int = 100) throws -> [[Int]] {
        try check(clients: clients, alpha: alpha, classCount: classCount)
        guard minimumSize >= 0, labels.count >= clients * minimumSize else {
            throw DataError(.invalidArgument, "\(labels.count) samples cannot give \(clients) clients at least \(minimumSize) each")
        }
        var byClass = [[Int]](repeating: [], count: classCount)
        for (i, label) in labels.enumerated() {
            guard label >= 0, Int(label) < classCount else {
                throw DataError(.labelOutOfRange, "label \(label) of sample \(i) is out of range, expected 0..<\(classCount)")
            }
            byClass[Int(label)].append(i)
        }
        var generator = SeededGenerator(seed: seed).split("dirichlet-label-skew")
        var parts: [[Int]] = []
        for _ in 0..<max(1, attempts) {
            parts = [[Int]](repeating: [], count: clients)
            for group in byClass where !group.isEmpty {
                var shuffled = group
                generator.shuffle(&shuffled)
                let proportions = generator.dirichlet([Double](repeating: alpha, count: clients))
                var cumulative = 0.0, start = 0
                for j in 0..<clients {
                    cumulative += proportions[j]
                    let end = j == clients - 1 ? shuffled.count : min(shuffled.count, Int(cumulative * Double(shuffled.count)))
                    if end > start { parts[j] += shuffled[start..<end] }
                    start = max(start, end)
                }
            }
            if parts.allSatisfy({ $0.count >= minimumSize }) { break }
        }
        for j in 0..<clients {
            while parts[j].count < minimumSize {
                let donor = parts.indices.max { (parts[$0].count, -$0) < (parts[$1].count, -$1) }!
                parts[j].append(parts[donor].removeLast())
            }
        }
        return parts.map { $0.sorted() }
    }

    /// Label skew by client (FedSWA's `data_from_dirichlet`): each client draws class proportions from
    /// Dirichlet(alpha, ..., alpha) over the classes present, then `samplesPerClient` labels from them; each
    /// label takes the next sample of that class's shuffled pool, reshuffled and restarted when it runs out. So
    /// every client holds exactly `samplesPerClient` samples; a sample may go to several clients (or to one
    /// client twice) and some to none.
    public static func dirichletClientSampling(labels: [Int32], classCount: Int, clients: Int, samplesPerClient: Int,
                                               alpha: Double, seed: UInt64) throws -> [[Int]] {
        try check(clients: clients, alpha: alpha, classCount: classCount)
        guard samplesPerClient > 0 else {
            throw DataError(.invalidArgument, "samples per client must be > 0, got \(samplesPerClient)")
        }
        var pools = [[Int]](repeating: [], count: classCount)
        for (i, label) in labels.enumerated() {
            guard label >= 0, Int(label) < classCount else {
                throw DataError(.labelOutOfRange, "label \(label) of sample \(i) is out of range, expected 0..<\(classCount)")
            }
            pools[Int(label)].append(i)
        }
        let present = pools.indices.filter { !pools[$0].isEmpty }
        guard !present.isEmpty else { throw DataError(.invalidArgument, "no samples to split across clients") }
        var generator = SeededGenerator(seed: seed).split("dirichlet-client-sampling")
        for c in present { generator.shuffle(&pools[c]) }
        var next = [Int](repeating: 0, count: classCount)
        var parts: [[Int]] = []
        for _ in 0..<clients {
            let proportions = generator.dirichlet([Double](repeating: alpha, count: present.count))
            var part: [Int] = []
            part.reserveCapacity(samplesPerClient)
            for _ in 0..<samplesPerClient {
                let c = present[generator.categorical(proportions)]
                if next[c] == pools[c].count {
                    generator.shuffle(&pools[c])
                    next[c] = 0
                }
                part.append(pools[c][next[c]])
                next[c] += 1
            }
            parts.append(part.sorted())
        }
        return parts
    }

    /// Number of samples of each class held by each client: (clients, classes).
    public static func classHistograms(_ parts: [[Int]], labels: [Int32], classCount: Int) -> [[Int]] {
        parts.map { part in
            var h = [Int](repeating: 0, count: classCount)
            for i in part { h[Int(labels[i])] += 1 }
            return h
        }
    }

    /// Per-client local test sets (FedLoGe's protocol): for each client, `size` positions of the test set whose
    /// class counts are the client's training proportions times `size`, rounded to the nearest integer, drawn
    /// without replacement within a class (all of a class when it has fewer). Sets of different clients may overlap.
    public static func proportionalTestSets(testLabels: [Int32], classCount: Int, histograms: [[Int]], size: Int,
                                            seed: UInt64) throws -> [[Int]] {
        guard size > 0 else { throw DataError(.invalidArgument, "local test set size must be > 0, got \(size)") }
        var byClass = [[Int]](repeating: [], count: classCount)
        for (i, label) in testLabels.enumerated() {
            guard label >= 0, Int(label) < classCount else {
                throw DataError(.labelOutOfRange, "test label \(label) of sample \(i) is out of range, expected 0..<\(classCount)")
            }
            byClass[Int(label)].append(i)
        }
        let root = SeededGenerator(seed: seed).split("proportional-test-sets")
        return histograms.enumerated().map { k, histogram in
            let total = Double(histogram.reduce(0, +))
            var generator = root.split(UInt64(k))
            var part: [Int] = []
            for (c, count) in histogram.enumerated() where count > 0 {
                let wanted = min(Int((Double(size) * Double(count) / total).rounded()), byClass[c].count)
                part += generator.sample(wanted, from: byClass[c].count).map { byClass[c][$0] }
            }
            return part.sorted()
        }
    }

    private static func check(clients: Int, alpha: Double, classCount: Int) throws {
        guard clients > 0 else { throw DataError(.invalidArgument, "number of clients must be > 0, got \(clients)") }
        guard alpha > 0, alpha.isFinite else { throw DataError(.invalidArgument, "Dirichlet alpha must be finite and > 0, got \(alpha)") }
        guard classCount > 0 else { throw DataError(.invalidArgument, "class count must be > 0, got \(classCount)") }
    }
}

extension Dataset {
    /// One dataset per client of a partition (positions in this dataset), named "<name>-client<k>".
    public func clientDatasets(_ parts: [[Int]]) throws -> [Dataset] {
        try parts.enumerated().map { k, part in try subset(part, name: "\(name)-client\(k)") }
    }
}
