import TrainingLab

/// The networks of a SCoRe run: the encoder g of the small-scale check, and either the projection
/// head h (set losses; embedding z = normalize(h(g(x)))) or a linear classifier (cross-entropy end to end).
struct SCoReNetworks {
    /// conv3x3(c->32)-BN-ReLU-maxpool, conv3x3(32->64)-BN-ReLU-maxpool, FC(64 (h/4)(w/4) -> featureDim)-ReLU.
    let encoder: Sequential
    /// featureDim -> featureDim -> ReLU -> projectionDim, SupConResNet's "mlp" head.
    let head: Sequential?
    let classifier: Linear?

    init(channels: Int, height: Int, width: Int, featureDim: Int, projectionDim: Int, classes: Int, objective: Objective) throws {
        guard height >= 4, width >= 4 else { throw ConfigError("score: input \(height)x\(width) is too small for the encoder") }
        encoder = Sequential(Conv2d(channels, 32, kernelSize: 3, padding: 1), BatchNorm(32), ReLU(), MaxPool2d(2),
                             Conv2d(32, 64, kernelSize: 3, padding: 1), BatchNorm(64), ReLU(), MaxPool2d(2), Flatten(),
                             Linear(64 * (height / 4) * (width / 4), featureDim), ReLU())
        switch objective {
        case .set:
            head = Sequential(Linear(featureDim, featureDim), ReLU(), Linear(featureDim, projectionDim))
            classifier = nil
        case .crossEntropy:
            head = nil
            classifier = Linear(featureDim, classes)
        }
    }

    /// Everything stage 1 trains, as one module (for the optimiser and the training-mode switch).
    var trained: Module { Sequential([encoder] + [head as Module?, classifier as Module?].compactMap { $0 }) }

    /// Unit embeddings of encoder features: the projection head's output, or the features themselves
    /// without a head.
    func embeddings(ofFeatures features: Tensor) throws -> Tensor {
        try l2Normalized(head.map { try $0(features) } ?? features)
    }
}
