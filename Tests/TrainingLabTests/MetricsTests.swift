import Foundation
import XCTest
import TrainingLab

final class AccuracyMetricTests: XCTestCase {
    func testPredictionsTiesAndNaN() throws {
        // Rows: a tie (lowest class wins), a leading NaN (never wins), -inf entries, a tie between ends.
        let logits: [Float] = [1, 3, 3, .nan, 0, -1, -.infinity, -.infinity, 2, 1, 0, 1]
        XCTAssertEqual(try predictions(logits: logits, classes: 3), [1, 1, 2, 0])
    }

    func testTop1AndPerClass() throws {
        // 5 samples, 3 classes; predictions 0, 1, 1, 2, 0; labels 0, 1, 0, 0, 0 (class 2 has no samples).
        let logits: [Float] = [5, 1, 0, 0, 2, 1, 0, 3, 1, 0, 0, 9, 1, 0, -1]
        let labels: [Int32] = [0, 1, 0, 0, 0]
        XCTAssertEqual(try top1Accuracy(logits: logits, labels: labels, classes: 3), 0.6, accuracy: 1e-12)
        let perClass = try perClassAccuracy(logits: logits, labels: labels, classes: 3)
        XCTAssertEqual(perClass[0], 0.5)
        XCTAssertEqual(perClass[1], 1.0)
        XCTAssertNil(perClass[2])
        XCTAssertEqual(meanClassAccuracy(perClass), 0.75, accuracy: 1e-12)
    }

    func testShapeErrors() {
        assertDataError(.shapeMismatch, mentioning: ["top1Accuracy", "2 logit rows for 3 labels"]) {
            try top1Accuracy(logits: [1, 2, 3, 4], labels: [0, 1, 0], classes: 2)
        }
        assertDataError(.shapeMismatch, mentioning: ["not (N, 3)"]) { try predictions(logits: [1, 2, 3, 4], classes: 3) }
        assertDataError(.labelOutOfRange, mentioning: ["label 2"]) { try perClassAccuracy(logits: [1, 2], labels: [2], classes: 2) }
    }
}

final class ShotAccuracyTests: XCTestCase {
    private let counts = [500, 150, 100, 60, 20, 19, 5]
    private let perClass: [Double?] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, nil]

    func testThresholds() throws {
        let s = try shotAccuracy(perClass: perClass, trainCounts: counts)
        XCTAssertEqual(s.manyClasses, [0, 1])
        XCTAssertEqual(s.mediumClasses, [2, 3, 4])
        XCTAssertEqual(s.fewClasses, [5, 6])
        XCTAssertEqual(s.many!, 0.85, accuracy: 1e-12)
        XCTAssertEqual(s.medium!, 0.6, accuracy: 1e-12)
        XCTAssertEqual(s.few!, 0.4, accuracy: 1e-12, "classes without test samples are skipped")
    }

    func testTerciles() throws {
        let s = try shotAccuracy(perClass: perClass, trainCounts: counts, split: .terciles)
        XCTAssertEqual(s.manyClasses, [0, 1, 2])
        XCTAssertEqual(s.mediumClasses, [3, 4])
        XCTAssertEqual(s.fewClasses, [5, 6])
        XCTAssertEqual(s.many!, 0.8, accuracy: 1e-12)
        // Fashion-MNIST-LT (ratio 10) has no class under 20 images, so thresholds leave "few" empty.
        let lt = try Dataset.longTailedCounts(maxCount: 6000, classes: 10, ratio: 10)
        let values: [Double?] = (0..<10).map { Double($0) / 10 }
        XCTAssertNil(try shotAccuracy(perClass: values, trainCounts: lt).few)
        let t = try shotAccuracy(perClass: values, trainCounts: lt, split: .terciles)
        XCTAssertEqual([t.manyClasses, t.mediumClasses, t.fewClasses], [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]])
        XCTAssertEqual(t.few!, 0.8, accuracy: 1e-12)
    }

    func testCumulativeHeadMiddleTail() throws {
        let s = try shotAccuracy(perClass: perClass, trainCounts: counts, split: .cumulative())
        XCTAssertEqual(s.manyClasses, [0, 1])
        XCTAssertEqual(s.mediumClasses, [2, 3, 4])
        XCTAssertEqual(s.fewClasses, [5, 6])
        assertDataError(.shapeMismatch, mentioning: ["shotAccuracy"]) { try shotAccuracy(perClass: [0.5], trainCounts: [1, 2]) }
    }

    /// FedLoGe's Fashion-MNIST-LT (n_c = floor(6000 * 0.01^(c/9))): 6000 3596 2156 | 1292 774 464 | 278 166 100 60,
    /// the class that crosses 75 % (95 %) of the samples closes the head (middle); rare-3 = the 3 smallest classes.
    func testFedLoGeHeadMiddleTailAndRareClasses() throws {
        let counts = try Dataset.longTailedCounts(maxCount: 6000, classes: 10, ratio: 100)
        XCTAssertEqual(counts, [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60])
        let values: [Double?] = (0..<10).map { Double($0) / 10 }
        let s = try shotAccuracy(perClass: values, trainCounts: counts, split: try ShotSplit(named: "cumulative"))
        XCTAssertEqual([s.manyClasses, s.mediumClasses, s.fewClasses], [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]])
        XCTAssertEqual(s.rareClasses, [7, 8, 9])
        XCTAssertEqual(s.rare!, 0.8, accuracy: 1e-12)
        XCTAssertEqual(rarestClasses(trainCounts: [5, 1, 1, 9], count: 1), [2], "ties: the later class is rarer")
        XCTAssertThrowsError(try ShotSplit(named: "quartiles")) { XCTAssertTrue("\($0)".contains("thresholds, terciles, cumulative"), "\($0)") }
    }
}

