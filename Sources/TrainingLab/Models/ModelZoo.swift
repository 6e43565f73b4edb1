/// The models users name on the command line (`--model NAME`), built for a dataset's input shape and
/// class count under a seed.
public enum ModelZoo {
    public struct Entry {
        public let name: String
        public let summary: String
        let build: (_ channels: Int, _ height: Int, _ width: Int, _ classes: Int) throws -> Module
    }

    public static let entries: [Entry] = [
        Entry(name: "mlp", summary: "flatten, 2 hidden layers of 256 with ReLU", build: mlp),
        Entry(name: "lenet5", summary: "LeCun et al. 1998 with ReLU and max pooling", build: lenet5),
        Entry(name: "smallcnn", summary: "2 x (conv3x3, BN, ReLU, maxpool), FC 128, FC classes", build: smallCNN),
        Entry(name: "resnet8", summary: "He et al. 2016 CIFAR ResNet, 1 block per stage (16/32/64 channels)", build: { try resNet(depth: 8, $0, $1, $2, $3) }),
        Entry(name: "resnet20", summary: "He et al. 2016 CIFAR ResNet, 3 blocks per stage", build: { try resNet(depth: 20, $0, $1, $2, $3) }),
        Entry(name: "resnet32", summary: "He et al. 2016 CIFAR ResNet, 5 blocks per stage", build: { try resNet(depth: 32, $0, $1, $2, $3) }),
        Entry(name: "convnet", summary: "ConvNet-3 of dataset distillation: 3 x (conv3x3 128, instance norm, ReLU, avgpool 2)", build: convNet),
    ]

    public static var names: [String] { entries.map(\.name) }

    /// A freshly initialised model; unknown names list the valid ones.
    public static func make(_ name: String, channels: Int, height: Int, width: Int, classes: Int, seed: UInt64) throws -> Module {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw ConfigError("unknown model '\(name)'; available: \(names.joined(separator: ", "))")
        }
        guard channels > 0, height > 0, width > 0, classes > 1 else {
            throw ConfigError("model '\(name)': invalid input \(channels)x\(height)x\(width) with \(classes) classes")
        }
        return try ParameterInit.withSeed(seed) { try entry.build(channels, height, width, classes) }
    }

    static func mlp(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        Sequential(Flatten(), Linear(c * h * w, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, classes))
    }

    static func lenet5(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        // Pad the first convolution so that 28x28 inputs follow the 32x32 geometry of the paper.
        let pad = max(0, (32 - min(h, w)) / 2)
        let h1 = (h + 2 * pad - 4) / 2, w1 = (w + 2 * pad - 4) / 2
        let h2 = (h1 - 4) / 2, w2 = (w1 - 4) / 2
        guard h2 > 0, w2 > 0 else { throw ConfigError("model 'lenet5': input \(h)x\(w) is too small") }
        return Sequential(Conv2d(c, 6, kernelSize: 5, padding: pad), ReLU(), MaxPool2d(2),
                          Conv2d(6, 16, kernelSize: 5), ReLU(), MaxPool2d(2), Flatten(),
                          Linear(16 * h2 * w2, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, classes))
    }

    static func smallCNN(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        guard h >= 4, w >= 4 else { throw ConfigError("model 'smallcnn': input \(h)x\(w) is too small") }
        return Sequential(Conv2d(c, 32, kernelSize: 3, padding: 1), BatchNorm(32), ReLU(), MaxPool2d(2),
                          Conv2d(32, 64, kernelSize: 3, padding: 1), BatchNorm(64), ReLU(), MaxPool2d(2), Flatten(),
                          Linear(64 * (h / 4) * (w / 4), 128), ReLU(), Linear(128, classes))
    }

    static func resNet(depth: Int, _ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        let blocks = (depth - 2) / 6
        var layers: [Module] = [Conv2d(c, 16, kernelSize: 3, padding: 1, bias: false, initialization: .heNormal), BatchNorm(16), ReLU()]
        var channels = 16
        for (stage, width) in [16, 32, 64].enumerated() {
            for b in 0..<blocks {
                layers.append(ResidualBlock(channels, width, stride: stage > 0 && b == 0 ? 2 : 1))
                channels = width
            }
        }
        layers += [GlobalAvgPool2d(), Linear(64, classes)]
        return Sequential(layers)
    }

    static func convNet(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        var layers: [Module] = []
        var (channels, hh, ww) = (c, h, w)
        for _ in 0..<3 {
            layers += [Conv2d(channels, 128, kernelSize: 3, padding: 1), GroupNorm(groups: 128, channels: 128), ReLU(), AvgPool2d(2)]
            (channels, hh, ww) = (128, hh / 2, ww / 2)
        }
        guard hh > 0, ww > 0 else { throw ConfigError("model 'convnet': input \(h)x\(w) is too small") }
        return Sequential(layers + [Flatten(), Linear(128 * hh * ww, classes)])
    }
}
