import Foundation
import TrainingLab

/// A small learnable image set in the IDX format, written to a temporary folder so that runs can use
/// the dataset SPEC `mnist=DIR` without the Debian package: class k is a bright horizontal bar at row
/// k + 1 of a 12x12 image plus seeded noise.
final class LearnableIDXDataset {
    let directory = TemporaryDirectory()
    var spec: String { "mnist=\(directory.path)" }

    init(train: Int = 400, test: Int = 200, side: Int = 12, seed: UInt64 = 5) {
        var generator = SeededGenerator(seed: seed)
        for (split, count) in [("train", train), ("t10k", test)] {
            var pixels: [UInt8] = []
            var labels: [UInt8] = []
            for i in 0..<count {
                let label = (i * 7 + Int(generator.next() % 3)) % 10
                labels.append(UInt8(label))
                for y in 0..<side {
                    for _ in 0..<side {
                        let noise = Int(generator.next() % 36)
                        pixels.append(UInt8((y == label + 1 ? 220 : 0) + noise))
                    }
                }
            }
            directory.write("\(split)-images-idx3-ubyte", bigEndian(0x803) + bigEndian(UInt32(count)) + bigEndian(UInt32(side)) + bigEndian(UInt32(side)) + pixels)
            directory.write("\(split)-labels-idx1-ubyte", bigEndian(0x801) + bigEndian(UInt32(count)) + labels)
        }
    }

    func load() throws -> LoadedDataset { try DatasetSpec(parsing: spec).load() }
}
