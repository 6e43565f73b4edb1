import Foundation

/// Evaluates final models: one forward pass per batch over the loader's epoch iterator, in evaluation mode
/// without gradients, collecting the logits and any named outputs the model publishes (ForwardCapture), and
/// from them the report's metrics:
///
/// - the standard `ClassificationMetrics` (accuracy, per-class, NLL, ECE, many/medium/few with `trainCounts`);
/// - per-group accuracy and MacroStd over the metadata column `groupColumn`, when the dataset has it;
/// - anytime accuracy when the model publishes per-timestep logits: by convention one record of
///   `Evaluator.timestepLogits` ("timestep_logits", shape (B, classes)) per timestep and forward, in order
///   (an SNN calls `ForwardCapture.record("timestep_logits", z_t)` inside its time loop);
/// - for several models (an ensemble) the metrics of the mean of their softmax probabilities and of each member;
/// - for an out-of-distribution set, the AUROC of the maximum softmax probability between the test set
///   (in-distribution) and that set;
/// - the registered metrics (`EvaluationMetric`) requested.
///
///     let report = try Evaluator(trainCounts: counts).evaluate([model], on: data)
public struct Evaluator {
    /// The published output holding one timestep's logits (B, classes), recorded once per timestep.
    public static let timestepLogits = "timestep_logits"

    public var batchSize: Int
    public var normalization: Augmentation.Normalization
    /// Training class counts: adds many/medium/few and rare-class accuracy.
    public var trainCounts: [Int]?
    /// How `trainCounts` group the classes into many/medium/few.
    public var shotSplit: ShotSplit
    /// The metadata column of per-group accuracy and MacroStd (used when the evaluated set has it).
    public var groupColumn: String
    /// Registered metrics to compute on the test set (and the ensemble's first member for ensembles).
    public var metrics: [EvaluationMetric]

    public init(batchSize: Int = 256, normalization: Augmentation.Normalization = .dataset, trainCounts: [Int]? = nil,
                shotSplit: ShotSplit = .standard, groupColumn: String = MetadataColumn.subgroup, metrics: [EvaluationMetric] = []) {
        self.batchSize = batchSize
        self.normalization = normalization
        self.trainCounts = trainCounts
        self.shotSplit = shotSplit
        self.groupColumn = groupColumn
        self.metrics = metrics
    }

    /// Runs `model` over every sample of `dataset` in order and collects its outputs and every record of each
    /// named output in `names` that the model publishes (a name it never publishes is absent from the result;
    /// one published in some batches only is an error).
    public func outputs(of model: Module, on dataset: Dataset, collecting names: [String] = []) throws -> EvaluatedOutputs {
        let loader = DataLoader.evaluation(dataset, batchSize: batchSize, normalization: normalization)
        var rows: [Float] = [], rowShape: [Int]?
        var named: [String: [[Float]]] = [:], namedShapes: [String: [[Int]]] = [:]
        var batchIndex = 0
        try model.inEvaluationMode { try withoutGradients {
            var batches = try loader.epoch(0)
            while let batch = try batches.next() {
                let (y, published) = try ForwardCapture.run { try model(batch.inputs) }
                guard y.rank >= 1, y.shape[0] == batch.count, rowShape == nil || rowShape! == Array(y.shape.dropFirst()) else {
                    throw TensorError("evaluation: model output \(y.shape) for a batch of \(batch.count)")
                }
                rowShape = Array(y.shape.dropFirst())
                if rows.isEmpty { rows.reserveCapacity(dataset.count * (y.count / max(batch.count, 1))) }
                rows += y.scalars
                for name in names {
                    let records = published.all(name)
                    let shapes = records.map { Array($0.shape.dropFirst()) }
                    let expected = batchIndex == 0 ? shapes : namedShapes[name] ?? []
                    guard records.allSatisfy({ $0.rank >= 1 && $0.shape[0] == batch.count }), shapes == expected else {
                        throw TensorError("evaluation: output '\(name)' has records \(records.map(\.shape)) in batch \(batchIndex) of \(batch.count) samples, expected \(expected.count) records of rows \(expected)")
                    }
                    guard !records.isEmpty else { continue }
                    namedShapes[name] = shapes
                    if named[name] == nil { named[name] = Array(repeating: [], count: records.count) }
                    for (k, record) in records.enumerated() { named[name]![k] += record.scalars }
                }
                batchIndex += 1
            }
        } }
        var tensors: [String: [Tensor]] = [:]
        for (name, records) in named {
            tensors[name] = try zip(records, namedShapes[name]!).map { try Tensor($0, shape: [dataset.count] + $1) }
        }
        return EvaluatedOutputs(output: try Tensor(rows, shape: [dataset.count] + (rowShape ?? [0])), labels: dataset.labels,
                                classCount: dataset.classCount, metadata: dataset.metadata, named: tensors)
    }

