import Foundation
import XCTest
import TrainingLab

/// A "model" whose inputs are its logits: float samples of shape (classes) pass through unchanged, so
/// every metric below is computed on hand-chosen logits.
private final class StoredLogits: Module {
    override func forward(_ x: Tensor) throws -> Tensor { x.copy() }
}

/// Samples of shape (T x classes) are T timesteps of logits: each is published as "timestep_logits" (B, classes),
/// the output is their sum.
private final class TimestepLogits: Module {
    let steps: Int
    init(steps: Int) { self.steps = steps }
    override func forward(_ x: Tensor) throws -> Tensor {
        let batch = x.shape[0], classes = x.shape[1] / steps
        var sum = [Float](repeating: 0, count: batch * classes)
        for t in 0..<steps {
            let step = (0..<batch).flatMap { b in (0..<classes).map { x.scalars[b * steps * classes + t * classes + $0] } }
            ForwardCapture.record(Evaluator.timestepLogits, try Tensor(step, shape: [batch, classes]))
            for k in sum.indices { sum[k] += step[k] }
        }
        return try Tensor(sum, shape: [batch, classes])
    }
}

final class EvaluatorTests: XCTestCase {
    private func logitSet(_ rows: [[Float]], labels: [Int32], metadata: [String: [Int]] = [:], name: String = "logits") throws -> Dataset {
        try Dataset(name: name, sampleShape: [rows[0].count], values: rows.flatMap { $0 }, labels: labels,
                    classCount: rows[0].count, metadata: metadata)
    }

    func testPerGroupAccuracyAndMacroStdOnTheSpecExample() throws {
        // flowaug-macrostd.md step 5: class 0 with subgroups of 6, 3, 1 samples at 100, 66.667, 0 %; class 1 with
        // 5 and 5 samples at 90 and 70 %. MacroStd = 25.779, MacroStd_pop = 20.275.
        var labels: [Int32] = [], groups: [Int] = [], correct: [Bool] = []
        func add(_ label: Int32, _ group: Int, _ n: Int, _ hits: Int) {
            labels += [Int32](repeating: label, count: n)
            groups += [Int](repeating: group, count: n)
            correct += (0..<n).map { $0 < hits }
        }
        // Class 1 takes 10 samples per subgroup (5 cannot give 70 %); equal weights give the spec's sd all the same.
        add(0, 0, 6, 6); add(0, 1, 3, 2); add(0, 2, 1, 0); add(1, 0, 10, 9); add(1, 1, 10, 7)
        let rows = zip(labels, correct).map { label, ok -> [Float] in (ok ? label : 1 - label) == 0 ? [1, 0] : [0, 1] }
        let data = try logitSet(rows, labels: labels, metadata: [MetadataColumn.subgroup: groups])
        let report = try Evaluator().evaluate([StoredLogits()], on: data)
        let g = try XCTUnwrap(report.groups)
        XCTAssertEqual(g.groups, [0, 1, 2])
        XCTAssertEqual(g.counts, [16, 13, 1])
        XCTAssertEqual(g.accuracy[0], 15.0 / 16, accuracy: 1e-12)
        XCTAssertEqual(g.accuracy[1], 9.0 / 13, accuracy: 1e-12)
        XCTAssertEqual(g.worst, 0)
        XCTAssertEqual(g.macroStd, 25.779, accuracy: 1e-3)
        XCTAssertEqual(g.macroStdPopulation, 20.275, accuracy: 1e-3)
        XCTAssertEqual(report.json["groups"]?["macro_std"]?.doubleValue ?? 0, 25.779, accuracy: 1e-3)
    }

    func testEnsembleAveragesProbabilities() throws {
        // Member A is sure of class 0 on sample 0, member B mildly prefers class 1: the mean probabilities decide.
        let a = try logitSet([[Float(log(0.9)), Float(log(0.1))], [Float(log(0.2)), Float(log(0.8))]], labels: [0, 1])
        let b = try logitSet([[Float(log(0.4)), Float(log(0.6))], [Float(log(0.7)), Float(log(0.3))]], labels: [0, 1])
        let logits = try ensembleLogProbabilities([a.values, b.values], classes: 2)
        for (value, want) in zip(logits, [0.65, 0.35, 0.45, 0.55]) { XCTAssertEqual(Foundation.exp(Double(value)), want, accuracy: 1e-6) }
        // Through the evaluator: two models that read different stored logits of one dataset.
        let both = try Dataset(name: "pairs", sampleShape: [4], values: zip(a.rows, b.rows).flatMap { $0 + $1 }, labels: [0, 1], classCount: 2)
        let report = try Evaluator().evaluate([Half(first: true), Half(first: false)], on: both)
        XCTAssertEqual(report.test.accuracy, 1)
        XCTAssertEqual(report.test.nll, -(log(0.65) + log(0.55)) / 2, accuracy: 1e-6)
        XCTAssertEqual(report.members?.map(\.accuracy), [1, 0])
    }

    func testAnytimeAccuracyPerTimestep() throws {
        // Three samples, two timesteps; labels 0, 1, 1.
        // t0 logits: [1,0] [1,0] [0,1] -> right, wrong, right; t1: [0,0.5] [0,2] [0,1] -> wrong, right, right.
        // cumulative t1: [1,0.5] [1,2] [0,2] -> right, right, right.
        let rows: [[Float]] = [[1, 0, 0, 0.5], [1, 0, 0, 2], [0, 1, 0, 1]]
        let data = try Dataset(name: "steps", sampleShape: [4], values: rows.flatMap { $0 }, labels: [0, 1, 1], classCount: 2)
        let report = try Evaluator(batchSize: 2).evaluate([TimestepLogits(steps: 2)], on: data)
        let anytime = try XCTUnwrap(report.anytime)
        XCTAssertEqual(anytime.instantaneous, [2.0 / 3, 2.0 / 3])
        XCTAssertEqual(anytime.cumulative, [2.0 / 3, 1])
        XCTAssertNil(try Evaluator().evaluate([StoredLogits()], on: data.subset([0]).reshapedForTwoClasses()).anytime)
    }

