import CTrainingLab

/// An in-memory labelled image set: uint8 pixels (count, channels, height, width) row-major, Int32 labels,
/// and the per-channel mean and std of pixel/255 used for normalisation (a training set's statistics are
/// copied onto its test and validation sets so that all are normalised alike).
///
/// Value type with copy-on-write arrays; subsets copy the selected images. `sourceIndices[i]` is the index of
/// sample i in the file it was read from, so provenance survives any chain of subsets and splits; loaders
/// hand out positions in *this* dataset (0..<count) as sample indices.
public struct ImageDataset {
    public var name: String
    public let channels: Int
    public let height: Int
    public let width: Int
    public private(set) var pixels: [UInt8]
    public private(set) var labels: [Int32]
    public let classCount: Int
    public var classNames: [String]
    public var mean: [Float]
    public var std: [Float]
    public private(set) var sourceIndices: [Int]

    /// Validates shapes and labels; mean/std default to the statistics of these pixels.
    public init(name: String, channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int32], classCount: Int,
                classNames: [String] = [], mean: [Float]? = nil, std: [Float]? = nil, sourceIndices: [Int]? = nil) throws {
        guard channels > 0, height > 0, width > 0, classCount > 0 else {
            throw DataError(.invalidArgument, "dataset \(name): channels, height, width and classCount must be > 0, got \(channels), \(height), \(width), \(classCount)")
        }
        guard pixels.count == labels.count * channels * height * width else {
            throw DataError(.shapeMismatch, "dataset \(name): \(pixels.count) pixel bytes for \(labels.count) labels, expected \(labels.count) x \(channels)x\(height)x\(width)")
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
        let stats = (mean == nil || std == nil) ? ImageDataset.channelStatistics(pixels: pixels, channels: channels, planeSize: height * width) : nil
        let m = mean ?? stats!.mean, s = std ?? stats!.std
        guard m.count == channels, s.count == channels, s.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw DataError(.invalidArgument, "dataset \(name): mean and std need \(channels) values with std > 0, got \(m) and \(s)")
        }
        self.name = name
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classCount = classCount
        self.classNames = classNames
        self.mean = m
        self.std = s
        self.sourceIndices = sourceIndices ?? Array(0..<labels.count)
    }

    public var count: Int { labels.count }
    /// Bytes (= pixels) of one sample: channels x height x width.
    public var sampleSize: Int { channels * height * width }
    /// (channels, height, width) of one sample.
    public var sampleShape: [Int] { [channels, height, width] }

    /// A copy of the pixels of sample i, (channels, height, width), indexed from 0.
    public func image(_ i: Int) -> [UInt8] { Array(pixels[(i * sampleSize)..<((i + 1) * sampleSize)]) }

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

    /// The samples at `indices` (in that order; repeats allowed), keeping classes and normalisation statistics.
    public func subset(_ indices: [Int], name: String? = nil) throws -> ImageDataset {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DataError(.invalidArgument, "dataset \(self.name): subset index \(bad) is out of range 0..<\(count)")
        }
        let size = sampleSize
        var newPixels = [UInt8](repeating: 0, count: indices.count * size)
        newPixels.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    UnsafeMutableRawPointer(dst.baseAddress! + k * size).copyMemory(from: src.baseAddress! + i * size, byteCount: size)
                }
            }
        }
        return try ImageDataset(name: name ?? self.name, channels: channels, height: height, width: width, pixels: newPixels,
                                labels: indices.map { labels[$0] }, classCount: classCount, classNames: classNames,
                                mean: mean, std: std, sourceIndices: indices.map { sourceIndices[$0] })
    }

    /// Only the samples of the classes in `keep`, relabelled 0..<keep.count in the order given
    /// (e.g. in-distribution classes for out-of-distribution experiments). Normalisation statistics are kept.
    public func keepingClasses(_ keep: [Int], name: String? = nil) throws -> ImageDataset {
        guard !keep.isEmpty, Set(keep).count == keep.count, keep.allSatisfy({ $0 >= 0 && $0 < classCount }) else {
            throw DataError(.invalidArgument, "dataset \(self.name): classes to keep must be distinct values in 0..<\(classCount), got \(keep)")
        }
        var newLabel = [Int32](repeating: -1, count: classCount)
        for (k, c) in keep.enumerated() { newLabel[c] = Int32(k) }
        let indices = labels.indices.filter { newLabel[Int(labels[$0])] >= 0 }
        let kept = try subset(indices)
        return try ImageDataset(name: name ?? self.name, channels: channels, height: height, width: width, pixels: kept.pixels,
                                labels: kept.labels.map { newLabel[Int($0)] }, classCount: keep.count,
                                classNames: classNames.isEmpty ? [] : keep.map { classNames[$0] },
                                mean: mean, std: std, sourceIndices: kept.sourceIndices)
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
