/// Cosine similarity between the mean embeddings of the classes: how far apart a representation puts
/// the classes (SCoRe's inter-class separation; 1 means two classes share a direction).
public struct ClassMeanCosine: Sendable {
    /// (classes x classes) cosines, row-major; nil where a class has no sample or a zero mean.
    public var matrix: [Double?]
    public var classes: Int
    /// The largest cosine between two different classes and that pair (nil with fewer than two classes).
    public var maximum: Double?
    public var maximumPair: (Int, Int)?

    /// From embeddings (N, D) row-major with their labels; rows are averaged as given (normalise them first
    /// to average directions).
    public init(embeddings: [Float], dimension: Int, labels: [Int32], classes: Int) throws {
        guard dimension > 0, embeddings.count == labels.count * dimension, classes > 0 else {
            throw DataError(.shapeMismatch, "ClassMeanCosine: \(embeddings.count) values for \(labels.count) rows of dimension \(dimension)")
        }
        var sums = [Double](repeating: 0, count: classes * dimension), counts = [Int](repeating: 0, count: classes)
        for (row, label) in labels.enumerated() {
            guard label >= 0, Int(label) < classes else { throw DataError(.shapeMismatch, "ClassMeanCosine: label \(label) outside 0..<\(classes)") }
            let c = Int(label)
            counts[c] += 1
            for k in 0..<dimension { sums[c * dimension + k] += Double(embeddings[row * dimension + k]) }
        }
        let norms = (0..<classes).map { c in (0..<dimension).reduce(0.0) { $0 + sums[c * dimension + $1] * sums[c * dimension + $1] }.squareRoot() }
        var matrix = [Double?](repeating: nil, count: classes * classes)
        var best: (Double, Int, Int)?
        for a in 0..<classes where counts[a] > 0 && norms[a] > 0 {
            for b in 0..<classes where counts[b] > 0 && norms[b] > 0 {
                let dot = (0..<dimension).reduce(0.0) { $0 + sums[a * dimension + $1] * sums[b * dimension + $1] }
                let cosine = dot / (norms[a] * norms[b])
                matrix[a * classes + b] = cosine
                if a < b, best == nil || cosine > best!.0 { best = (cosine, a, b) }
            }
        }
        self.matrix = matrix
        self.classes = classes
        maximum = best?.0
        maximumPair = best.map { ($0.1, $0.2) }
    }
}
