/// The standard evaluation of a classifier on one split, computed once from all its logits: the fields that
/// go under `test` in report.json (accuracy is a fraction 0-1).
public struct ClassificationMetrics: Codable, Equatable, Sendable {
    public var count: Int
    public var accuracy: Double
    public var perClassAccuracy: [Double?]
    public var meanClassAccuracy: Double
    public var nll: Double
    public var ece: Double
    /// Present when training class counts were given (long-tailed data).
    public var shots: ShotAccuracy?

    enum CodingKeys: String, CodingKey {
        case count, accuracy, nll, ece, shots
        case perClassAccuracy = "per_class_accuracy"
        case meanClassAccuracy = "mean_class_accuracy"
    }

    /// All metrics of logits (N, C) row-major against labels; `trainCounts` adds many/medium/few accuracy.
    public init(logits: [Float], labels: [Int32], classes: Int, trainCounts: [Int]? = nil,
                shotSplit: ShotSplit = .standard, calibrationBins: Int = 15) throws {
        count = labels.count
        accuracy = try top1Accuracy(logits: logits, labels: labels, classes: classes)
        perClassAccuracy = try TrainingLab.perClassAccuracy(logits: logits, labels: labels, classes: classes)
        meanClassAccuracy = TrainingLab.meanClassAccuracy(perClassAccuracy)
        nll = try negativeLogLikelihood(logits: logits, labels: labels, classes: classes)
        ece = try expectedCalibrationError(logits: logits, labels: labels, classes: classes, bins: calibrationBins)
        shots = try trainCounts.map { try shotAccuracy(perClass: perClassAccuracy, trainCounts: $0, split: shotSplit) }
    }
}
