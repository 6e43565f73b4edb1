/// Batches of a dataset for one epoch at a time: the sampler orders the sample positions, the C kernels
/// gather and augment the samples straight into each batch's tensors, every batch carries its labels, sample
/// positions and metadata. Iterating an epoch is the only way to get batches:
///
///     let loader = DataLoader(dataset: data.train, batchSize: 128, augmentation: .randomCrop(padding: 2), seed: 1)
///     for epoch in 0..<epochs {
///         var batches = try loader.epoch(epoch)
///         while let batch = try batches.next() { ... batch.inputs, batch.labels, batch.indices ... }
///     }
///
/// Everything random is a function of (seed, epoch, view, sample): the same seed gives the same order and
/// the same augmented values on any machine and thread count. Multi-view mode (contrastive methods) gives
/// each view its own augmentation and random stream over the same samples.
public struct DataLoader {
    public let dataset: Dataset
    public var batchSize: Int
    public var dropLast: Bool
    public var sampler: any Sampler
    /// One augmentation per view; a single entry for ordinary training and evaluation.
    public var views: [Augmentation]
    /// Seed of the augmentation streams (the default sampler is seeded from it too).
    public var seed: UInt64
    /// In data-parallel training, this process's part of every batch (nil: whole batches).
    public var shard: DataShard?

    public init(dataset: Dataset, batchSize: Int, sampler: (any Sampler)? = nil, dropLast: Bool = false,
                augmentation: Augmentation = .evaluation, seed: UInt64 = 0) {
        self.init(dataset: dataset, batchSize: batchSize, sampler: sampler, dropLast: dropLast, views: [augmentation], seed: seed)
    }

    public init(dataset: Dataset, batchSize: Int, sampler: (any Sampler)? = nil, dropLast: Bool = false,
                views: [Augmentation], seed: UInt64 = 0) {
        self.dataset = dataset
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.sampler = sampler ?? ShuffleSampler(seed: seed)
        self.views = views
        self.seed = seed
    }

    /// In order, no augmentation beyond the dataset's normalisation, last batch kept.
    public static func evaluation(_ dataset: Dataset, batchSize: Int,
                                  normalization: Augmentation.Normalization = .dataset) -> DataLoader {
        DataLoader(dataset: dataset, batchSize: batchSize, sampler: SequentialSampler(),
                   augmentation: Augmentation(normalization: normalization))
    }

    /// (B, sample shape) of a full batch.
    public var batchShape: [Int] { [batchSize] + views[0].outputShape(for: dataset) }

    /// The batches of `epoch` in the sampler's order; checks positions and configuration first.
    public func epoch(_ epoch: Int) throws -> EpochBatches {
        try self.epoch(epoch, order: sampler.indices(epoch: epoch, count: dataset.count))
    }

    /// The batches of `epoch` in a given order (a method that replaces the epoch's sample order at epoch start).
    public func epoch(_ epoch: Int, order: [Int]) throws -> EpochBatches {
        guard batchSize > 0 else { throw DataError(.invalidArgument, "batch size must be > 0, got \(batchSize)") }
        guard !views.isEmpty else { throw DataError(.invalidArgument, "the loader needs at least one view") }
        for view in views { try view.check(for: dataset) }
        let shape = views[0].outputShape(for: dataset)
        guard views.allSatisfy({ $0.outputShape(for: dataset) == shape }) else {
            throw DataError(.invalidArgument, "every view must produce the same sample shape, got \(views.map { $0.outputShape(for: dataset) })")
        }
        if let bad = order.first(where: { $0 < 0 || $0 >= dataset.count }) {
            throw DataError(.invalidArgument, "sampler returned position \(bad), outside 0..<\(dataset.count) of dataset \(dataset.name)")
        }
        return EpochBatches(loader: self, epoch: epoch, order: order)
    }

    /// Number of batches in an epoch whose order has `samples` positions.
    public func batchCount(samples: Int) -> Int {
        dropLast ? samples / batchSize : (samples + batchSize - 1) / batchSize
    }

    /// The seed of view `view` in epoch `epoch`.
    public func augmentationSeed(epoch: Int, view: Int) -> UInt64 {
        SeededGenerator(seed: seed).split("augment").split(UInt64(bitPattern: Int64(epoch))).split(UInt64(view)).seed
    }

    /// The batch of the samples at `indices` in epoch `epoch`: one fresh (pooled) tensor per view, written in place.
    func batch(indices: [Int], epoch: Int) throws -> Batch {
        let shape = [indices.count] + views[0].outputShape(for: dataset)
        let tensors = try views.indices.map { v in
            let x = Tensor(uninitializedShape: shape), seed = augmentationSeed(epoch: epoch, view: v)
            try views[v].fill(x.pointer, from: dataset, indices: indices, seed: seed)
            try views[v].transform(x, indices: indices, seed: seed)
            return x
        }
        return Batch(views: tensors, labels: indices.map { dataset.labels[$0] }, indices: indices,
                     metadata: dataset.metadata.mapValues { column in indices.map { column[$0] } })
    }
}

/// The batches of one epoch, in the sampler's order. `next()` throws rather than crashing: the loader checks
/// positions and augmentation settings when the epoch is made, but a registered Swift transform may still
/// refuse a batch.
public struct EpochBatches {
    public let loader: DataLoader
    public let epoch: Int
    /// The epoch's sample positions in visiting order (what the sampler returned).
    public let order: [Int]
    private var position = 0

    init(loader: DataLoader, epoch: Int, order: [Int]) {
        self.loader = loader
        self.epoch = epoch
        self.order = order
    }

    public var batchCount: Int { loader.batchCount(samples: order.count) }
    /// Samples in the whole batch the last `next()` returned (its shard's, with a shard).
    public private(set) var lastBatchTotal = 0

    /// The next batch (this process's shard of it, with a shard), or nil after the last one (a short last batch
    /// is skipped when `dropLast`).
    public mutating func next() throws -> Batch? {
        let end = Swift.min(position + loader.batchSize, order.count)
        guard position < end, !(loader.dropLast && end - position < loader.batchSize) else { return nil }
        defer { position = end }
        lastBatchTotal = end - position
        let part = try loader.shard.map { try $0.part(of: position..<end) } ?? position..<end
        return try loader.batch(indices: Array(order[part]), epoch: epoch)
    }

    /// The batches from the current position to the end, without advancing this iterator (tests and small
    /// sets; training loops take one batch at a time).
    public func collect() throws -> [Batch] {
        var rest = self, batches: [Batch] = []
        while let batch = try rest.next() { batches.append(batch) }
        return batches
    }
}
