import TrainingLab

/// A loop-owning fixture method that trains two models at once on the run's one training loop: each on
/// cross-entropy, plus `agreement` times the mean squared difference of their logits (the plugin's own
/// custom op). It exercises, from a plugin: a plugin model sized by a method option, two models in one loop
/// with one optimiser, a custom objective and op, metrics.jsonl / checkpoint / resume / --stop-after from the loop, cost from the loop, and arms.
public final class FixturePair: LoopOwningMethod {
    public static let descriptor = MethodDescriptor(
        name: "fixture-pair",
        title: "Test fixture: two models trained together",
        paper: "none (test fixture)",
        summary: "Two fixture-mlp models on cross-entropy plus an agreement term between their logits; evaluated as their ensemble.",
        options: [
            .double("agreement", 0.1, in: 0...10, help: "weight of the mean squared logit difference"),
            .int("hidden", 12, in: 1...4096, help: "hidden units of both models (sizes the plugin model)"),
        ],
        arms: [
            ComparisonArm("pair", method: "fixture-pair"),
            ComparisonArm("independent", method: "fixture-pair", options: ["agreement": .double(0)]),
            ComparisonArm("erm", method: "erm", settings: ["model": .string("fixture-mlp")]),
        ],
        referenceArm: "erm",
        metrics: ["agreement"],
        evaluationMetrics: ["fixture-confidence"],
        runDefaults: [("model", "fixture-mlp")],
        supportsResume: true
    )

    let agreement: Float
    let hidden: Int

    public init(options: OptionValues) throws {
        agreement = Float(try options.double("agreement"))
        hidden = try options.int("hidden")
    }

    public func run(_ context: MethodContext) throws -> MethodOutcome {
        let size: [String: OptionValue] = ["hidden": .int(hidden)]
        let pair = ModelPair(try context.makeModel("fixture-mlp", purpose: "first", options: size),
                             try context.makeModel("fixture-mlp", purpose: "second", options: size))
        let weight = agreement
        let objective = ClosureObjective(forward: { step, _ in
            let a = try pair.first(step.inputs), b = try pair.second(step.inputs)
            step.logits = try (a + b) * 0.5
            let ce = try crossEntropy(a, labels: step.labels) + crossEntropy(b, labels: step.labels)
            step.perSampleLoss = ce
            if weight > 0 { step.extraTerms.append(("agreement", try FixtureOperations.squaredGap(a, b) * weight)) }
        })
        let trainer = context.makeTrainer(model: pair, stage: "", objective: objective)
        try trainer.fit()
        let logits = try Evaluation.logits(of: pair.first, on: context.data.test, normalization: context.config.inputNormalization)
        let other = try Evaluation.logits(of: pair.second, on: context.data.test, normalization: context.config.inputNormalization)
        let classes = context.data.classCount
        var same = 0
        for row in 0..<(logits.count / classes) {
            let slice = { (l: [Float]) in l[(row * classes)..<((row + 1) * classes)].enumerated().max { $0.element < $1.element }!.offset }
            if slice(logits) == slice(other) { same += 1 }
        }
        return MethodOutcome(model: pair, report: [("agreement", .number(Double(same) / Double(logits.count / classes)))],
                             evaluation: trainer.lastReport)
    }
}
