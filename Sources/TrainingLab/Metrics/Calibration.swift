import Foundation

/// Likelihood and calibration of predicted probabilities, softmax(logits / temperature), in Double.

/// Log-softmax of one row, in Double (max-shifted).
func logSoftmaxRow(_ logits: [Float], row: Int, classes: Int, temperature: Double) -> [Double] {
    let values = (0..<classes).map { Double(logits[row * classes + $0]) / temperature }
    let top = values.max() ?? 0
    let logSum = top + log(values.reduce(0) { $0 + exp($1 - top) })
    return values.map { $0 - logSum }
}

/// Mean negative log-likelihood of the labels, -mean log softmax(logits / T)[label]; 0 for no samples.
public func negativeLogLikelihood(logits: [Float], labels: [Int32], classes: Int, temperature: Double = 1) throws -> Double {
    let n = try MetricInputs.rows(logits: logits.count, classes: classes, labels: labels, metric: "negativeLogLikelihood")
    guard temperature > 0 else { throw DataError(.invalidArgument, "negativeLogLikelihood: temperature must be > 0, got \(temperature)") }
    guard n > 0 else { return 0 }
    var total = 0.0
    for i in 0..<n { total -= logSoftmaxRow(logits, row: i, classes: classes, temperature: temperature)[Int(labels[i])] }
    return total / Double(n)
}

/// Expected calibration error with `bins` equal-width confidence bins (Guo et al. 2017; 15 bins is the
/// convention): ECE = sum_b (n_b / n) |mean confidence_b - accuracy_b|, bin b = (b/bins, (b+1)/bins].
/// Confidence = max softmax(logits / T), correct = argmax == label. A fraction (0-1); 0 for no samples.
public func expectedCalibrationError(logits: [Float], labels: [Int32], classes: Int, bins: Int = 15,
                                     temperature: Double = 1) throws -> Double {
    let n = try MetricInputs.rows(logits: logits.count, classes: classes, labels: labels, metric: "expectedCalibrationError")
    guard temperature > 0 else { throw DataError(.invalidArgument, "expectedCalibrationError: temperature must be > 0, got \(temperature)") }
    let predicted = try predictions(logits: logits, classes: classes)
    var confidences = [Double](repeating: 0, count: n)
    for i in 0..<n { confidences[i] = exp(logSoftmaxRow(logits, row: i, classes: classes, temperature: temperature)[Int(predicted[i])]) }
    return try expectedCalibrationError(confidences: confidences, correct: (0..<n).map { predicted[$0] == labels[$0] }, bins: bins)
}

/// ECE from confidences in [0, 1] and correctness flags (see the logits version).
public func expectedCalibrationError(confidences: [Double], correct: [Bool], bins: Int = 15) throws -> Double {
    guard confidences.count == correct.count else {
        throw DataError(.shapeMismatch, "expectedCalibrationError: \(confidences.count) confidences for \(correct.count) flags")
    }
    guard bins > 0 else { throw DataError(.invalidArgument, "expectedCalibrationError: bins must be > 0, got \(bins)") }
    guard !confidences.isEmpty else { return 0 }
    var count = [Int](repeating: 0, count: bins), confidence = [Double](repeating: 0, count: bins), hits = [Int](repeating: 0, count: bins)
    for (p, ok) in zip(confidences, correct) {
        guard p >= 0, p <= 1 else { throw DataError(.invalidArgument, "expectedCalibrationError: confidence \(p) is outside [0, 1]") }
        let b = min(bins - 1, max(0, Int((p * Double(bins)).rounded(.up)) - 1))
        count[b] += 1
        confidence[b] += p
        if ok { hits[b] += 1 }
    }
    var ece = 0.0
    for b in 0..<bins where count[b] > 0 {
        ece += abs(confidence[b] - Double(hits[b])) / Double(confidences.count)
    }
    return ece
}

/// Multi-class Brier score: mean over samples of sum_c (p_c - [c == label])^2, p = softmax(logits / T).
public func brierScore(logits: [Float], labels: [Int32], classes: Int, temperature: Double = 1) throws -> Double {
    let n = try MetricInputs.rows(logits: logits.count, classes: classes, labels: labels, metric: "brierScore")
    guard temperature > 0 else { throw DataError(.invalidArgument, "brierScore: temperature must be > 0, got \(temperature)") }
    guard n > 0 else { return 0 }
    var total = 0.0
    for i in 0..<n {
        let logp = logSoftmaxRow(logits, row: i, classes: classes, temperature: temperature)
        for c in 0..<classes {
            let d = exp(logp[c]) - (c == Int(labels[i]) ? 1 : 0)
            total += d * d
        }
    }
    return total / Double(n)
}
