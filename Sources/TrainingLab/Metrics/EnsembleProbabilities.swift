import Foundation

/// The ensemble's prediction of several models' logits: the mean of their softmax probabilities, returned
/// as log-probabilities (N, C) so that every logits metric applies to it unchanged (softmax of a log of
/// probabilities gives them back; argmax, NLL and ECE are those of the mean probabilities).
public func ensembleLogProbabilities(_ members: [[Float]], classes: Int) throws -> [Float] {
    guard let first = members.first else { throw DataError(.invalidArgument, "ensembleLogProbabilities: no members") }
    let n = try MetricInputs.rows(logits: first.count, classes: classes, labels: nil, metric: "ensembleLogProbabilities")
    guard members.allSatisfy({ $0.count == first.count }) else {
        throw DataError(.shapeMismatch, "ensembleLogProbabilities: members have \(members.map(\.count)) logits, expected \(first.count) each")
    }
    var out = [Float](repeating: 0, count: first.count)
    for i in 0..<n {
        var mean = [Double](repeating: 0, count: classes)
        for logits in members {
            let logp = logSoftmaxRow(logits, row: i, classes: classes, temperature: 1)
            for c in 0..<classes { mean[c] += exp(logp[c]) / Double(members.count) }
        }
        for c in 0..<classes { out[i * classes + c] = Float(log(mean[c])) }
    }
    return out
}
