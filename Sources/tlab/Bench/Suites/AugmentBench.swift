import TrainingLab

/// Batch augmentation from a uint8 store of 10000 images gathered at random indices: the fused C kernel
/// against a plain Swift loop doing the same gather, crop, flip and normalisation. `.bytes` counts the
/// gathered uint8 reads and the float writes.
extension BenchSuites {
    static var augment: [BenchCase] {
        [
            cropFlipCase(batch: 128, channels: 3, side: 32, pad: 4),
            cropFlipCase(batch: 128, channels: 1, side: 28, pad: 2),
            resizedCropCase(batch: 256, channels: 1, side: 28),
            loaderCase(batch: 128),
        ]
    }

    /// The whole Swift loader path per batch (epoch iterator: sampler slice, kernel into a pooled tensor, label and metadata gather) over a
    /// synthetic 60000-image 1x28x28 store, Fashion-MNIST-sized.
    private static func loaderCase(batch: Int) -> BenchCase {
        BenchCase(name: "loader_batch_crop_flip", shape: "\(batch)x1x28x28 of 60000 pad 2", work: .images(Double(batch))) {
            let n = 60_000, size = 28 * 28
            let noise = BenchBuffer(count: n * size, seed: 5, low: 0, high: 255.99)
            let pixels = (0..<(n * size)).map { UInt8(noise.pointer[$0]) }
            let dataset = try Dataset(name: "synthetic", channels: 1, height: 28, width: 28, pixels: pixels,
                                      labels: (0..<n).map { Int32($0 % 10) }, classCount: 10)
            let loader = DataLoader(dataset: dataset, batchSize: batch, dropLast: true, augmentation: .randomCrop(padding: 2), seed: 1)
            var epoch = 0
            var batches = try loader.epoch(epoch)
            return BenchBodies(body: {
                if try batches.next() == nil {
                    epoch += 1
                    batches = try loader.epoch(epoch)
                    _ = try batches.next()
                }
            })
        }
    }

    private static let storeImages = 10_000

    private static func store(_ channels: Int, _ side: Int) -> (images: [UInt8], indices: [Int64]) {
        let n = storeImages * channels * side * side
        let noise = BenchBuffer(count: n, seed: 3, low: 0, high: 255.99)
        let images = (0..<n).map { UInt8(noise.pointer[$0]) }
        let picks = BenchBuffer(count: 256, seed: 4, low: 0, high: Float(storeImages) - 0.01)
        return (images, (0..<256).map { Int64(picks.pointer[$0]) })
    }

    private static func cropFlipCase(batch: Int, channels: Int, side: Int, pad: Int) -> BenchCase {
        let plane = channels * side * side
        return BenchCase(name: "augment_crop_flip_norm", shape: "\(batch)x\(channels)x\(side)x\(side) pad \(pad)",
                         work: .bytes(Double(batch * plane * (1 + 4)))) {
            let (images, allIndices) = store(channels, side)
            let indices = Array(allIndices.prefix(batch))
            let out = BenchBuffer(count: batch * plane)
            let mean = [Float](repeating: 0.45, count: channels), std = [Float](repeating: 0.25, count: channels)
            var epoch: UInt64 = 0
            return BenchBodies(body: {
                epoch &+= 1
                try tlCheck(tl_augment_crop_flip(out.pointer, images, indices, mean, std, storeImages, batch, channels, side, side,
                                                 pad, 0.5, epoch, 0))
            }, reference: {
                epoch &+= 1
                plainCropFlip(out.pointer, images, indices, mean, std, channels, side, pad, seed: epoch)
            })
        }
    }

    private static func resizedCropCase(batch: Int, channels: Int, side: Int) -> BenchCase {
        let plane = channels * side * side
        return BenchCase(name: "augment_resized_crop_flip_norm", shape: "\(batch)x\(channels)x\(side)x\(side) scale 0.3-1",
                         work: .bytes(Double(batch * plane * (1 + 4)))) {
            let (images, allIndices) = store(channels, side)
            let indices = (0..<batch).map { allIndices[$0 % allIndices.count] }
            let out = BenchBuffer(count: batch * plane)
            let mean = [Float](repeating: 0.29, count: channels), std = [Float](repeating: 0.35, count: channels)
            var epoch: UInt64 = 0
            return BenchBodies(body: {
                epoch &+= 1
                try tlCheck(tl_augment_resized_crop(out.pointer, images, indices, mean, std, storeImages, batch, channels, side, side,
                                                    side, side, 0.3, 1, 0.75, 4.0 / 3.0, 0.5, epoch, 0))
            })
        }
    }

    /// The straightforward loop a user would write: per pixel, bounds-checked gather, branchy padding and flip.
    private static func plainCropFlip(_ out: UnsafeMutablePointer<Float>, _ images: [UInt8], _ indices: [Int64], _ mean: [Float],
                                      _ std: [Float], _ channels: Int, _ side: Int, _ pad: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var o = 0
        for index in indices {
            let dy = generator.uniformInt(below: 2 * pad + 1) - pad, dx = generator.uniformInt(below: 2 * pad + 1) - pad
            let flip = generator.uniform() < 0.5
            for c in 0..<channels {
                let base = (Int(index) * channels + c) * side * side
                for y in 0..<side {
                    for x in 0..<side {
                        let sy = y + dy, sx = (flip ? side - 1 - x : x) + dx
                        let v: Float = sy >= 0 && sy < side && sx >= 0 && sx < side ? Float(images[base + sy * side + sx]) / 255 : 0
                        out[o] = (v - mean[c]) / std[c]
                        o += 1
                    }
                }
            }
        }
    }
}
