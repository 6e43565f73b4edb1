/// Finite-difference checks of autograd gradients, public so that a plugin's tests (or the host) can
/// verify a custom operation the same way the library's own tests verify its ops.
///
/// The function's output is projected onto a fixed random direction r (uniform in [-1, 1], seeded), so
/// one backward pass gives the gradient of the scalar sum(f(inputs) · r) for every input; central
/// differences of that scalar, accumulated in Double, estimate the same gradient one element at a time.
/// Only inputs with `requiresGrad` are checked. Inputs are perturbed in place and restored; their `grad`
/// holds the analytic gradient afterwards.
public enum GradientCheck {
    /// The largest finite-difference error of a custom operation's backward on random inputs (uniform in
    /// [-1, 1], seeded) of its example shapes.
    public static func check(_ operation: CustomOperation, step: Float = 1e-2, seed: UInt64 = 0) throws -> Double {
        guard !operation.exampleInputShapes.isEmpty else {
            throw TensorError("\(operation.name): no example input shapes to check the gradient on")
        }
        let inputs = operation.exampleInputShapes.enumerated().map { k, shape in
            Tensor.uniform(shape, low: -1, high: 1, seed: seed, offset: UInt64(k) << 32, requiresGrad: true)
        }
        return try maximumError(of: { try operation($0) }, at: inputs, step: step)
    }

    /// The analytic and the finite-difference gradient of one input, in row-major order.
    public struct Comparison {
        /// Position of the input in the `inputs` array.
        public let input: Int
        public let analytic: [Float]
        public let numeric: [Float]

        /// The largest |analytic - numeric| over the elements.
        public var maximumError: Double {
            zip(analytic, numeric).reduce(0) { Swift.max($0, Double(Swift.abs($1.0 - $1.1))) }
        }

        /// The first element with |analytic - numeric| > absoluteTolerance + relativeTolerance · |numeric|
        /// (NaN never passes), described for a failure message; nil when every element passes.
        public func firstMismatch(relativeTolerance: Float, absoluteTolerance: Float) -> String? {
            for i in analytic.indices
            where !(Swift.abs(analytic[i] - numeric[i]) <= absoluteTolerance + relativeTolerance * Swift.abs(numeric[i])) {
                return "input \(input) [\(i)]: autograd \(analytic[i]) vs finite difference \(numeric[i])"
            }
            return nil
        }
    }

    /// Analytic and central-difference gradients of every input of `f` that requires gradients, with
    /// differences of ±`step`. Throws when such an input receives no gradient.
    public static func compare(_ f: ([Tensor]) throws -> Tensor, at inputs: [Tensor], step: Float = 1e-2,
                               seed: UInt64 = 99) throws -> [Comparison] {
        for t in inputs { t.zeroGrad() }
        let out = try f(inputs)
        let direction = Tensor.uniform(out.shape, low: -1, high: 1, seed: seed)
        try (out * direction).sum().backward()
        func projected() throws -> Double {
            let y = try withoutGradients { try f(inputs) }
            guard y.count == direction.count else {
                throw TensorError("GradientCheck: the function returned \(y.shape) after \(out.shape)")
            }
            return (0..<y.count).reduce(0.0) { $0 + Double(y.pointer[$1]) * Double(direction.pointer[$1]) }
        }
        return try inputs.enumerated().filter { $0.element.requiresGrad }.map { k, t in
            guard let analytic = t.grad?.scalars else { throw TensorError("GradientCheck: input \(k) \(t.shape) received no gradient") }
            var numeric = [Float](repeating: 0, count: t.count)
            for i in 0..<t.count {
                let saved = t.pointer[i]
                defer { t.pointer[i] = saved }
                t.pointer[i] = saved + step
                let up = try projected()
                t.pointer[i] = saved - step
                let down = try projected()
                numeric[i] = Float((up - down) / Double(2 * step))
            }
            return Comparison(input: k, analytic: analytic, numeric: numeric)
        }
    }

    /// The largest |analytic - numeric| over all checked inputs and elements (0 when none requires gradients).
    public static func maximumError(of f: ([Tensor]) throws -> Tensor, at inputs: [Tensor], step: Float = 1e-2,
                                    seed: UInt64 = 99) throws -> Double {
        try compare(f, at: inputs, step: step, seed: seed).map(\.maximumError).max() ?? 0
    }
}
