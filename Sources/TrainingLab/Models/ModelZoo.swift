/// The core's models (`--model NAME`), built for a dataset's input shape and class count under a seed.
/// Plugins add theirs through `PluginRegistration`; `ModelCatalog` holds both.
public enum ModelZoo {
    /// The core's models. Each publishes "features" (what the classifier reads) to `ForwardCapture`.
    public static let builders: [ModelBuilder] = [
        image("mlp", "flatten, 2 hidden layers of 256 with ReLU", mlp),
        image("lenet5", "LeCun et al. 1998 with ReLU and max pooling", lenet5),
        image("smallcnn", "2 x (conv3x3, BN, ReLU, maxpool), FC 128, FC classes", smallCNN),
        image("cnn-s", "2 x (conv3x3, ReLU, maxpool), FC 128, FC classes; no BatchNorm (FedSWA's CNN-S)", cnnS),
        image("resnet8", "He et al. 2016 CIFAR ResNet, 1 block per stage (16/32/64 channels)") { try resNet(depth: 8, $0, $1, $2, $3) },
        image("resnet20", "He et al. 2016 CIFAR ResNet, 3 blocks per stage") { try resNet(depth: 20, $0, $1, $2, $3) },
        image("resnet32", "He et al. 2016 CIFAR ResNet, 5 blocks per stage") { try resNet(depth: 32, $0, $1, $2, $3) },
        image("convnet", "ConvNet-3 of dataset distillation: 3 x (conv3x3 128, instance norm, ReLU, avgpool 2)", convNet),
    ]

    public static var names: [String] { builders.map(\.name) }

    /// A freshly initialised core model; unknown names list the valid ones.
    public static func make(_ name: String, channels: Int, height: Int, width: Int, classes: Int, seed: UInt64) throws -> Module {
        try ModelCatalog.core.make(name, input: ModelInput(shape: [channels, height, width], classes: classes), seed: seed)
    }

    /// A builder of an image classifier without options.
    private static func image(_ name: String, _ summary: String,
                              _ build: @escaping (_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module) -> ModelBuilder {
        ModelBuilder(name: name, summary: summary) { input, _ in
            let (c, h, w) = try input.image(for: name)
            return try build(c, h, w, input.classes)
        }
    }

    /// Layers ending in a classifier, publishing the classifier's input as "features".
    static func classifier(_ layers: [Module]) -> Sequential {
        Sequential(layers, outputs: ["features": layers.count - 2])
    }

    static func mlp(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        classifier([Flatten(), Linear(c * h * w, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, classes)])
    }

    static func lenet5(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        // Pad the first convolution so that 28x28 inputs follow the 32x32 geometry of the paper.
        let pad = max(0, (32 - min(h, w)) / 2)
        let h1 = (h + 2 * pad - 4) / 2, w1 = (w + 2 * pad - 4) / 2
        let h2 = (h1 - 4) / 2, w2 = (w1 - 4) / 2
        guard h2 > 0, w2 > 0 else { throw ConfigError("model 'lenet5': input \(h)x\(w) is too small") }
        return classifier([Conv2d(c, 6, kernelSize: 5, padding: pad), ReLU(), MaxPool2d(2),
                           Conv2d(6, 16, kernelSize: 5), ReLU(), MaxPool2d(2), Flatten(),
                           Linear(16 * h2 * w2, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, classes)])
    }

    static func smallCNN(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        guard h >= 4, w >= 4 else { throw ConfigError("model 'smallcnn': input \(h)x\(w) is too small") }
        return classifier([Conv2d(c, 32, kernelSize: 3, padding: 1), BatchNorm(32), ReLU(), MaxPool2d(2),
                           Conv2d(32, 64, kernelSize: 3, padding: 1), BatchNorm(64), ReLU(), MaxPool2d(2), Flatten(),
                           Linear(64 * (h / 4) * (w / 4), 128), ReLU(), Linear(128, classes)])
    }

    /// FedSWA's small-scale CNN-S: 16 and 32 channels, no normalisation layers, so client models hold only weights.
    static func cnnS(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        guard h >= 4, w >= 4 else { throw ConfigError("model 'cnn-s': input \(h)x\(w) is too small") }
        return classifier([Conv2d(c, 16, kernelSize: 3, padding: 1), ReLU(), MaxPool2d(2),
                           Conv2d(16, 32, kernelSize: 3, padding: 1), ReLU(), MaxPool2d(2), Flatten(),
                           Linear(32 * (h / 4) * (w / 4), 128), ReLU(), Linear(128, classes)])
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
        return classifier(layers)
    }

    static func convNet(_ c: Int, _ h: Int, _ w: Int, _ classes: Int) throws -> Module {
        var layers: [Module] = []
        var (channels, hh, ww) = (c, h, w)
        for _ in 0..<3 {
            layers += [Conv2d(channels, 128, kernelSize: 3, padding: 1), GroupNorm(groups: 128, channels: 128), ReLU(), AvgPool2d(2)]
            (channels, hh, ww) = (128, hh / 2, ww / 2)
        }
        guard hh > 0, ww > 0 else { throw ConfigError("model 'convnet': input \(h)x\(w) is too small") }
        return classifier(layers + [Flatten(), Linear(128 * hh * ww, classes)])
    }
}
