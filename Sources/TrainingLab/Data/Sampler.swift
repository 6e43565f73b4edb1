/// Decides which samples an epoch visits and in what order. The loader asks once per epoch; the list may be
/// shorter than the dataset (InfoBatch's pruned epochs) or repeat indices (resampling). Implementations that
/// keep state between epochs (scores, weights) are classes.
public protocol Sampler {
    /// The ordered sample positions (0..<count) of `epoch` for a dataset of `count` samples.
    func indices(epoch: Int, count: Int) -> [Int]
}

/// The default: a fresh seeded permutation every epoch, a function of (seed, epoch) only.
public struct ShuffleSampler: Sampler {
    public var seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    public func indices(epoch: Int, count: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed).split("shuffle").split(UInt64(bitPattern: Int64(epoch)))
        return generator.permutation(count)
    }
}

/// 0, 1, ..., count-1 every epoch (evaluation).
public struct SequentialSampler: Sampler {
    public init() {}

    public func indices(epoch: Int, count: Int) -> [Int] { Array(0..<count) }
}

/// The same given list every epoch, optionally reshuffled per epoch (e.g. a fixed subset of positions).
public struct SubsetSampler: Sampler {
    public var subset: [Int]
    public var shuffleSeed: UInt64?

    public init(_ subset: [Int], shuffleSeed: UInt64? = nil) {
        self.subset = subset
        self.shuffleSeed = shuffleSeed
    }

    public func indices(epoch: Int, count: Int) -> [Int] {
        guard let shuffleSeed else { return subset }
        var generator = SeededGenerator(seed: shuffleSeed).split("subset-shuffle").split(UInt64(bitPattern: Int64(epoch)))
        var order = subset
        generator.shuffle(&order)
        return order
    }
}

/// Exactly `steps` batches of `batchSize` positions per epoch: successive seeded permutations of the dataset
/// concatenated and cut (a federated client's K local steps, which may end inside a pass or span several).
/// A function of (seed, epoch) only.
public struct StepBudgetSampler: Sampler {
    public var steps: Int
    public var batchSize: Int
    public var seed: UInt64

    public init(steps: Int, batchSize: Int, seed: UInt64) {
        self.steps = steps
        self.batchSize = batchSize
        self.seed = seed
    }

    public func indices(epoch: Int, count: Int) -> [Int] {
        guard count > 0 else { return [] }
        let wanted = steps * batchSize
        let epochStream = SeededGenerator(seed: seed).split("step-budget").split(UInt64(bitPattern: Int64(epoch)))
        var order: [Int] = []
        order.reserveCapacity(wanted)
        var pass: UInt64 = 0
        while order.count < wanted {
            var generator = epochStream.split(pass)
            order += generator.permutation(count).prefix(wanted - order.count)
            pass += 1
        }
        return order
    }
}