final class CalibrationMetricTests: XCTestCase {
    func testNegativeLogLikelihood() throws {
        // -log(3/4) and -log(1/3) average to log 2.
        let logits: [Float] = [0, Float(log(3.0)), Float(log(2.0)), 0]
        XCTAssertEqual(try negativeLogLikelihood(logits: logits, labels: [1, 1], classes: 2), log(2.0), accuracy: 1e-6)
        // Temperature 2 halves the logits: p = 1 / (1 + 2^(1/2)) for the second sample's label.
        let nll = try negativeLogLikelihood(logits: [0, 0, 2, 0], labels: [0, 1], classes: 2, temperature: 2)
        XCTAssertEqual(nll, (log(2.0) + log(1 + exp(1.0))) / 2, accuracy: 1e-6)
    }

    func testECEFromConfidences() throws {
        let confidences = [0.95, 0.85, 0.82, 0.35, 0.34]
        let correct = [true, false, true, false, true]
        // Bins (of 15): 14 -> |0.95 - 1| * 1/5; 12 -> |0.835 - 0.5| * 2/5; 5 -> |0.345 - 0.5| * 2/5.
        XCTAssertEqual(try expectedCalibrationError(confidences: confidences, correct: correct), 0.206, accuracy: 1e-12)
        XCTAssertEqual(try expectedCalibrationError(confidences: confidences, correct: correct, bins: 1), 0.062, accuracy: 1e-12)
        XCTAssertEqual(try expectedCalibrationError(confidences: [], correct: []), 0)
        assertDataError(.invalidArgument, mentioning: ["outside [0, 1]"]) { try expectedCalibrationError(confidences: [1.5], correct: [true]) }
    }

    func testECEFromLogits() throws {
        // Both samples predict class 1 with confidence 3/4; one is right: ECE = |0.75 - 0.5|.
        let logits: [Float] = [0, Float(log(3.0)), 0, Float(log(3.0))]
        XCTAssertEqual(try expectedCalibrationError(logits: logits, labels: [1, 0], classes: 2), 0.25, accuracy: 1e-6)
        let p = 3.0.squareRoot() / (1 + 3.0.squareRoot())
        XCTAssertEqual(try expectedCalibrationError(logits: logits, labels: [1, 0], classes: 2, temperature: 2), p - 0.5, accuracy: 1e-6)
        XCTAssertEqual(try brierScore(logits: logits, labels: [1, 0], classes: 2), (2 * 0.0625 + 2 * 0.5625) / 2, accuracy: 1e-6)
    }
}

