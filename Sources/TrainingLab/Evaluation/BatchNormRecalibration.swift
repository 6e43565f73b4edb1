/// Recomputes the running statistics of every BatchNorm of a model from training batches, as weight-sharing
/// methods need before evaluating a subnet (DεpS, OFA's set_running_statistics): the stored statistics belong
/// to whatever ran last. Each layer's running mean and variance become the plain average over the batches of
/// that batch's mean and (unbiased, as the layer's own update) variance, in training mode without gradients.
/// Nothing else changes: parameters stay, and the model returns to its previous mode.
public enum BatchNormRecalibration {
    /// Feeds the first `batches` batches of epoch 0 of `loader` (all of them if fewer) and returns how many ran.
    @discardableResult
    public static func run(_ model: Module, loader: DataLoader, batches: Int) throws -> Int {
        let layers = batchNorms(in: model)
        guard !layers.isEmpty, batches > 0 else { return 0 }
        if let frozen = layers.first(where: { $0.momentum <= 0 }) {
            throw TensorError("BatchNorm recalibration: a BatchNorm has momentum \(frozen.momentum); its running statistics never move")
        }
        var sums = layers.map { ([Double](repeating: 0, count: $0.runningMean.count), [Double](repeating: 0, count: $0.runningVar.count)) }
        var fed = 0
        let wasTraining = model.isTraining
        model.train()
        defer { model.train(wasTraining) }
        var epoch = try loader.epoch(0)
        try withoutGradients {
            while fed < batches, let batch = try epoch.next() {
                // From zero, one update leaves momentum x the batch statistic; dividing it out recovers the statistic.
                for layer in layers {
                    for k in 0..<layer.runningMean.count { layer.runningMean.pointer[k] = 0; layer.runningVar.pointer[k] = 0 }
                }
                _ = try model(batch.inputs)
                for (l, layer) in layers.enumerated() {
                    let m = Double(layer.momentum)
                    for k in 0..<layer.runningMean.count {
                        sums[l].0[k] += Double(layer.runningMean.pointer[k]) / m
                        sums[l].1[k] += Double(layer.runningVar.pointer[k]) / m
                    }
                }
                fed += 1
            }
        }
        for (l, layer) in layers.enumerated() where fed > 0 {
            for k in 0..<layer.runningMean.count {
                layer.runningMean.pointer[k] = Float(sums[l].0[k] / Double(fed))
                layer.runningVar.pointer[k] = Float(sums[l].1[k] / Double(fed))
            }
        }
        return fed
    }

    /// Every BatchNorm in the module tree, depth first.
    static func batchNorms(in module: Module) -> [BatchNorm] {
        ((module as? BatchNorm).map { [$0] } ?? []) + module.children.flatMap { batchNorms(in: $0.1) }
    }
}
