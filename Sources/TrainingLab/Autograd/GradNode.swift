/// One recorded differentiable op: its inputs and the function that maps the gradient of its output
/// to the gradients of its inputs. `sequence` orders nodes by creation, so sorting reachable nodes by
/// decreasing sequence replays the tape backwards (a valid reverse topological order).
final class GradNode {
    let name: String
    let sequence: Int
    let inputs: [Tensor]
    /// (gradient of the output, the output) -> gradient of each input (nil where not needed).
    /// The output is passed in rather than captured, so no reference cycle keeps the graph alive.
    let backward: (_ gradOutput: Tensor, _ output: Tensor) throws -> [Tensor?]

    private static var counter = 0

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor, Tensor) throws -> [Tensor?]) {
        GradNode.counter += 1
        self.sequence = GradNode.counter
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record gradient nodes (off inside `withoutGradients`).
public enum GradMode {
    public internal(set) static var isEnabled = true
}

/// Runs `body` without recording any op for differentiation (evaluation, teachers, statistics).
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    let previous = GradMode.isEnabled
    GradMode.isEnabled = false
    defer { GradMode.isEnabled = previous }
    return try body()
}

extension Tensor {
    /// Records `output` as produced by an op over `inputs` when any input needs a gradient.
    /// `backward` receives which inputs need gradients and may skip the others.
    @discardableResult
    func recording(_ name: String, inputs: [Tensor],
                   _ backward: @escaping (_ gradOutput: Tensor, _ output: Tensor, _ needs: [Bool]) throws -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled else { return self }
        let needs = inputs.map(\.requiresGrad)
        guard needs.contains(true) else { return self }
        requiresGrad = true
        gradNode = GradNode(name: name, inputs: inputs) { g, out in try backward(g, out, needs) }
        return self
    }

    /// Whether this tensor was produced by a recorded op (false for leaves).
    public var isLeaf: Bool { gradNode == nil }
}
