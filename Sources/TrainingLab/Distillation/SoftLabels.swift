/// Soft labels of a teacher for distillation (Hinton et al. 2015; LTD): q = softmax(z_T / T) per sample.
public struct SoftLabels {
    /// (N, C) row-major probabilities.
    public let probabilities: [Float]
    public let classes: Int
    /// Samples whose teacher argmax is their label (before any replacement).
    public let teacherCorrect: Int
    /// Rows replaced by the one-hot label because the teacher was wrong.
    public let replaced: Int

    /// q from teacher logits (N, C) at temperature `temperature`; with `oneHotWhereWrong`, rows whose argmax
    /// differs from the label become the one-hot label (a wrong q teaches the wrong class).
    public init(teacherLogits: [Float], labels: [Int32], classes: Int, temperature: Float, oneHotWhereWrong: Bool = false) throws {
        let n = labels.count
        guard classes > 0, teacherLogits.count == n * classes else {
            throw TensorError("SoftLabels: \(teacherLogits.count) logits for \(n) samples of \(classes) classes")
        }
        guard temperature > 0, temperature.isFinite else { throw TensorError("SoftLabels: temperature must be > 0, got \(temperature)") }
        let predicted = try predictions(logits: teacherLogits, classes: classes)
        var q = n == 0 ? [] : try withoutGradients {
            try softmax(try Tensor(teacherLogits, shape: [n, classes]) * (1 / temperature)).scalars
        }
        var replaced = 0
        for i in 0..<n where predicted[i] != labels[i] && oneHotWhereWrong {
            for c in 0..<classes { q[i * classes + c] = c == Int(labels[i]) ? 1 : 0 }
            replaced += 1
        }
        probabilities = q
        self.classes = classes
        teacherCorrect = zip(predicted, labels).filter { $0 == $1 }.count
        self.replaced = replaced
    }

    public var count: Int { classes > 0 ? probabilities.count / classes : 0 }

    /// The rows of `indices` as an (indices.count, C) tensor.
    public func rows(_ indices: [Int]) throws -> Tensor {
        var out = [Float](repeating: 0, count: indices.count * classes)
        for (r, i) in indices.enumerated() {
            guard i >= 0, i < count else { throw TensorError("SoftLabels: sample \(i) outside 0..<\(count)") }
            out.replaceSubrange((r * classes)..<((r + 1) * classes), with: probabilities[(i * classes)..<((i + 1) * classes)])
        }
        return try Tensor(out, shape: [indices.count, classes])
    }
}
