import CTrainingLab

/// Inference over a whole dataset in evaluation mode: logits and the standard metrics.
public enum Evaluation {
    /// Logits (N, classes) row-major of `model` on every sample of `dataset`, in order, without gradients,
    /// with inputs normalised as in training (`RunConfig.inputNormalization`).
    public static func logits(of model: Module, on dataset: ImageDataset, batchSize: Int = 256,
                              normalization: Augmentation.Normalization = .dataset) throws -> [Float] {
        guard dataset.count > 0 else { return [] }
        let y = try outputs(of: model, on: dataset, batchSize: batchSize, normalization: normalization)
        guard y.rank == 2, y.shape[1] == dataset.classCount else {
            throw TensorError("evaluation: model output \(y.shape) is not (samples, \(dataset.classCount) classes)")
        }
        return y.scalars
    }

    /// Outputs (N, ...) of `model` on every sample of `dataset`, in order, in evaluation mode and without
    /// gradients: a classifier's logits, or the features of a frozen encoder.
    public static func outputs(of model: Module, on dataset: ImageDataset, batchSize: Int = 256,
                               normalization: Augmentation.Normalization = .dataset) throws -> Tensor {
        let loader = DataLoader.evaluation(dataset, batchSize: batchSize, normalization: normalization)
        var out: [Float] = []
        var rowShape: [Int]?
        try model.inEvaluationMode { try withoutGradients {
            var start = 0
            while start < dataset.count {
                let indices = Array(start..<min(start + batchSize, dataset.count))
                let x = Tensor(uninitializedShape: [indices.count] + dataset.sampleShape)
                try loader.fill(view: 0, indices: indices, epoch: 0, into: x.pointer)
                let y = try model(x)
                guard y.rank >= 1, y.shape[0] == indices.count, rowShape == nil || rowShape! == Array(y.shape.dropFirst()) else {
                    throw TensorError("evaluation: model output \(y.shape) for a batch of \(indices.count)")
                }
                rowShape = Array(y.shape.dropFirst())
                if out.isEmpty { out.reserveCapacity(dataset.count * (y.count / indices.count)) }
                out += y.scalars
                start += indices.count
            }
        } }
        return try Tensor(out, shape: [dataset.count] + (rowShape ?? [0]))
    }

    /// Accuracy, per-class accuracy, NLL, ECE, and many/medium/few accuracy when training counts are given.
    public static func metrics(of model: Module, on dataset: ImageDataset, trainCounts: [Int]? = nil,
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
            ])))
        }
        return .object(pairs)
    }
}
