import Foundation

/// A model's state (parameters and buffers, by name) as a safetensors file.
public enum ModelFile {
    /// Writes every tensor of `model.namedState()` as F32, atomically.
    public static func save(_ model: Module, to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(try tensors(of: model.namedState()), metadata: metadata, to: url)
    }

    /// Overwrites the model's tensors from a file written by `save`; names and shapes must match exactly.
    public static func load(into model: Module, from url: URL) throws {
        let file = try SafeTensors.read(from: url)
        try restore(model.namedState(), from: file, path: url.path)
    }

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
