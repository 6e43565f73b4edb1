import TrainingLab

/// The data loader's whole path per batch; the augmentation kernels themselves are rows of the kernel table.
extension BenchSuites {
    static var augment: [BenchCase] { [loaderCase(batch: 128)] }

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
}
