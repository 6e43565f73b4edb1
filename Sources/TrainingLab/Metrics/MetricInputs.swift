/// Shape checks shared by the metrics: a mismatch is reported as an error, never a crash.
enum MetricInputs {
    /// Number of rows of logits (N, C) row-major, checked against the labels (if given) and the class count.
    static func rows(logits: Int, classes: Int, labels: [Int32]?, metric: String) throws -> Int {
        guard classes > 0, logits % classes == 0 else {
            throw DataError(.shapeMismatch, "\(metric): \(logits) logits are not (N, \(classes)) row-major")
        }
        let n = logits / classes
        if let labels {
            guard labels.count == n else {
                throw DataError(.shapeMismatch, "\(metric): \(n) logit rows for \(labels.count) labels")
            }
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
                throw DataError(.labelOutOfRange, "\(metric): label \(labels[bad]) of sample \(bad) is outside 0..<\(classes)")
            }
        }
        return n
    }
}
