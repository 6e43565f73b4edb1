import CTrainingLab

/// What the loader does to each sample on its way from the store to a float batch. The C kernels of
/// include/tl_augment.h run the built-in part in one fused pass (gather, uint8 scaling to [0, 1], geometry,
/// flip, normalisation) straight into the batch tensor; then the `transforms` that plugins register run on
/// the batch in place, in order. Randomness is keyed by (seed, sample index): a sample's transform does not
/// depend on its batch or position.
///
/// Float stores (synthetic images, event frames, features) take crop and flip only when their samples are
/// (C, H, W); the resized crop needs uint8 images. Anything else is an error naming the dataset.
public struct Augmentation: Equatable, Sendable {
    public enum Geometry: Equatable, Sendable {
        /// The sample as stored.
        case none
        /// torchvision RandomCrop(H, padding: p): zero-pad p pixels on every side, take a random HxW window.
        case crop(padding: Int)
        /// torchvision RandomResizedCrop(size, scale, ratio): a random area fraction and aspect ratio, resized
        /// bilinearly to height x width (nil: the stored size). uint8 images only.
        case resizedCrop(scale: ClosedRange<Float>, ratio: ClosedRange<Float>, height: Int? = nil, width: Int? = nil)
    }

    public enum Normalization: Equatable, Sendable {
        /// uint8 pixels / 255 only, values in [0, 1]; float samples as stored.
        case none
        /// (value - mean) / std with the dataset's per-channel statistics (uint8: value = pixel / 255); a float
        /// store without statistics is used as stored.
        case dataset
        /// (value - mean) / std with given per-channel values.
        case custom(mean: [Float], std: [Float])
    }

    public var geometry: Geometry
    public var flipProbability: Float
    public var normalization: Normalization
    /// Registered Swift augmentations applied after the built-in pass, in order.
    public var transforms: [BatchTransform]

    public init(geometry: Geometry = .none, flipProbability: Float = 0, normalization: Normalization = .dataset,
                transforms: [BatchTransform] = []) {
        self.geometry = geometry
        self.flipProbability = flipProbability
        self.normalization = normalization
        self.transforms = transforms
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

    /// The shape of one output sample for samples of `dataset`: the stored shape, or (C, height, width) of a resized crop.
    public func outputShape(for dataset: Dataset) -> [Int] {
        if case let .resizedCrop(_, _, h, w) = geometry, let image = dataset.imageShape {
            return [image.channels, h ?? image.height, w ?? image.width]
        }
        return dataset.sampleShape
    }

    /// Throws unless this augmentation can run on `dataset`: geometry and flips need (C, H, W) samples, the
    /// resized crop uint8 images, custom statistics one value per channel. The loader checks every view
    /// before an epoch starts.
    public func check(for dataset: Dataset) throws {
        let spatial = geometry != .none || flipProbability > 0
        if spatial && dataset.imageShape == nil {
            throw DataError(.invalidArgument, "dataset \(dataset.name): \(summary) needs samples of shape (C, H, W), these are \(dataset.sampleShape)")
        }
        if case .resizedCrop = geometry, !dataset.storesBytes {
            throw DataError(.invalidArgument, "dataset \(dataset.name): \(summary) needs uint8 images, this dataset stores floats")
        }
        if case let .custom(m, s) = normalization, m.count != dataset.sampleShape[0] || s.count != dataset.sampleShape[0] {
            throw DataError(.invalidArgument, "dataset \(dataset.name): normalisation needs \(dataset.sampleShape[0]) means and stds, got \(m.count) and \(s.count)")
        }
    }

    /// What the built-in part does, for error messages.
    var summary: String {
        switch geometry {
        case .none: return flipProbability > 0 ? "the horizontal flip" : "the identity augmentation"
        case .crop(let padding): return "the random crop (padding \(padding))"
        case .resizedCrop: return "the random resized crop"
        }
    }

    /// Writes the built-in augmentation of the samples at `indices` (positions in `dataset`) into `output`,
    /// which must hold indices.count x outputShape floats, row-major: the batch tensor's buffer, so no
    /// intermediate arrays. `seed` selects the random transforms (the loader derives one per epoch and view).
    func fill(_ output: UnsafeMutablePointer<Float>, from dataset: Dataset, indices: [Int], seed: UInt64) throws {
        try check(for: dataset)
        let (mean, std): ([Float]?, [Float]?)
        switch normalization {
        case .none: (mean, std) = (nil, nil)
        case .dataset: (mean, std) = dataset.mean.isEmpty ? (nil, nil) : (dataset.mean, dataset.std)
        case let .custom(m, s): (mean, std) = (m, s)
        }
        let index64 = indices.map(Int64.init)
        var padding = 0
        if case let .crop(p) = geometry { padding = p }
        // Samples without spatial transforms pass as (channels, 1, rest), so any shape normalises per channel.
        let (c, h, w) = dataset.imageShape ?? (dataset.sampleShape[0], 1, dataset.sampleSize / dataset.sampleShape[0])
        let status: Int32 = withOptionalPointer(mean) { meanPointer in
            withOptionalPointer(std) { stdPointer in
                switch (dataset.store, geometry) {
                case let (.bytes(pixels), .resizedCrop(scale, ratio, oh, ow)):
                    return tl_augment_resized_crop(output, pixels, index64, meanPointer, stdPointer, dataset.count,
                                                   indices.count, c, h, w, oh ?? h, ow ?? w, scale.lowerBound, scale.upperBound,
                                                   ratio.lowerBound, ratio.upperBound, flipProbability, seed, 0)
                case let (.bytes(pixels), _):
                    return tl_augment_crop_flip(output, pixels, index64, meanPointer, stdPointer, dataset.count,
                                                indices.count, c, h, w, padding, flipProbability, seed, 0)
                case let (.floats(values), _):
                    return tl_augment_crop_flip_f32(output, values, index64, meanPointer, stdPointer, dataset.count,
                                                    indices.count, c, h, w, padding, flipProbability, seed, 0)
                }
            }
        }
        if status != 0 { throw DataError(.invalidArgument, "dataset \(dataset.name): \(String(cString: tl_last_error()))") }
    }

    /// Runs the registered `transforms` on a filled batch (B, output shape) in place.
    func transform(_ batch: Tensor, indices: [Int], seed: UInt64) throws {
        for transform in transforms {
            try transform.apply(batch, BatchTransform.Seeds(seed: seed, transform: transform.name, indices: indices))
        }
    }
}

private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
