import Foundation

/// A model file opened on its own: the model rebuilt from its card (`ModelCard.model`, a SPEC the catalog
/// knows), its tensors loaded, ready to evaluate or predict with the normalisation it was trained with.
/// `tlab eval`, `tlab predict`, `tlab export` and the C API's tl_model_* functions all start here.
public final class SavedModel {
    public let path: String
    public let card: ModelCard
    public let model: Module

    /// `models` must know the model's name (plugins' models need the registry's catalog).
    public init(contentsOf url: URL, models: ModelCatalog = .core) throws {
        path = url.path
        let file = try SafeTensors.read(from: url)
        card = try ModelCard(metadata: file.metadata, path: path)
        guard let spec = card.model else {
            throw ConfigError("\(path): the model file does not say which model it holds (its run's final model was not made by a registered builder); rebuild it in code and use ModelFile.load(into:from:)")
        }
        do {
            model = try models.make(spec, input: ModelInput(shape: card.inputShape, classes: card.classes), seed: 0)
        } catch let error as ConfigError {
            throw ConfigError("\(path): cannot rebuild model '\(spec)': \(error.message) (a plugin's model needs its plugin on the search path: --plugin-path or TRAININGLAB_PLUGIN_PATH)")
        }
        try ModelFile.load(into: model, from: file, path: path)
        model.eval()
    }

    /// The evaluator of this model: its normalisation, the given batch size.
    public func evaluator(batchSize: Int = 256) -> Evaluator {
        Evaluator(batchSize: batchSize, normalization: card.normalization)
    }

    /// Refuses a dataset whose samples or classes are not the model's; `what` names the data in the error.
    public func check(_ dataset: Dataset, _ what: String) throws {
        guard dataset.sampleShape == card.inputShape else {
            throw ConfigError("\(what): samples of shape \(dataset.sampleShape), the model in \(path) reads \(card.inputShape)")
        }
        guard dataset.classCount == card.classes else {
            throw ConfigError("\(what): \(dataset.classCount) classes, the model in \(path) predicts \(card.classes)")
        }
    }

    /// Logits (count, classes) row-major of every sample of `dataset`, in order.
    public func logits(_ dataset: Dataset, _ what: String) throws -> [Float] {
        try check(dataset, what)
        return try evaluator().outputs(of: model, on: dataset).output.scalars
    }

    /// Logits (count, classes) of `count` samples given as values (count, input shape) row-major, as the data
    /// pipeline holds them (uint8 pixels / 255): the card's normalisation is applied here.
    public func logits(values: [Float], count: Int) throws -> [Float] {
        let size = card.inputShape.reduce(1, *)
        guard count > 0, values.count == count * size else {
            throw ConfigError("predict: \(values.count) values for \(count) samples of shape \(card.inputShape) (\(size) values each)")
        }
        let samples = try Dataset(name: "inputs", sampleShape: card.inputShape, values: values,
                                  labels: [Int32](repeating: 0, count: count), classCount: card.classes)
        return try logits(samples, "inputs")
    }

    /// The samples a `tlab predict --input` names: an IDX images file (idx3-ubyte, gzipped or plain; no labels), a
    /// CIFAR binary batch (*.bin, records of label bytes + 3072 pixels), or else a dataset SPEC whose test split is
    /// used. `labelled` says whether the samples' labels are real (an IDX images file has none: they are 0).
    public func inputs(_ text: String, derivations: [DatasetDerivation] = []) throws -> (samples: Dataset, labelled: Bool) {
        guard FileManager.default.fileExists(atPath: text) else {
            let data = try DatasetSpec(parsing: text, derivations: derivations).load()
            try check(data.test, "--input \(text)")
            return (data.test, true)
        }
        let dataset: Dataset
        if text.hasSuffix(".bin") {
            guard [10, 20, 100].contains(card.classes) else {
                throw ConfigError("--input \(text): a CIFAR binary file has 10, 20 or 100 classes, the model in \(path) predicts \(card.classes)")
            }
            var pixels: [UInt8] = [], labels: [Int32] = []
            // CIFAR-100 records hold a coarse (20 classes) and a fine (100 classes) label byte.
            let (labelBytes, labelIndex) = card.classes == 10 ? (1, 0) : (2, card.classes == 100 ? 1 : 0)
            try CIFARReader.readRecords(path: text, labelBytes: labelBytes, labelIndex: labelIndex, classCount: card.classes,
                                        pixels: &pixels, labels: &labels)
            dataset = try Dataset(name: text, channels: 3, height: 32, width: 32, pixels: pixels, labels: labels,
                                  classCount: card.classes, classNames: card.classNames, mean: [0, 0, 0], std: [1, 1, 1])
        } else {
            let images = try IDXReader.readImages(path: text)
            dataset = try Dataset(name: text, channels: 1, height: images.height, width: images.width, pixels: images.pixels,
                                  labels: [Int32](repeating: 0, count: images.count), classCount: card.classes,
                                  classNames: card.classNames, mean: [0], std: [1])
        }
        try check(dataset, "--input \(text)")
        return (dataset, text.hasSuffix(".bin"))
    }
}

/// Softmax probabilities of one row of logits, in Double.
public func softmaxRow(_ logits: [Float], row: Int, classes: Int) -> [Double] {
    logSoftmaxRow(logits, row: row, classes: classes, temperature: 1).map { Foundation.exp($0) }
}
