import CTrainingLab

/// An in-memory labelled sample set that the loader batches: a store of samples of one shape, Int32
/// labels, per-sample metadata columns, and per-channel normalisation statistics.
///
/// The store is either uint8 images (channels, height, width), the files' pixels, scaled to [0, 1] and
/// normalised with `mean`/`std` on their way into a batch; or float samples of any shape (synthetic images a
/// method learns, event frames (T, 2, H, W), precomputed features (D)), which the loader hands out as stored
/// unless normalisation is asked for. "Channels" are the first axis of the sample shape.
///
/// Value type with copy-on-write arrays; subsets copy the selected samples. `sourceIndices[i]` is the index of
/// sample i in the file it was read from, so provenance survives any chain of subsets and splits, and so do the
/// metadata columns; loaders hand out positions in *this* dataset (0..<count) as sample indices.
public struct Dataset {
    /// The samples, row-major, `count x sampleShape` values.
    public enum Store {
        case bytes([UInt8])
        case floats([Float])
    }

    public var name: String
    /// The shape of one sample: (channels, height, width) for images.
    public let sampleShape: [Int]
    public private(set) var store: Store
    public private(set) var labels: [Int32]
    public let classCount: Int
    public var classNames: [String]
    /// Per-channel mean and std of the values (of pixel/255 for uint8 images), used by `.dataset`
    /// normalisation; empty for a float store created without statistics, which is then used as stored.
    public var mean: [Float]
    public var std: [Float]
    public private(set) var sourceIndices: [Int]
    /// Named integer columns, one value per sample (see `MetadataColumn` for the shared names).
    public private(set) var metadata: [String: [Int]]

