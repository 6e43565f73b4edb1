import CTrainingLab

/// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p).
/// The mask comes from the counter-based generator at (seed, offset), so it does not depend on threads.
public func dropout(_ x: Tensor, probability p: Float, seed: UInt64, offset: UInt64 = 0) throws -> Tensor {
    guard p >= 0 && p < 1 else { throw TensorError("dropout: probability must be in [0, 1), got \(p)") }
    let mask = Tensor(uninitializedShape: x.shape)
    try tlCheck(tl_rng_bernoulli(mask.pointer, mask.count, seed, offset, 1 - p))
    try tlCheck(tl_affine(mask.pointer, mask.pointer, mask.count, 1 / (1 - p), 0))
    return try x * mask
}
