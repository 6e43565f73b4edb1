/// Dropout in training mode, identity in evaluation. Each call draws a fresh mask from the layer's
/// own stream (seeded at construction), so a run is reproducible under its seed.
public final class Dropout: Module {
    public let probability: Float
    private let seed = ParameterInit.nextKey()
    private var calls: UInt64 = 0

    public init(_ probability: Float) { self.probability = probability }

    override public func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining, probability > 0 else { return x }
        calls += 1
        return try dropout(x, probability: probability, seed: seed, offset: calls << 32)
    }
}