final class OutOfDistributionMetricTests: XCTestCase {
    /// P(pos > neg) + P(pos == neg) / 2 by comparing every pair.
    private func bruteForce(_ positive: [Double], _ negative: [Double]) -> Double {
        var total = 0.0
        for p in positive { for n in negative { total += p > n ? 1 : (p == n ? 0.5 : 0) } }
        return total / Double(positive.count * negative.count)
    }

    func testHandComputedWithTies() throws {
        XCTAssertEqual(try auroc(positive: [0.9, 0.5, 0.5], negative: [0.5, 0.1]), 5.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(try auroc(positive: [3, 4], negative: [1, 2]), 1)
        XCTAssertEqual(try auroc(positive: [1, 2], negative: [3, 4]), 0)
        XCTAssertEqual(try auroc(positive: [1, 1, 1], negative: [1, 1]), 0.5)
        XCTAssertEqual(try auroc(scores: [0.9, 0.5, 0.5, 0.1], isPositive: [true, true, false, false]), 0.875, accuracy: 1e-12)
    }

    func testMatchesPairCountingOnRandomTiedScores() throws {
        var g = SeededGenerator(seed: 3)
        for _ in 0..<20 {
            let positive = (0..<(1 + g.uniformInt(below: 40))).map { _ in Double(g.uniformInt(below: 8)) }
            let negative = (0..<(1 + g.uniformInt(below: 40))).map { _ in Double(g.uniformInt(below: 6)) }
            XCTAssertEqual(try auroc(positive: positive, negative: negative), bruteForce(positive, negative), accuracy: 1e-12)
        }
    }

    func testFalsePositiveRateAt95() throws {
        let positive = (1...20).map(Double.init)
        let negative = [0.5, 5.5, 10.5, 19.5, 25]
        // 19 of 20 positives are >= 2, so the threshold is 2 and 4 of 5 negatives pass it.
        XCTAssertEqual(try falsePositiveRate(positive: positive, negative: negative), 0.8, accuracy: 1e-12)
        XCTAssertEqual(try falsePositiveRate(positive: positive, negative: negative, atTruePositiveRate: 0.5), 0.4, accuracy: 1e-12)
    }

    func testBadInputs() {
        assertDataError(.invalidArgument, mentioning: ["at least one positive"]) { try auroc(positive: [], negative: [1]) }
        assertDataError(.invalidArgument, mentioning: ["NaN"]) { try auroc(positive: [.nan], negative: [1]) }
        assertDataError(.shapeMismatch, mentioning: ["2 scores for 1 flags"]) { try auroc(scores: [1, 2], isPositive: [true]) }
    }
}

final class ClassificationMetricsTests: XCTestCase {
    func testSummaryAndJSONKeys() throws {
        let logits: [Float] = [2, 0, 0, 2, 2, 0, 0, 2]
        let metrics = try ClassificationMetrics(logits: logits, labels: [0, 1, 1, 1], classes: 2, trainCounts: [300, 10])
        XCTAssertEqual(metrics.count, 4)
        XCTAssertEqual(metrics.accuracy, 0.75, accuracy: 1e-12)
        XCTAssertEqual(metrics.perClassAccuracy[1]!, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(metrics.shots?.many, 1)
        XCTAssertEqual(metrics.shots!.few!, 2.0 / 3.0, accuracy: 1e-12)
        let json = String(decoding: try JSONEncoder().encode(metrics), as: UTF8.self)
        XCTAssertTrue(json.contains("\"per_class_accuracy\""), json)
        XCTAssertTrue(json.contains("\"accuracy\":0.75"), json)
        XCTAssertEqual(try JSONDecoder().decode(ClassificationMetrics.self, from: Data(json.utf8)), metrics)
    }
}