    func testOutOfDistributionAUROC() throws {
        // Max softmax probabilities: test 0.9, 0.6; OOD 0.7, 0.5. OOD positive with score -MSP:
        // pairs (ood, test) ranked right: (0.7 < 0.9) yes, (0.7 < 0.6) no, (0.5 < 0.9) yes, (0.5 < 0.6) yes -> 3/4.
        func row(_ p: Double) -> [Float] { [Float(log(p)), Float(log(1 - p))] }
        let test = try logitSet([row(0.9), row(0.6)], labels: [0, 0])
        let ood = try logitSet([row(0.7), row(0.5)], labels: [1, 1], name: "ood")
        let report = try Evaluator().evaluate([StoredLogits()], on: test, outOfDistribution: ood)
        XCTAssertEqual(try XCTUnwrap(report.outOfDistributionAUROC), 0.75, accuracy: 1e-12)
        XCTAssertEqual(report.json["ood_auroc"]?.doubleValue, report.outOfDistributionAUROC)
    }

    func testRegisteredMetricSeesLogitsMetadataAndNamedOutputs() throws {
        let steps = EvaluationMetric(name: "timestep_count", summary: "records of timestep_logits", outputs: [Evaluator.timestepLogits]) {
            .number(Double(try $0.records(Evaluator.timestepLogits).count))
        }
        let registry = try PluginRegistry(environment: [:])
        try registry.register(PluginRegistration(metrics: [steps]), from: "test")
        let data = try Dataset(name: "steps", sampleShape: [6], values: [Float](repeating: 0, count: 12), labels: [0, 1], classCount: 2)
        let report = try Evaluator(metrics: registry.metrics.items).evaluate([TimestepLogits(steps: 3)], on: data)
        XCTAssertEqual(report.json["timestep_count"]?.doubleValue, 3)
    }

    func testBatchNormRecalibrationAveragesTheBatchStatistics() throws {
        let bn = BatchNorm(2)
        let model = Sequential(bn)
        model.eval()
        // Two batches of three samples (sequential order): channel 0 values 0,1,2 then 3,5,10; channel 1 constant then spread.
        let values: [Float] = [0, 4, 1, 4, 2, 4, 3, -1, 5, 0, 10, 1]
        let data = try Dataset(name: "bn", sampleShape: [2], values: values, labels: [0, 0, 0, 0, 0, 0], classCount: 1)
        let loader = DataLoader(dataset: data, batchSize: 3, sampler: SequentialSampler())
        XCTAssertEqual(try BatchNormRecalibration.run(model, loader: loader, batches: 5), 2)
        func meanVar(_ xs: [Double]) -> (Double, Double) {
            let m = xs.reduce(0, +) / Double(xs.count)
            return (m, xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1))
        }
        let b0 = [meanVar([0, 1, 2]), meanVar([4, 4, 4])], b1 = [meanVar([3, 5, 10]), meanVar([-1, 0, 1])]
        for c in 0..<2 {
            XCTAssertEqual(Double(bn.runningMean.scalars[c]), (b0[c].0 + b1[c].0) / 2, accuracy: 1e-5)
            XCTAssertEqual(Double(bn.runningVar.scalars[c]), (b0[c].1 + b1[c].1) / 2, accuracy: 1e-5)
        }
        XCTAssertFalse(model.isTraining, "the model returns to its mode")
        XCTAssertEqual(bn.gamma.scalars, [1, 1])
    }

    func testEvaluationMetricsUnchangedOnRealData() throws {
        let files = LearnableIDXDataset(train: 64, test: 50, side: 6)
        let data = try files.load()
        let model = Sequential(Flatten(), Linear(36, 10))
        let logits = try Evaluation.logits(of: model, on: data.test, batchSize: 16)
        XCTAssertEqual(try Evaluation.metrics(of: model, on: data.test),
                       try ClassificationMetrics(logits: logits, labels: data.test.labels, classes: 10))
        XCTAssertEqual(try Evaluator().evaluate([model], on: data).test, try Evaluation.metrics(of: model, on: data.test))
    }
}

/// Reads the first or the second half of each 4-value sample as its 2 logits.
private final class Half: Module {
    let first: Bool
    init(first: Bool) { self.first = first }
    override func forward(_ x: Tensor) throws -> Tensor {
        let rows = (0..<x.shape[0]).flatMap { b in (0..<2).map { x.scalars[b * 4 + (first ? 0 : 2) + $0] } }
        return try Tensor(rows, shape: [x.shape[0], 2])
    }
}

private extension Dataset {
    /// The stored values, for building expectations.
    var values: [Float] { (0..<count).flatMap { sample($0) } }
    var rows: [[Float]] { (0..<count).map { sample($0) } }
    /// The first two values of each sample as a two-class logit set.
    func reshapedForTwoClasses() throws -> Dataset {
        try Dataset(name: name, sampleShape: [2], values: rows.flatMap { $0.prefix(2) }, labels: labels, classCount: 2)
    }
}
