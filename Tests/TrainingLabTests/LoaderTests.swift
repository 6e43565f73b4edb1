import Foundation
import XCTest
import TrainingLab

/// Keeps every other position of the dataset, in reverse: a sampler shorter than the dataset (like InfoBatch).
private final class HalfSampler: Sampler {
    var calls: [Int] = []
    func indices(epoch: Int, count: Int) -> [Int] {
        calls.append(epoch)
        return stride(from: count - 1, through: 0, by: -2).map { $0 }
    }
}

private struct BrokenSampler: Sampler {
    func indices(epoch: Int, count: Int) -> [Int] { [0, count] }
}

final class LoaderTests: XCTestCase {
    private let data = syntheticDataset(perClass: [13, 11, 9, 7], channels: 3, side: 6)

    private func collect(_ loader: DataLoader, epoch: Int) throws -> [Batch] { try loader.epoch(epoch).collect() }

    func testEveryIndexOncePerEpoch() throws {
        let loader = DataLoader(dataset: data, batchSize: 8, augmentation: .randomCrop(padding: 2), seed: 3)
        for epoch in 0..<3 {
            let batches = try collect(loader, epoch: epoch)
            XCTAssertEqual(batches.map(\.count), [8, 8, 8, 8, 8])
            XCTAssertEqual(batches.flatMap(\.indices).sorted(), Array(0..<40))
            for batch in batches {
                XCTAssertEqual(batch.labels, batch.indices.map { data.labels[$0] })
                XCTAssertEqual(batch.inputs.shape, [batch.count, 3, 6, 6])
                XCTAssertEqual(batch.images.count, batch.count * 108)
            }
        }
        let odd = DataLoader(dataset: data, batchSize: 12, seed: 3)
        let batches = try collect(odd, epoch: 0)
        XCTAssertEqual(batches.map(\.count), [12, 12, 12, 4])
        XCTAssertEqual(try odd.epoch(0).batchCount, 4)
        XCTAssertEqual(batches.flatMap(\.indices).sorted(), Array(0..<40))
    }

    func testDropLast() throws {
        let loader = DataLoader(dataset: data, batchSize: 12, dropLast: true, seed: 1)
        let epoch = try loader.epoch(2)
        let batches = try epoch.collect()
        XCTAssertEqual(batches.map(\.count), [12, 12, 12])
        XCTAssertEqual(epoch.batchCount, 3)
        XCTAssertEqual(batches.flatMap(\.indices), Array(epoch.order.prefix(36)))
        XCTAssertEqual(Set(batches.flatMap(\.indices)).count, 36)
    }

    func testSameSeedSameOrderAndPixelsDifferentSeedDiffers() throws {
        let a = DataLoader(dataset: data, batchSize: 16, augmentation: .randomCrop(padding: 2), seed: 42)
        let b = DataLoader(dataset: data, batchSize: 16, augmentation: .randomCrop(padding: 2), seed: 42)
        let c = DataLoader(dataset: data, batchSize: 16, augmentation: .randomCrop(padding: 2), seed: 43)
        let (ba, bb, bc) = (try collect(a, epoch: 0), try collect(b, epoch: 0), try collect(c, epoch: 0))
        XCTAssertEqual(ba.flatMap(\.indices), bb.flatMap(\.indices))
        XCTAssertEqual(ba.flatMap(\.images), bb.flatMap(\.images))
        XCTAssertNotEqual(ba.flatMap(\.indices), bc.flatMap(\.indices))
        XCTAssertNotEqual(try collect(a, epoch: 1).flatMap(\.indices), ba.flatMap(\.indices), "each epoch is reshuffled")
    }

    func testAugmentationDependsOnSampleNotOnBatching() throws {
        let aug = Augmentation.randomCrop(padding: 3)
        let small = DataLoader(dataset: data, batchSize: 3, augmentation: aug, seed: 9)
        let large = DataLoader(dataset: data, batchSize: 40, augmentation: aug, seed: 9)
        func bySample(_ loader: DataLoader) throws -> [Int: [Float]] {
            var out: [Int: [Float]] = [:]
            for batch in try loader.epoch(4).collect() {
                for (k, i) in batch.indices.enumerated() { out[i] = Array(batch.images[(k * 108)..<((k + 1) * 108)]) }
            }
            return out
        }
        XCTAssertEqual(try bySample(small), try bySample(large))
    }

    func testEvaluationLoaderNormalisesInOrder() throws {
        let loader = DataLoader.evaluation(data, batchSize: 16)
        let batches = try collect(loader, epoch: 0)
        XCTAssertEqual(batches.flatMap(\.indices), Array(0..<40))
        let pixels = batches.flatMap(\.images)
        for i in [0, 17, 39] {
            let image = data.image(i)!
            for k in stride(from: 0, to: 108, by: 7) {
                let c = k / 36
                let want = (Float(image[k]) / 255 - data.mean[c]) / data.std[c]
                XCTAssertEqual(pixels[i * 108 + k], want, accuracy: 1e-5)
            }
        }
        let raw = try collect(DataLoader.evaluation(data, batchSize: 40, normalization: .none), epoch: 0)[0]
        XCTAssertEqual(raw.images[5], Float(data.image(0)![5]) / 255, accuracy: 1e-7)
    }

