import CTrainingLab

/// What a plugin's entry symbol hands to the host: the method types it provides, the models they (or users)
/// can name with `--model`, the dataset derivations a dataset SPEC can name, the Swift augmentations a run
/// can select, and the evaluation metrics computed on final models.
/// The host casts the returned object to this class; that cast (and `is any TrainingMethod.Type` on the
/// types) only succeeds because host and plugin share one libTrainingLab.so.
public final class PluginRegistration {
    public let methods: [any TrainingMethod.Type]
    public let models: [ModelBuilder]
    public let datasetDerivations: [DatasetDerivation]
    public let augmentations: [BatchTransform]
    public let metrics: [EvaluationMetric]

    /// Differentiable operations the plugin defines; the host lists them and checks their gradients.
    public let operations: [CustomOperation]

    public init(methods: [any TrainingMethod.Type] = [], models: [ModelBuilder] = [],
                datasetDerivations: [DatasetDerivation] = [], augmentations: [BatchTransform] = [],
                metrics: [EvaluationMetric] = [], operations: [CustomOperation] = []) {
        self.methods = methods
        self.models = models
        self.datasetDerivations = datasetDerivations
        self.augmentations = augmentations
        self.metrics = metrics
        self.operations = operations
    }

    public convenience init(_ methods: any TrainingMethod.Type...) { self.init(methods: methods) }

    /// A +1 reference for `tl_plugin_entry` to return.
    public var retainedPointer: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }
}

/// The answer of `tl_plugin_handshake`, compiled into each plugin (`@_alwaysEmitIntoClient`), so the
/// ABI version and fingerprint are those the plugin was built with, not the host's.
public enum PluginHandshake {
    @_alwaysEmitIntoClient
    public static var fingerprint: String {
        #if compiler(>=6.5)
        let compiler = "6.5+"
        #elseif compiler(>=6.4)
        let compiler = "6.4"
        #elseif compiler(>=6.3)
        let compiler = "6.3"
        #elseif compiler(>=6.2)
        let compiler = "6.2"
        #else
        let compiler = "older"
        #endif
        return "traininglab-\(TL_VERSION) swift-\(compiler)"
    }

    /// Writes the fingerprint into `buffer` (NUL-terminated, truncated to `capacity`) and returns the ABI version.
    @_alwaysEmitIntoClient
    public static func answer(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int32) -> Int32 {
        if let buffer, capacity > 0 {
            let bytes = Array(fingerprint.utf8.prefix(Int(capacity) - 1))
            for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
            buffer[bytes.count] = 0
        }
        return TL_PLUGIN_ABI_VERSION
    }
}
