/// Classification accuracy on plain arrays: logits (N, C) row-major float32 and Int32 labels in 0..<C.

/// argmax of each row of logits (N, C); ties go to the lowest class, NaN never wins over a number.
public func predictions(logits: [Float], classes: Int) throws -> [Int32] {
    let n = try MetricInputs.rows(logits: logits.count, classes: classes, labels: nil, metric: "predictions")
    return (0..<n).map { i in
        var best = 0
        var top = logits[i * classes]
        for c in 1..<max(1, classes) {
            let v = logits[i * classes + c]
            if v > top || (top.isNaN && !v.isNaN) { best = c; top = v }
        }
        return Int32(best)
    }
}

/// Fraction (0-1) of samples whose argmax equals the label; 0 for no samples.
public func top1Accuracy(logits: [Float], labels: [Int32], classes: Int) throws -> Double {
    _ = try MetricInputs.rows(logits: logits.count, classes: classes, labels: labels, metric: "top1Accuracy")
    let predicted = try predictions(logits: logits, classes: classes)
    guard !labels.isEmpty else { return 0 }
    return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
}

/// Accuracy (0-1) when only the classes with `allowed[c]` can be predicted: the other classes' logits count as
/// -infinity (a federated client masks the classes it never trained on).
public func top1Accuracy(logits: [Float], labels: [Int32], classes: Int, allowed: [Bool]) throws -> Double {
    guard allowed.count == classes else {
        throw DataError(.shapeMismatch, "top1Accuracy: \(allowed.count) allowed-class flags for \(classes) classes")
    }
    var masked = logits
    for i in masked.indices where !allowed[i % classes] { masked[i] = -.infinity }
    return try top1Accuracy(logits: masked, labels: labels, classes: classes)
}

/// Accuracy (0-1) of each class over its samples; nil for a class with no samples.
public func perClassAccuracy(logits: [Float], labels: [Int32], classes: Int) throws -> [Double?] {
    _ = try MetricInputs.rows(logits: logits.count, classes: classes, labels: labels, metric: "perClassAccuracy")
    let predicted = try predictions(logits: logits, classes: classes)
    var correct = [Int](repeating: 0, count: classes), total = [Int](repeating: 0, count: classes)
    for (p, y) in zip(predicted, labels) {
        total[Int(y)] += 1
        if p == y { correct[Int(y)] += 1 }
    }
    return (0..<classes).map { total[$0] > 0 ? Double(correct[$0]) / Double(total[$0]) : nil }
}

/// Mean of the defined per-class accuracies (balanced accuracy); 0 when none is defined.
public func meanClassAccuracy(_ perClass: [Double?]) -> Double {
    let defined = perClass.compactMap { $0 }
    return defined.isEmpty ? 0 : defined.reduce(0, +) / Double(defined.count)
}
