import CTrainingLab

/// What the loader does to each image on its way from the uint8 store to a float batch, run by the C kernels
/// of include/tl_augment.h in one fused pass (gather, scale to [0, 1], geometry, flip, normalisation).
/// Randomness is keyed by (seed, sample index): a sample's transform does not depend on its batch or position.
public struct Augmentation: Equatable, Sendable {
    public enum Geometry: Equatable, Sendable {
        /// The image as stored.
        case none
        /// torchvision RandomCrop(H, padding: p): zero-pad p pixels on every side, take a random HxW window.
        case crop(padding: Int)
        /// torchvision RandomResizedCrop(size, scale, ratio): a random area fraction and aspect ratio, resized
        /// bilinearly to height x width (nil: the stored size).
        case resizedCrop(scale: ClosedRange<Float>, ratio: ClosedRange<Float>, height: Int? = nil, width: Int? = nil)
    }

    public enum Normalization: Equatable, Sendable {
        /// pixel / 255 only, values in [0, 1].
        case none
        /// (pixel / 255 - mean) / std with the dataset's per-channel statistics.
        case dataset
        /// (pixel / 255 - mean) / std with given per-channel values.
        case custom(mean: [Float], std: [Float])
    }

    public var geometry: Geometry
    public var flipProbability: Float
    public var normalization: Normalization

    public init(geometry: Geometry = .none, flipProbability: Float = 0, normalization: Normalization = .dataset) {
        self.geometry = geometry
        self.flipProbability = flipProbability
        self.normalization = normalization
    }

    /// Evaluation: no randomness, dataset normalisation.
    public static let evaluation = Augmentation()

    /// Random crop with zero padding plus (by default) a horizontal flip with probability 0.5.
    public static func randomCrop(padding: Int, flip: Bool = true, normalization: Normalization = .dataset) -> Augmentation {
        Augmentation(geometry: .crop(padding: padding), flipProbability: flip ? 0.5 : 0, normalization: normalization)
    }

    /// A contrastive view: random resized crop (torchvision defaults scale 0.08-1, ratio 3/4-4/3) plus flip 0.5.
    public static func randomResizedCrop(scale: ClosedRange<Float> = 0.08...1, ratio: ClosedRange<Float> = 0.75...(4.0 / 3.0),
                                         height: Int? = nil, width: Int? = nil, flip: Bool = true,
                                         normalization: Normalization = .dataset) -> Augmentation {
        Augmentation(geometry: .resizedCrop(scale: scale, ratio: ratio, height: height, width: width),
                     flipProbability: flip ? 0.5 : 0, normalization: normalization)
    }

    /// (channels, height, width) of the output for images of `dataset`.
    public func outputShape(for dataset: ImageDataset) -> [Int] {
        if case let .resizedCrop(_, _, h, w) = geometry { return [dataset.channels, h ?? dataset.height, w ?? dataset.width] }
        return dataset.sampleShape
    }

    /// Writes the augmented images of `indices` (positions in `dataset`) into `output`, which must hold
    /// indices.count x outputShape floats, (B, C, H, W) row-major. `seed` and `counter` select the random
    /// transforms (the loader derives a seed per epoch and view).
    public func apply(to dataset: ImageDataset, indices: [Int], into output: UnsafeMutablePointer<Float>,
                      seed: UInt64, counter: UInt64 = 0) throws {
        let (mean, std): ([Float]?, [Float]?)
        switch normalization {
        case .none: (mean, std) = (nil, nil)
        case .dataset: (mean, std) = (dataset.mean, dataset.std)
        case let .custom(m, s):
            guard m.count == dataset.channels, s.count == dataset.channels else {
                throw DataError(.invalidArgument, "normalisation needs \(dataset.channels) means and stds, got \(m.count) and \(s.count)")
            }
            (mean, std) = (m, s)
        }
        let index64 = indices.map(Int64.init)
        let status: Int32 = dataset.pixels.withUnsafeBufferPointer { store in
            withOptionalPointer(mean) { meanPointer in
                withOptionalPointer(std) { stdPointer in
                    switch geometry {
                    case .none, .crop:
                        var padding = 0
                        if case let .crop(p) = geometry { padding = p }
                        return tl_augment_crop_flip(output, store.baseAddress, index64, meanPointer, stdPointer, dataset.count,
                                                    indices.count, dataset.channels, dataset.height, dataset.width, padding,
                                                    flipProbability, seed, counter)
                    case let .resizedCrop(scale, ratio, h, w):
                        return tl_augment_resized_crop(output, store.baseAddress, index64, meanPointer, stdPointer, dataset.count,
                                                       indices.count, dataset.channels, dataset.height, dataset.width,
                                                       h ?? dataset.height, w ?? dataset.width, scale.lowerBound, scale.upperBound,
                                                       ratio.lowerBound, ratio.upperBound, flipProbability, seed, counter)
                    }
                }
            }
        }
        if status != 0 { throw DataError(.invalidArgument, String(cString: tl_last_error())) }
    }

    /// The augmented images of `indices` as a new array, (B, C, H, W).
    public func apply(to dataset: ImageDataset, indices: [Int], seed: UInt64, counter: UInt64 = 0) throws -> [Float] {
        let size = indices.count * outputShape(for: dataset).reduce(1, *)
        var out = [Float](repeating: 0, count: size)
        try out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try apply(to: dataset, indices: indices, into: base, seed: seed, counter: counter)
        }
        return out
    }
}

private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
