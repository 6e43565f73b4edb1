import TrainingLab

/// The fixture's model: a one-hidden-layer MLP whose width is an option, publishing "features".
enum FixtureModels {
    static let mlp = ModelBuilder(name: "fixture-mlp", summary: "test fixture: flatten, hidden layer of `hidden` ReLU units, linear classifier",
                                  options: [.int("hidden", 16, in: 1...4096, help: "hidden units")]) { input, options in
        let hidden = try options.int("hidden")
        return Sequential([Flatten(), Linear(input.shape.reduce(1, *), hidden), ReLU(), Linear(hidden, input.classes)], outputs: ["features": 2])
    }
}

/// Two models trained together; its forward is the ensemble's (mean logits), so the host evaluates the pair.
final class ModelPair: Module {
    let first: Module
    let second: Module

    init(_ first: Module, _ second: Module) {
        self.first = first
        self.second = second
    }

    override func forward(_ x: Tensor) throws -> Tensor { try (try first(x) + second(x)) * 0.5 }
}