    func testCropAndFlipMoveRealPixels() throws {
        // With padding and flips, every output row is a shifted or mirrored copy of a source row, or zeros.
        let raw = try collect(DataLoader(dataset: data, batchSize: 40, augmentation: .randomCrop(padding: 2, normalization: .none), seed: 5), epoch: 0)[0]
        var flipped = 0, shifted = 0
        for (k, i) in raw.indices.enumerated() {
            let image = data.image(i)!.map { Float($0) / 255 }
            let out = Array(raw.images[(k * 108)..<((k + 1) * 108)])
            var matched = false
            search: for flip in [false, true] {
                for dy in -2...2 {
                    for dx in -2...2 {
                        var ok = true
                        for c in 0..<3 where ok {
                            for y in 0..<6 where ok {
                                for x in 0..<6 {
                                    let sy = y + dy, sx = (flip ? 5 - x : x) + dx
                                    let v: Float = (0..<6).contains(sy) && (0..<6).contains(sx) ? image[c * 36 + sy * 6 + sx] : 0
                                    if abs(out[c * 36 + y * 6 + x] - v) > 1e-6 { ok = false; break }
                                }
                            }
                        }
                        if ok {
                            matched = true
                            if flip { flipped += 1 }
                            if dx != 0 || dy != 0 { shifted += 1 }
                            break search
                        }
                    }
                }
            }
            XCTAssertTrue(matched, "sample \(i) is not a crop/flip of its image")
        }
        XCTAssertGreaterThan(flipped, 8)
        XCTAssertGreaterThan(shifted, 25)
    }

    func testCustomSamplerShorterThanDataset() throws {
        let sampler = HalfSampler()
        let loader = DataLoader(dataset: data, batchSize: 6, sampler: sampler)
        let batches = try collect(loader, epoch: 7)
        XCTAssertEqual(batches.flatMap(\.indices), stride(from: 39, through: 0, by: -2).map { $0 })
        XCTAssertEqual(batches.map(\.count), [6, 6, 6, 2])
        XCTAssertEqual(sampler.calls, [7])
        assertDataError(.invalidArgument, mentioning: ["sampler returned position 40"]) {
            try DataLoader(dataset: data, batchSize: 4, sampler: BrokenSampler()).epoch(0)
        }
        let replaced = try DataLoader(dataset: data, batchSize: 4).epoch(0, order: [3, 3, 1]).collect()
        XCTAssertEqual(replaced.map(\.indices), [[3, 3, 1]])
        assertDataError(.invalidArgument, mentioning: ["batch size"]) { try DataLoader(dataset: data, batchSize: 0).epoch(0) }
        assertDataError(.invalidArgument, mentioning: ["normalisation needs 3"]) {
            try DataLoader(dataset: data, batchSize: 4, augmentation: Augmentation(normalization: .custom(mean: [0], std: [1]))).epoch(0)
        }
    }

    func testSubsetAndSequentialSamplers() {
        XCTAssertEqual(SequentialSampler().indices(epoch: 3, count: 4), [0, 1, 2, 3])
        XCTAssertEqual(SubsetSampler([5, 1, 3]).indices(epoch: 0, count: 10), [5, 1, 3])
        let shuffled = SubsetSampler([5, 1, 3, 8, 9, 2], shuffleSeed: 1)
        XCTAssertEqual(shuffled.indices(epoch: 0, count: 10).sorted(), [1, 2, 3, 5, 8, 9])
        XCTAssertEqual(shuffled.indices(epoch: 2, count: 10), shuffled.indices(epoch: 2, count: 10))
        XCTAssertEqual(ShuffleSampler(seed: 4).indices(epoch: 1, count: 100), ShuffleSampler(seed: 4).indices(epoch: 1, count: 100))
        XCTAssertNotEqual(ShuffleSampler(seed: 4).indices(epoch: 1, count: 100), ShuffleSampler(seed: 4).indices(epoch: 2, count: 100))
    }

    func testTwoViews() throws {
        let views = [Augmentation.randomResizedCrop(scale: 0.3...1), Augmentation.randomResizedCrop(scale: 0.3...1)]
        let loader = DataLoader(dataset: data, batchSize: 10, views: views, seed: 2)
        let batch = try collect(loader, epoch: 0)[0]
        XCTAssertEqual(batch.views.count, 2)
        XCTAssertEqual(batch.views[0].shape, batch.views[1].shape)
        XCTAssertNotEqual(batch.views[0].scalars, batch.views[1].scalars, "the two views draw independent transforms")
        // With a full-image crop and no flip both views reproduce the image.
        let identity = Augmentation.randomResizedCrop(scale: 1...1, ratio: 1...1, flip: false, normalization: .none)
        let same = try collect(DataLoader(dataset: data, batchSize: 5, views: [identity, identity], seed: 2), epoch: 0)[0]
        XCTAssertEqual(same.views[0].scalars, same.views[1].scalars)
        XCTAssertEqual(same.inputs.scalars[0], Float(data.image(same.indices[0])![0]) / 255, accuracy: 1e-6)
        let mismatched = [Augmentation.evaluation, Augmentation.randomResizedCrop(height: 4, width: 4)]
        assertDataError(.invalidArgument, mentioning: ["same sample shape"]) {
            try DataLoader(dataset: data, batchSize: 4, views: mismatched).epoch(0)
        }
    }

    func testRealFashionMNISTEpochCoversTheTrainingSet() throws {
        let real = try RealFashionMNIST.load()
        let loader = DataLoader(dataset: real.train, batchSize: 128, augmentation: .randomCrop(padding: 2), seed: 1)
        var seen = [Bool](repeating: false, count: real.train.count)
        var batches = 0
        var epoch = try loader.epoch(0)
        while let batch = try epoch.next() {
            for i in batch.indices { seen[i] = true }
            batches += 1
        }
        XCTAssertEqual(batches, 469)
        XCTAssertTrue(seen.allSatisfy { $0 })
    }
}
