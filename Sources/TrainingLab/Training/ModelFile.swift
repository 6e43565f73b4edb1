import Foundation

/// A model's state (parameters and buffers) as a safetensors file, with a `ModelCard` as its metadata.
///
/// Tensors carry portable names, the state-dict keys of the equivalent PyTorch module: the layers of a
/// `Sequential` are named by position ("0.weight", "features.3.bias" for a nested one: its `layers` level is
/// dropped), and the normalisation layers' tensors take PyTorch's names (gamma -> weight, beta -> bias,
/// runningMean -> running_mean, runningVar -> running_var). Every other tensor keeps its property path.
/// Files written before the card existed (no "format" metadata) hold the property paths and are still read.
public enum ModelFile {
    /// Writes every tensor of the model as F32 under its portable name, atomically.
    public static func save(_ model: Module, to url: URL, card: ModelCard? = nil) throws {
        let named = try portableState(of: model)
        try SafeTensors.write(try tensors(of: named), metadata: card?.metadata ?? ["format": ModelCard.format], to: url)
    }

    /// Overwrites the model's tensors from a model file; names and shapes must match exactly.
    public static func load(into model: Module, from url: URL) throws {
        try load(into: model, from: try SafeTensors.read(from: url), path: url.path)
    }

    static func load(into model: Module, from file: SafeTensorsFile, path: String) throws {
        switch file.metadata["format"] {
        case nil: try restore(model.namedState(), from: file, path: path)
        case ModelCard.format?: try restore(try portableState(of: model), from: file, path: path)
        case let other?:
            throw ConfigError("\(path): model file format '\(other)' is not one this TrainingLab \(TrainingLabVersion.string) reads (\(ModelCard.format))")
        }
    }

    /// The model's state under portable names (see the type's comment), in `namedState()` order.
    public static func portableState(of model: Module) throws -> [(String, Tensor)] {
        var names: [ObjectIdentifier: String] = [:]
        func visit(_ module: Module, _ prefix: String) {
            let renames = (module is BatchNorm || module is GroupNorm || module is LayerNorm) ? normalizationNames : [:]
            for (name, tensor) in module.namedState() where !name.contains(".") {
                names[ObjectIdentifier(tensor)] = prefix + (renames[name] ?? name)
            }
            for (name, child) in module.children {
                let portable = module is Sequential && name.hasPrefix("layers.") ? String(name.dropFirst("layers.".count)) : name
                visit(child, prefix + portable + ".")
            }
        }
        visit(model, "")
        let named = model.namedState().map { (names[ObjectIdentifier($0.1)] ?? $0.0, $0.1) }
        var seen = Set<String>()
        if let twice = named.first(where: { !seen.insert($0.0).inserted }) {
            throw ConfigError("model state: two tensors map to the portable name '\(twice.0)'")
        }
        return named
    }

    /// PyTorch's names of the normalisation layers' tensors.
    static let normalizationNames = ["gamma": "weight", "beta": "bias", "runningMean": "running_mean", "runningVar": "running_var"]

    /// SafeTensor values of named tensors.
    static func tensors(of named: [(String, Tensor)]) throws -> [(String, SafeTensor)] {
        try named.map { name, t in (name, try SafeTensor(floats: t.scalars, shape: t.shape)) }
    }

    /// Copies the file's tensors into `named`, refusing missing, extra or mis-shaped entries.
    static func restore(_ named: [(String, Tensor)], from file: SafeTensorsFile, path: String, prefix: String = "") throws {
        let expected = Set(named.map { prefix + $0.0 })
        let found = Set(file.tensors.map(\.name).filter { $0.hasPrefix(prefix) })
        if let extra = found.subtracting(expected).sorted().first {
            throw ConfigError("\(path): tensor '\(extra)' does not belong to this model")
        }
        for (name, t) in named {
            guard let stored = file[prefix + name] else { throw ConfigError("\(path): tensor '\(prefix + name)' is missing") }
            guard stored.shape == t.shape else {
                throw ConfigError("\(path): tensor '\(prefix + name)' has shape \(stored.shape), the model expects \(t.shape)")
            }
            let values = try stored.floats()
            values.withUnsafeBufferPointer { t.pointer.update(from: $0.baseAddress!, count: values.count) }
        }
    }
}
