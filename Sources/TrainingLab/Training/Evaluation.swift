/// Inference over a whole dataset in evaluation mode: logits and the standard metrics, through the `Evaluator`
/// (one model, no extras).
public enum Evaluation {
    /// Logits (N, classes) row-major of `model` on every sample of `dataset`, in order, without gradients,
    /// with inputs normalised as in training (`RunConfig.inputNormalization`).
    public static func logits(of model: Module, on dataset: Dataset, batchSize: Int = 256,
                              normalization: Augmentation.Normalization = .dataset) throws -> [Float] {
        guard dataset.count > 0 else { return [] }
        return try Evaluator(batchSize: batchSize, normalization: normalization).outputs(of: model, on: dataset).logits()
    }

    /// Outputs (N, ...) of `model` on every sample of `dataset`, in order, in evaluation mode and without
    /// gradients: a classifier's logits, or the features of a frozen encoder.
    public static func outputs(of model: Module, on dataset: Dataset, batchSize: Int = 256,
                               normalization: Augmentation.Normalization = .dataset) throws -> Tensor {
        try Evaluator(batchSize: batchSize, normalization: normalization).outputs(of: model, on: dataset).output
    }

    /// Accuracy, per-class accuracy, NLL, ECE, and many/medium/few accuracy when training counts are given.
    public static func metrics(of model: Module, on dataset: Dataset, trainCounts: [Int]? = nil,
                               normalization: Augmentation.Normalization = .dataset) throws -> ClassificationMetrics {
        let logits = try logits(of: model, on: dataset, normalization: normalization)
        return try ClassificationMetrics(logits: logits, labels: dataset.labels, classes: dataset.classCount, trainCounts: trainCounts)
    }
}

extension ClassificationMetrics {
    /// The `test` object of report.json.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("count", .number(Double(count))),
            ("accuracy", .number(accuracy)),
            ("mean_class_accuracy", .number(meanClassAccuracy)),
            ("per_class_accuracy", .array(perClassAccuracy.map { $0.map(JSONValue.number) ?? .null })),
            ("nll", .number(nll)),
            ("ece", .number(ece)),
        ]
        if let shots {
            pairs.append(("shots", .object([
                ("many", shots.many.map(JSONValue.number) ?? .null),
                ("medium", shots.medium.map(JSONValue.number) ?? .null),
                ("few", shots.few.map(JSONValue.number) ?? .null),
                ("rare\(ShotAccuracy.rareCount)", shots.rare.map(JSONValue.number) ?? .null),
            ])))
        }
        return .object(pairs)
    }
}
