/// Base class of layers and models. Parameters are tensor properties that require gradients,
/// state (for checkpoints) is every tensor property; both are found by reflection and named by
/// property path ("block1.conv.weight", "layers.3.bias"), so a subclass only declares properties.
open class Module {
    /// Training mode (batch statistics, dropout) versus evaluation mode.
    public internal(set) var isTraining = true

    /// Builds a fresh module of the same architecture (same state names and shapes); `clone()` needs it.
    /// Builders attach it with `withRecipe(_:)`. Reflection lists only tensors and modules, so it is not state.
    public internal(set) var rebuild: (() throws -> Module)?

    /// What a registered builder made this model from (`ModelCatalog.make` sets it on the root); nil for modules
    /// built otherwise. Model files record it. Reflection lists only tensors and modules, so it is not state.
    public internal(set) var architecture: ModelArchitecture?

    public init() {}

    /// The layer's computation. Subclasses override it; callers use `module(x)`.
    open func forward(_ x: Tensor) throws -> Tensor {
        throw TensorError("\(type(of: self)) does not implement forward(_:)")
    }

    public final func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x) }

    /// Direct sub-modules with their property names (arrays of modules are named by index).
    public var children: [(String, Module)] {
        reflectedProperties().compactMap { name, value in (value as? Module).map { (name, $0) } }
    }

    /// Every tensor of this module and its descendants, by dotted path: parameters and buffers.
    public func namedState() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (name, value) in reflectedProperties() {
            if let t = value as? Tensor { out.append((name, t)) }
            else if let m = value as? Module { out += m.namedState().map { ("\(name).\($0.0)", $0.1) } }
        }
        return out
    }

    /// Tensors that require gradients, by dotted path.
    public func namedParameters() -> [(String, Tensor)] { namedState().filter { $0.1.requiresGrad } }

    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Switches this module and all descendants to training (true) or evaluation (false) mode.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in children { child.train(on) }
    }

    public func eval() { train(false) }

    /// Runs `body` with this module in evaluation mode and restores its previous mode afterwards.
    public func inEvaluationMode<T>(_ body: () throws -> T) rethrows -> T {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return try body()
    }

    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

    /// Stored properties as (name, value), flattening arrays of modules and unwrapping optionals,
    /// including those declared by superclasses.
    private func reflectedProperties() -> [(String, Any)] {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror { mirrors.insert(m, at: 0); mirror = m.superclassMirror }
        var out: [(String, Any)] = []
        for m in mirrors {
            for child in m.children {
                guard let label = child.label, label != "isTraining" else { continue }
                let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
                if let modules = child.value as? [Module] {
                    out += modules.enumerated().map { ("\(name).\($0.offset)", $0.element as Any) }
                } else if let t = child.value as? Tensor {
                    out.append((name, t))
                } else if let m = child.value as? Module {
                    out.append((name, m))
                }
            }
        }
        return out
    }
}

/// Layers applied in order.
public final class Sequential: Module {
    public let layers: [Module]

    /// Layer position -> name under which that layer's output is published to `ForwardCapture`
    /// (e.g. "features": the input of the classifier), without changing the state names.
    public let publishedOutputs: [Int: String]

    /// `outputs` names layer outputs by position: ["features": layers.count - 2] publishes what the last layer reads.
    public init(_ layers: [Module], outputs: [String: Int] = [:]) {
        self.layers = layers
        publishedOutputs = Dictionary(uniqueKeysWithValues: outputs.map { ($0.value, $0.key) })
    }
    public convenience init(_ layers: Module...) { self.init(layers) }

    /// Runs the layers in order; a BatchNorm directly followed by a ReLU (and a 2x2 MaxPool2d) runs as one fused op
    /// (same parameters, same names, same result up to an ulp).
    override public func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        var i = 0
        while i < layers.count {
            // A fused group must not hide an output that is published from inside it.
            if let bn = layers[i] as? BatchNorm, i + 1 < layers.count, let act = layers[i + 1] as? Activation,
               case .relu = act.kind, publishedOutputs[i] == nil {
                if i + 2 < layers.count, let pool = layers[i + 2] as? MaxPool2d, pool.isPlain2x2, publishedOutputs[i + 1] == nil,
                   h.rank == 4, h.shape[2] >= 2, h.shape[3] >= 2 {
                    h = try bn.forwardReLUMaxPool2(h)
                    i += 3
                } else {
                    h = try bn.forwardReLU(h)
                    i += 2
                }
            } else {
                h = try layers[i](h)
                i += 1
            }
            if let name = publishedOutputs[i - 1] { ForwardCapture.record(name, h) }
        }
        return h
    }
}

/// (N, ...) -> (N, product of the rest).
public final class Flatten: Module {
    override public func forward(_ x: Tensor) throws -> Tensor { try x.flattened() }
}
