/// Separation of two score sets, as used for out-of-distribution detection (the "positive" set is whichever
/// the score should rank higher, e.g. OOD samples with score -confidence).

/// Area under the ROC curve = P(positive > negative) + P(tie) / 2, the Mann-Whitney U statistic over
/// n_pos x n_neg, computed from mid-ranks of the pooled scores (ties handled exactly). NaN scores are an error.
public func auroc(positive: [Double], negative: [Double]) throws -> Double {
    guard !positive.isEmpty, !negative.isEmpty else {
        throw DataError(.invalidArgument, "auroc: needs at least one positive and one negative score, got \(positive.count) and \(negative.count)")
    }
    guard !positive.contains(where: \.isNaN), !negative.contains(where: \.isNaN) else {
        throw DataError(.invalidArgument, "auroc: scores must not be NaN")
    }
    let pooled = (positive.map { ($0, true) } + negative.map { ($0, false) }).sorted { $0.0 < $1.0 }
    var rankSum = 0.0
    var i = 0
    while i < pooled.count {
        var j = i
        while j + 1 < pooled.count && pooled[j + 1].0 == pooled[i].0 { j += 1 }
        let midRank = Double(i + j + 2) / 2
        for k in i...j where pooled[k].1 { rankSum += midRank }
        i = j + 1
    }
    let np = Double(positive.count), nn = Double(negative.count)
    return (rankSum - np * (np + 1) / 2) / (np * nn)
}

/// AUROC from one score array and a flag per sample marking the positives.
public func auroc(scores: [Double], isPositive: [Bool]) throws -> Double {
    guard scores.count == isPositive.count else {
        throw DataError(.shapeMismatch, "auroc: \(scores.count) scores for \(isPositive.count) flags")
    }
    return try auroc(positive: zip(scores, isPositive).filter { $0.1 }.map { $0.0 },
                     negative: zip(scores, isPositive).filter { !$0.1 }.map { $0.0 })
}

/// False-positive rate at the highest threshold t that flags (score >= t) at least `rate` of the positives,
/// i.e. FPR95 for rate 0.95: the fraction of negatives with score >= t.
public func falsePositiveRate(positive: [Double], negative: [Double], atTruePositiveRate rate: Double = 0.95) throws -> Double {
    guard !positive.isEmpty, !negative.isEmpty else {
        throw DataError(.invalidArgument, "falsePositiveRate: needs positive and negative scores")
    }
    guard rate > 0, rate <= 1 else { throw DataError(.invalidArgument, "falsePositiveRate: rate must be in (0, 1], got \(rate)") }
    let sorted = positive.sorted(by: >)
    let needed = Int((rate * Double(sorted.count)).rounded(.up))
    let threshold = sorted[max(0, min(sorted.count, needed) - 1)]
    return Double(negative.filter { $0 >= threshold }.count) / Double(negative.count)
}
