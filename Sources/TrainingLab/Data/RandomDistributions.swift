import Foundation

/// The draws the data pipeline needs, each written out so that its result depends only on the generator's
/// words (no standard-library algorithm whose implementation may change between versions).
extension SeededGenerator {
    /// Uniform integer in 0..<n (n > 0), unbiased (Lemire's multiply-and-reject).
    public mutating func uniformInt(below n: Int) -> Int {
        precondition(n > 0, "uniformInt(below:) needs n > 0, got \(n)")
        let bound = UInt64(n)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return Int(product.high)
    }

    /// Uniform double in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal by Box-Muller (one draw per call, no cached second value, so the state stays simple).
    public mutating func normal() -> Double {
        let u1 = 1.0 - uniform(), u2 = uniform()
        return (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
    }

    /// log of a Gamma(shape, 1) draw (Marsaglia-Tsang; shape < 1 by the boost G(a) = G(a+1) U^(1/a)).
    /// Working in logs keeps tiny shapes (Dirichlet alpha = 0.01) from underflowing to 0.
    public mutating func logGamma(shape: Double) -> Double {
        precondition(shape > 0 && shape.isFinite, "logGamma(shape:) needs a finite shape > 0, got \(shape)")
        if shape < 1 {
            return logGamma(shape: shape + 1) + Foundation.log(1.0 - uniform()) / shape
        }
        let d = shape - 1.0 / 3.0, c = 1.0 / (9.0 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = normal()
                v = 1.0 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1.0 - uniform()
            if Foundation.log(u) < 0.5 * x * x + d - d * v + d * Foundation.log(v) { return Foundation.log(d * v) }
        }
    }

    /// A Gamma(shape, 1) draw.
    public mutating func gamma(shape: Double) -> Double { Foundation.exp(logGamma(shape: shape)) }

    /// A Dirichlet(alpha) draw: normalised Gamma draws, normalised in log space.
    public mutating func dirichlet(_ alpha: [Double]) -> [Double] {
        precondition(!alpha.isEmpty, "dirichlet needs at least one concentration")
        let logs = alpha.map { logGamma(shape: $0) }
        let top = logs.max()!
        let weights = logs.map { Foundation.exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// Index drawn with probability proportional to `weights` (non-negative, not all zero).
    public mutating func categorical(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        precondition(total > 0, "categorical needs a positive total weight")
        let target = uniform() * total
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            cumulative += w
            if target < cumulative { return i }
        }
        return weights.lastIndex(where: { $0 > 0 })!
    }

    /// Fisher-Yates shuffle in place.
    public mutating func shuffle<T>(_ values: inout [T]) {
        var i = values.count - 1
        while i > 0 {
            values.swapAt(i, uniformInt(below: i + 1))
            i -= 1
        }
    }

    /// A random permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var order = Array(0..<n)
        shuffle(&order)
        return order
    }

    /// k distinct indices of 0..<n in random order (a partial Fisher-Yates).
    public mutating func sample(_ k: Int, from n: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "sample(\(k), from: \(n)): need 0 <= k <= n")
        var pool = Array(0..<n)
        for i in 0..<k { pool.swapAt(i, i + uniformInt(below: n - i)) }
        return Array(pool[..<k])
    }
}