    /// A uint8 image set; validates shapes and labels; mean/std default to the statistics of these pixels.
    public init(name: String, channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int32], classCount: Int,
                classNames: [String] = [], mean: [Float]? = nil, std: [Float]? = nil, sourceIndices: [Int]? = nil,
                metadata: [String: [Int]] = [:]) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw DataError(.invalidArgument, "dataset \(name): channels, height and width must be > 0, got \(channels), \(height), \(width)")
        }
        let statistics = (mean == nil || std == nil) && pixels.count == labels.count * channels * height * width
            ? Dataset.channelStatistics(pixels: pixels, channels: channels, planeSize: height * width) : nil
        try self.init(name: name, sampleShape: [channels, height, width], store: .bytes(pixels), labels: labels,
                      classCount: classCount, classNames: classNames, mean: mean ?? statistics?.mean ?? [],
                      std: std ?? statistics?.std ?? [], sourceIndices: sourceIndices, metadata: metadata)
    }

    /// A float sample set of any sample shape; `mean`/`std` (per first-axis channel) only if `.dataset`
    /// normalisation should standardise it.
    public init(name: String, sampleShape: [Int], values: [Float], labels: [Int32], classCount: Int, classNames: [String] = [],
                mean: [Float] = [], std: [Float] = [], sourceIndices: [Int]? = nil, metadata: [String: [Int]] = [:]) throws {
        try self.init(name: name, sampleShape: sampleShape, store: .floats(values), labels: labels, classCount: classCount,
                      classNames: classNames, mean: mean, std: std, sourceIndices: sourceIndices, metadata: metadata)
    }

    /// Every initialiser ends here: the one place shapes, labels, statistics and columns are checked.
    private init(name: String, sampleShape: [Int], store: Store, labels: [Int32], classCount: Int, classNames: [String],
                 mean: [Float], std: [Float], sourceIndices: [Int]?, metadata: [String: [Int]]) throws {
        guard !sampleShape.isEmpty, sampleShape.allSatisfy({ $0 > 0 }), classCount > 0 else {
            throw DataError(.invalidArgument, "dataset \(name): sample shape \(sampleShape) needs positive sizes and classCount > 0, got \(classCount)")
        }
        let size = sampleShape.reduce(1, *)
        let (stored, unit): (Int, String)
        switch store {
        case .bytes(let pixels): (stored, unit) = (pixels.count, "pixel bytes")
        case .floats(let values): (stored, unit) = (values.count, "float values")
        }
        guard stored == labels.count * size else {
            throw DataError(.shapeMismatch, "dataset \(name): \(stored) \(unit) for \(labels.count) labels, expected \(labels.count) x \(sampleShape.map(String.init).joined(separator: "x"))")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
            throw DataError(.labelOutOfRange, "dataset \(name): label \(labels[bad]) of sample \(bad) is out of range, expected 0..<\(classCount)")
        }
        guard classNames.isEmpty || classNames.count == classCount else {
            throw DataError(.invalidArgument, "dataset \(name): \(classNames.count) class names for \(classCount) classes")
        }
        if let sourceIndices, sourceIndices.count != labels.count {
            throw DataError(.shapeMismatch, "dataset \(name): \(sourceIndices.count) source indices for \(labels.count) samples")
        }
        let channels = sampleShape[0]
        let needsStatistics: Bool
        if case .bytes = store { needsStatistics = true } else { needsStatistics = !mean.isEmpty || !std.isEmpty }
        if needsStatistics {
            guard mean.count == channels, std.count == channels, std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw DataError(.invalidArgument, "dataset \(name): mean and std need \(channels) values with std > 0, got \(mean) and \(std)")
            }
        }
        for (column, values) in metadata where values.count != labels.count {
            throw DataError(.shapeMismatch, "dataset \(name): metadata column '\(column)' has \(values.count) values for \(labels.count) samples")
        }
        self.name = name
        self.sampleShape = sampleShape
        self.store = store
        self.labels = labels
        self.classCount = classCount
        self.classNames = classNames
        self.mean = mean
        self.std = std
        self.sourceIndices = sourceIndices ?? Array(0..<labels.count)
        self.metadata = metadata
    }

    public var count: Int { labels.count }
    /// Values of one sample: the product of `sampleShape`.
    public var sampleSize: Int { sampleShape.reduce(1, *) }
    /// (channels, height, width) when samples are images (rank 3), else nil.
    public var imageShape: (channels: Int, height: Int, width: Int)? {
        sampleShape.count == 3 ? (sampleShape[0], sampleShape[1], sampleShape[2]) : nil
    }
    /// True for uint8 pixels, false for float samples.
    public var storesBytes: Bool {
        if case .bytes = store { return true }
        return false
    }

    /// A copy of the pixels of image i, (channels, height, width); nil for a float store.
    public func image(_ i: Int) -> [UInt8]? {
        guard case .bytes(let pixels) = store else { return nil }
        return Array(pixels[(i * sampleSize)..<((i + 1) * sampleSize)])
    }

    /// A copy of sample i as floats exactly as stored (uint8 pixels converted, not scaled).
    public func sample(_ i: Int) -> [Float] {
        let range = (i * sampleSize)..<((i + 1) * sampleSize)
        switch store {
        case .bytes(let pixels): return pixels[range].map(Float.init)
        case .floats(let values): return Array(values[range])
        }
    }

    /// Replaces the float samples (a method writing back the synthetic images it learned); the shape and
    /// count stay. A uint8 store cannot be overwritten with floats.
    public mutating func replaceValues(_ values: [Float]) throws {
        guard case .floats = store else {
            throw DataError(.invalidArgument, "dataset \(name): replaceValues needs a float store, this one holds uint8 images")
        }
        guard values.count == count * sampleSize else {
            throw DataError(.shapeMismatch, "dataset \(name): replaceValues got \(values.count) values, expected \(count) x \(sampleSize)")
        }
        store = .floats(values)
    }

    /// Sets (or replaces) the metadata column `column`, one value per sample.
    public mutating func setMetadata(_ column: String, to values: [Int]) throws {
        guard values.count == count else {
            throw DataError(.shapeMismatch, "dataset \(name): metadata column '\(column)' needs \(count) values, got \(values.count)")
        }
        metadata[column] = values
    }

    /// The values of metadata column `column`; a missing column is an error listing those present.
    public func metadataColumn(_ column: String) throws -> [Int] {
        guard let values = metadata[column] else {
            let present = metadata.keys.sorted()
            throw DataError(.invalidArgument, "dataset \(name) has no metadata column '\(column)'; it has: \(present.isEmpty ? "none" : present.joined(separator: ", "))")
        }
        return values
    }

    /// Number of samples of each class.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// Positions of the samples of each class, ascending.
    public func indicesByClass() -> [[Int]] {
        var groups = [[Int]](repeating: [], count: classCount)
        for (i, label) in labels.enumerated() { groups[Int(label)].append(i) }
        return groups
    }

    /// The samples at `indices` (in that order; repeats allowed), keeping classes, normalisation statistics,
    /// provenance and metadata.
    public func subset(_ indices: [Int], name: String? = nil) throws -> Dataset {
        try subset(indices, name: name, classCount: classCount, classNames: classNames) { $0 }
    }

    /// `subset` with the labels mapped by `relabel` into `classCount` classes (keepingClasses).
    private func subset(_ indices: [Int], name: String?, classCount: Int, classNames: [String],
                        relabel: (Int32) -> Int32) throws -> Dataset {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DataError(.invalidArgument, "dataset \(self.name): subset index \(bad) is out of range 0..<\(count)")
        }
        let picked: Store
        switch store {
        case .bytes(let pixels): picked = .bytes(Dataset.gatherRows(pixels, indices, rowSize: sampleSize))
        case .floats(let values): picked = .floats(Dataset.gatherRows(values, indices, rowSize: sampleSize))
        }
        return try Dataset(name: name ?? self.name, sampleShape: sampleShape, store: picked,
                           labels: indices.map { relabel(labels[$0]) }, classCount: classCount, classNames: classNames,
                           mean: mean, std: std, sourceIndices: indices.map { sourceIndices[$0] },
                           metadata: metadata.mapValues { column in indices.map { column[$0] } })
    }

    /// Rows `indices` of a row-major array of `rowSize`-element rows.
    private static func gatherRows<T>(_ rows: [T], _ indices: [Int], rowSize: Int) -> [T] {
        var out: [T] = []
        out.reserveCapacity(indices.count * rowSize)
        for i in indices { out += rows[(i * rowSize)..<((i + 1) * rowSize)] }
        return out
    }

    /// Only the samples of the classes in `keep`, relabelled 0..<keep.count in the order given
    /// (e.g. in-distribution classes for out-of-distribution experiments). Normalisation statistics are kept.
    public func keepingClasses(_ keep: [Int], name: String? = nil) throws -> Dataset {
        guard !keep.isEmpty, Set(keep).count == keep.count, keep.allSatisfy({ $0 >= 0 && $0 < classCount }) else {
            throw DataError(.invalidArgument, "dataset \(self.name): classes to keep must be distinct values in 0..<\(classCount), got \(keep)")
        }
        var newLabel = [Int32](repeating: -1, count: classCount)
        for (k, c) in keep.enumerated() { newLabel[c] = Int32(k) }
        let indices = labels.indices.filter { newLabel[Int(labels[$0])] >= 0 }
        return try subset(indices, name: name, classCount: keep.count,
                          classNames: classNames.isEmpty ? [] : keep.map { classNames[$0] }) { newLabel[Int($0)] }
    }

    /// Per-channel mean and population std of pixel/255 over (count, channels, planeSize) bytes; exact, from
    /// byte histograms accumulated in Double. A constant channel gets std 1 so normalisation stays finite.
    public static func channelStatistics(pixels: [UInt8], channels: Int, planeSize: Int) -> (mean: [Float], std: [Float]) {
        precondition(channels > 0 && planeSize > 0)
        var histograms = [Int64](repeating: 0, count: 256 * channels)
        let status = tl_augment_channel_histogram(&histograms, pixels, pixels.count / (channels * planeSize), channels, planeSize)
        precondition(status == 0, String(cString: tl_last_error()))
        return statistics((0..<channels).map { Array(histograms[($0 * 256)..<(($0 + 1) * 256)]) })
    }

    static func statistics(_ histograms: [[Int64]]) -> (mean: [Float], std: [Float]) {
        var means: [Float] = [], stds: [Float] = []
        for h in histograms {
            let n = Double(h.reduce(0, +))
            guard n > 0 else { means.append(0); stds.append(1); continue }
            var s = 0.0, ss = 0.0
            for (v, k) in h.enumerated() {
                let x = Double(v) / 255.0
                s += Double(k) * x
                ss += Double(k) * x * x
            }
            let mean = s / n
            let variance = max(0, ss / n - mean * mean)
            means.append(Float(mean))
            stds.append(variance > 0 ? Float(variance.squareRoot()) : 1)
        }
        return (means, stds)
    }
}

/// Names of the metadata columns that core and methods share (a column may have any name).
public enum MetadataColumn {
    /// Subgroup id within a class (FlowAug's background colour), for per-group accuracy and MacroStd.
    public static let subgroup = "subgroup"
    /// The client a sample belongs to, when the training set is partitioned across clients.
    public static let client = "client"
    /// 1 for an out-of-distribution sample, 0 for an in-distribution one.
    public static let outOfDistribution = "ood"
}
