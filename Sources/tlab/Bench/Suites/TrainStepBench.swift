import TrainingLab

extension BenchSuites {
    /// Whole-model steps at batch 128: a train step (forward, per-sample CE, mean, backward, SGD update)
    /// and inference. bench/torch_side.py builds the same models and steps in PyTorch (`make bench-peer`).
    static var trainStep: [BenchCase] {
        let models: [(name: String, c: Int, hw: Int)] = [("smallcnn", 1, 28), ("resnet20", 3, 32)]
        let n = 128
        return models.flatMap { m -> [BenchCase] in
            let shape = "\(n)x\(m.c)x\(m.hw)x\(m.hw)"
            func setup() throws -> (Module, Tensor, [Int32]) {
                let model = try ModelZoo.make(m.name, channels: m.c, height: m.hw, width: m.hw, classes: 10, seed: 1)
                let x = Tensor.uniform([n, m.c, m.hw, m.hw], low: -1, high: 1, seed: 2)
                return (model, x, (0..<n).map { Int32($0 % 10) })
            }
            return [
                BenchCase(name: "train_step_\(m.name)", shape: shape, work: .images(Double(n))) {
                    let (model, x, labels) = try setup()
                    let optimizer = SGD(model.namedParameters(), learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
                    return BenchBodies(body: {
                        model.zeroGrad()
                        let loss = try crossEntropy(model(x), labels: labels).mean()
                        try loss.backward()
                        try optimizer.step()
                    })
                },
                BenchCase(name: "inference_\(m.name)", shape: shape, work: .images(Double(n))) {
                    let (model, x, _) = try setup()
                    model.eval()
                    return BenchBodies(body: { _ = try withoutGradients { try model(x) } })
                },
            ]
        }
    }
}
