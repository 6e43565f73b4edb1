/// Where parameter initialisation draws its random numbers. Each initialised tensor takes the next
/// stream of the current seed, so a model built under the same seed in the same order gets identical
/// weights (and the weights do not depend on the number of threads).
public enum ParameterInit {
    private static var seed: UInt64 = 0
    private static var stream: UInt64 = 0

    /// Builds something (usually a model) with initialisation drawn from `seed`.
    public static func withSeed<T>(_ seed: UInt64, _ body: () throws -> T) rethrows -> T {
        let saved = (self.seed, stream)
        self.seed = seed
        stream = 0
        defer { (self.seed, stream) = saved }
        return try body()
    }

    /// A fresh generator key for one tensor.
    static func nextKey() -> UInt64 {
        stream += 1
        return mix(seed, stream)
    }

    /// Uniform(-bound, bound) in the given shape, trainable.
    public static func uniform(_ shape: [Int], bound: Float) -> Tensor {
        Tensor.uniform(shape, low: -bound, high: bound, seed: nextKey(), requiresGrad: true)
    }

    /// Normal(0, std) in the given shape, trainable.
    public static func normal(_ shape: [Int], std: Float) -> Tensor {
        Tensor.normal(shape, mean: 0, std: std, seed: nextKey(), requiresGrad: true)
    }

    /// SplitMix64 finaliser over (seed, stream): well-separated keys for the counter-based generator.
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a &+ 0x9E3779B97F4A7C15 &* (b &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
