import Foundation

/// What a model file says about its model beyond the tensors: how to rebuild it (the model SPEC with every
/// option), what it reads (sample shape; values as the data pipeline holds them: uint8 pixels / 255, float
/// samples as stored; then (x - mean) / std per channel when `mean`/`std` are set), what it predicts (class
/// count and names), and the TrainingLab version that wrote it. Stored as the string metadata of
/// model.safetensors; `metadata` and `init(metadata:path:)` are the two directions.
public struct ModelCard: Equatable, Sendable {
    /// Marks files whose tensors carry the portable names (`ModelFile`); files without it hold the names of
    /// older versions (property paths), which are still read.
    public static let format = "traininglab-model-2"

    /// The SPEC that rebuilds the model ("resnet8,..."); nil when the model was not made by a registered builder.
    public var model: String?
    public var inputShape: [Int]
    public var classes: Int
    public var classNames: [String]
    /// Per-channel normalisation applied before the model; empty when inputs go in as they are.
    public var mean: [Float]
    public var std: [Float]
    public var version: String

    public init(model: String?, inputShape: [Int], classes: Int, classNames: [String] = [], mean: [Float] = [], std: [Float] = [],
                version: String = TrainingLabVersion.string) {
        self.model = model
        self.inputShape = inputShape
        self.classes = classes
        self.classNames = classNames
        self.mean = mean
        self.std = std
        self.version = version
    }

    /// The card of a run's final model: its architecture, the training set's shape and classes, and the
    /// normalisation the run's data pipeline applied.
    public init(model: Module, data: LoadedDataset, normalization: Augmentation.Normalization) {
        var (mean, std): ([Float], [Float]) = ([], [])
        switch normalization {
        case .none: break
        case .dataset: (mean, std) = (data.train.mean, data.train.std)
        case let .custom(m, s): (mean, std) = (m, s)
        }
        self.init(model: model.architecture?.spec, inputShape: data.sampleShape, classes: data.classCount,
                  classNames: data.train.classNames, mean: mean, std: std)
    }

    /// The normalisation to give the data pipeline so that the model sees what it was trained on.
    public var normalization: Augmentation.Normalization { mean.isEmpty ? .none : .custom(mean: mean, std: std) }

    public var metadata: [String: String] {
        func json(_ values: [Float]) -> String { JSONValue.array(values.map { .number(Double($0)) }).serialized() }
        var out = ["format": ModelCard.format, "traininglab_version": version,
                   "input_shape": JSONValue.array(inputShape.map { .number(Double($0)) }).serialized(),
                   "classes": String(classes)]
        if let model { out["model"] = model }
        if !classNames.isEmpty { out["class_names"] = JSONValue.array(classNames.map { .string($0) }).serialized() }
        if !mean.isEmpty {
            out["normalization_mean"] = json(mean)
            out["normalization_std"] = json(std)
        }
        return out
    }

    /// Reads a card back; `path` names the file in errors. Files of older versions carry no card: the error says so.
    public init(metadata: [String: String], path: String) throws {
        guard let format = metadata["format"] else {
            throw ConfigError("\(path): the model file has no metadata (written by TrainingLab before \(TrainingLabVersion.string)); "
                              + "rebuild the model with its --model SPEC and load the tensors with ModelFile.load(into:from:)")
        }
        guard format == ModelCard.format else {
            throw ConfigError("\(path): model file format '\(format)' is not one this TrainingLab \(TrainingLabVersion.string) reads (\(ModelCard.format))")
        }
        func field<T>(_ key: String, _ parse: (JSONValue) -> T?) throws -> T {
            guard let text = metadata[key], let value = try? JSONValue.parse(text, source: key), let parsed = parse(value) else {
                throw ConfigError("\(path): model metadata '\(key)' is missing or malformed (\(metadata[key] ?? "absent"))")
            }
            return parsed
        }
        func floats(_ key: String) throws -> [Float] {
            metadata[key] == nil ? [] : try field(key) { $0.arrayValue?.compactMap { $0.doubleValue.map(Float.init) } }
        }
        let shape: [Int] = try field("input_shape") { v in
            let dims = v.arrayValue?.compactMap { $0.doubleValue.flatMap { $0 >= 1 && $0 == $0.rounded() && $0 < 1e9 ? Int($0) : nil } }
            return dims?.count == v.arrayValue?.count && dims?.isEmpty == false ? dims : nil
        }
        let classes: Int = try field("classes") { $0.doubleValue.flatMap { $0 >= 2 && $0 == $0.rounded() && $0 < 1e9 ? Int($0) : nil } }
        let names: [String] = metadata["class_names"] == nil ? [] : try field("class_names") { $0.arrayValue?.compactMap(\.stringValue) }
        let (mean, std) = (try floats("normalization_mean"), try floats("normalization_std"))
        guard names.isEmpty || names.count == classes else {
            throw ConfigError("\(path): model metadata has \(names.count) class names for \(classes) classes")
        }
        guard mean.count == std.count, mean.isEmpty || mean.count == shape[0], std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ConfigError("\(path): model metadata normalisation needs \(shape[0]) means and positive stds, got \(mean) and \(std)")
        }
        self.init(model: metadata["model"], inputShape: shape, classes: classes, classNames: names, mean: mean, std: std,
                  version: metadata["traininglab_version"] ?? "unknown")
    }
}
