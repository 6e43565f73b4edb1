/// Named intermediate outputs of one forward pass: features before the classifier, per-layer spikes and
/// membrane potentials, attention maps, per-timestep logits. A layer publishes a tensor with
/// `ForwardCapture.record(name, tensor)`; whoever runs the forward inside `ForwardCapture.run` gets every
/// published tensor back, so a method reads intermediate values without a second forward pass.
/// Outside `run`, `record` does nothing, so publishing costs nothing when nobody listens.
///
///     let (logits, outputs) = try ForwardCapture.run { try model(x) }
///     let features = outputs["features"]          // the last tensor recorded under that name
///     let spikes = outputs.all("lif1.spikes")      // every tensor recorded under it, in order
///
/// The recorded tensors keep their gradient history, so a regulariser on them (spike rates, attention
/// sparsity) differentiates through the same graph as the loss.
public struct ForwardOutputs {
    private var values: [String: [Tensor]] = [:]
    /// Names in the order they were first recorded.
    public private(set) var names: [String] = []

    public init() {}

    mutating func append(_ name: String, _ tensor: Tensor) {
        if values[name] == nil { names.append(name) }
        values[name, default: []].append(tensor)
    }

    /// The last tensor recorded under `name` (nil if none).
    public subscript(name: String) -> Tensor? { values[name]?.last }

    /// Every tensor recorded under `name`, in recording order (one per timestep, per call ...).
    public func all(_ name: String) -> [Tensor] { values[name] ?? [] }

    /// The tensor recorded under `name`; a clear error names the outputs the model did publish.
    public func require(_ name: String) throws -> Tensor {
        guard let t = self[name] else {
            throw TensorError("the model published no output '\(name)'; it published: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        return t
    }

    public var isEmpty: Bool { names.isEmpty }
}

public enum ForwardCapture {
    /// Captures of the forwards in progress, innermost last (a forward may run another model's forward,
    /// e.g. a teacher inside a student's step; each capture sees only its own forward's records).
    private static var stack: [ForwardOutputs] = []

    /// Runs `body` and returns its result with every output recorded during it.
    public static func run<T>(_ body: () throws -> T) rethrows -> (T, ForwardOutputs) {
        stack.append(ForwardOutputs())
        do {
            let result = try body()
            return (result, stack.removeLast())
        } catch {
            stack.removeLast()
            throw error
        }
    }

    /// Publishes `tensor` under `name` to the innermost capture, if any.
    public static func record(_ name: String, _ tensor: Tensor) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].append(name, tensor)
    }

    /// Whether a capture is listening (a layer may skip computing a diagnostic nobody reads).
    public static var isCapturing: Bool { !stack.isEmpty }
}
