import Foundation
import TrainingLab

/// The fixture's data pieces: a SPEC derivation that tags every sample with a subgroup, and an evaluation
/// metric computed from the evaluated outputs.
enum FixtureData {
    /// `fixture-groups=K`: subgroup = (label + source index) mod K on the training and test sets, so every
    /// class has samples in every group and the evaluator reports per-group accuracy and MacroStd.
    static let groups = DatasetDerivation(name: "fixture-groups", summary: "test fixture: K subgroups by (label + index) mod K",
                                          options: [.int("fixture-groups", 2, in: 2...16, help: "number of subgroups")]) { data, options in
        let k = try options.int("fixture-groups")
        var derived = data
        func tag(_ set: inout Dataset) throws {
            try set.setMetadata(MetadataColumn.subgroup, to: set.labels.indices.map { (Int(set.labels[$0]) + set.sourceIndices[$0]) % k })
        }
        try tag(&derived.train)
        try tag(&derived.test)
        return derived
    }

    /// Mean over test samples of the largest softmax probability.
    static let confidence = EvaluationMetric(name: "fixture-confidence", summary: "test fixture: mean maximum softmax probability") { evaluated in
        let logits = try evaluated.logits(), classes = evaluated.classCount
        var total = 0.0
        for row in 0..<(logits.count / classes) {
            let z = logits[(row * classes)..<((row + 1) * classes)].map(Double.init)
            let top = z.max()!
            total += 1 / z.reduce(0) { $0 + Foundation.exp($1 - top) }
        }
        return .number(total / Double(logits.count / classes))
    }
}

/// The fixture's custom differentiable op: the mean over all elements of (a - b)^2, written with a forward
/// and a backward as a plugin writes an op the core lacks. The host finite-difference checks it.
enum FixtureOperations {
    static let squaredGap = CustomOperation(
        name: "fixture-squared-gap", exampleInputShapes: [[3, 4], [3, 4]],
        forward: { x in
            let gap = try x[0] - x[1]
            return try (gap * gap).mean()
        },
        backward: { g, x, _, needs in
            // d/da mean((a - b)^2) = 2 (a - b) / n, and the negative for b.
            let scale = 2 * g.scalars[0] / Float(x[0].count)
            let gap = try x[0] - x[1]
            return [needs[0] ? try gap * scale : nil, needs[1] ? try gap * (-scale) : nil]
        })
}

/// The fixture's registered augmentation: a seeded random brightness shift per sample.
enum FixtureAugmentations {
    static let shift = BatchTransform(name: "fixture-shift", summary: "test fixture: adds U(-0.2, 0.2) to every value of a sample") { batch, seeds in
        let size = batch.count / batch.shape[0]
        for b in 0..<batch.shape[0] {
            var generator = seeds[b]
            let delta = Float(generator.uniform() * 0.4 - 0.2)
            for k in 0..<size { batch.pointer[b * size + k] += delta }
        }
    }
}