    /// The metrics of one model, or of an ensemble of several, on `dataset`.
    public func evaluate(_ models: [Module], on dataset: Dataset, outOfDistribution: Dataset? = nil) throws -> EvaluationReport {
        guard !models.isEmpty else { throw TensorError("evaluation: no model to evaluate") }
        let names = Array(Set(metrics.flatMap(\.outputs) + [Evaluator.timestepLogits])).sorted()
        let members = try models.map { try outputs(of: $0, on: dataset, collecting: names) }
        let memberLogits = try members.map { try $0.logits() }
        let logits = models.count == 1 ? memberLogits[0] : try ensembleLogProbabilities(memberLogits, classes: dataset.classCount)
        var report = EvaluationReport(test: try metrics(logits: logits, on: dataset))
        if models.count > 1 { report.members = try memberLogits.map { try metrics(logits: $0, on: dataset) } }
        if let groups = dataset.metadata[groupColumn] {
            report.groups = try GroupAccuracy(column: groupColumn, predictions: predictions(logits: logits, classes: dataset.classCount),
                                              labels: dataset.labels, groups: groups, classes: dataset.classCount)
        }
        if let steps = members[0].named[Evaluator.timestepLogits] {
            report.anytime = try AnytimeAccuracy(steps: steps.map(\.scalars), labels: dataset.labels, classes: dataset.classCount)
        }
        if let ood = outOfDistribution {
            // The OOD set's own labels and class count mean nothing to the model: its outputs are the test set's classes.
            let oodLogits = try models.map { model -> [Float] in
                let y = try outputs(of: model, on: ood).output
                guard y.shape == [ood.count, dataset.classCount] else {
                    throw TensorError("evaluation: model output \(y.shape) on the out-of-distribution set \(ood.name) is not (\(ood.count), \(dataset.classCount))")
                }
                return y.scalars
            }
            let combined = models.count == 1 ? oodLogits[0] : try ensembleLogProbabilities(oodLogits, classes: dataset.classCount)
            report.outOfDistributionAUROC = try auroc(positive: maxProbabilities(combined, classes: dataset.classCount).map { -$0 },
                                                      negative: maxProbabilities(logits, classes: dataset.classCount).map { -$0 })
        }
        for metric in metrics { report.custom.append((metric.name, try metric.compute(members[0]))) }
        return report
    }

    /// The standard metrics of logits (N, C) row-major on `dataset`, with this evaluator's training counts and shot split.
    public func metrics(logits: [Float], on dataset: Dataset) throws -> ClassificationMetrics {
        try ClassificationMetrics(logits: logits, labels: dataset.labels, classes: dataset.classCount, trainCounts: trainCounts, shotSplit: shotSplit)
    }

    /// The metrics of `models` on the test set of `data`, with its out-of-distribution set if it has one.
    public func evaluate(_ models: [Module], on data: LoadedDataset) throws -> EvaluationReport {
        try evaluate(models, on: data.test, outOfDistribution: data.evaluationSets[EvaluationSet.outOfDistribution])
    }
}

/// max_c softmax(logits)_c of each row.
func maxProbabilities(_ logits: [Float], classes: Int) throws -> [Double] {
    let n = try MetricInputs.rows(logits: logits.count, classes: classes, labels: nil, metric: "maxProbabilities")
    return (0..<n).map { i in logSoftmaxRow(logits, row: i, classes: classes, temperature: 1).max().map { Foundation.exp($0) } ?? 0 }
}
