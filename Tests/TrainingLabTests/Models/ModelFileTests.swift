import XCTest
import Foundation
import TrainingLab

/// model.safetensors: portable (PyTorch state-dict) names, the model card, older files, and `SavedModel`.
final class ModelFileTests: XCTestCase {
    /// Gives the normalisation layers' tensors and the biases seeded values (running variances and scales in
    /// [0.5, 1.5], shifts in [-0.1, 0.1]) and keeps the builder's weights, so that a mix-up of two tensors or a
    /// skipped normalisation shows in logits of ordinary size.
    static func randomize(_ model: Module, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for (name, tensor) in try ModelFile.portableState(of: model) where tensor.rank == 1 {
            let values = (0..<tensor.count).map { _ in Float(generator.next() % 10_000) / 10_000 }
            let positive = name.hasSuffix("running_var") || name.hasSuffix("weight")
            try tensor.assign(Tensor(positive ? values.map { 0.5 + $0 } : values.map { 0.2 * $0 - 0.1 }, shape: tensor.shape))
        }
    }

    /// Logits of `values` (count, shape) normalised by hand, in evaluation mode: the reference `SavedModel` must match.
    static func referenceLogits(_ model: Module, _ values: [Float], shape: [Int], mean: [Float], std: [Float]) throws -> [Float] {
        let plane = shape.dropFirst().reduce(1, *)
        let normalized = values.enumerated().map { i, v in (v - mean[(i / plane) % shape[0]]) / std[(i / plane) % shape[0]] }
        let x = try Tensor(normalized, shape: [values.count / shape.reduce(1, *)] + shape)
        return try model.inEvaluationMode { try withoutGradients { try model(x).scalars } }
    }

    func testPortableNamesAreThePyTorchStateDictKeys() throws {
        let smallcnn = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 4, seed: 1)
        XCTAssertEqual(try ModelFile.portableState(of: smallcnn).map(\.0),
                       ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "4.weight", "4.bias", "5.weight", "5.bias", "5.running_mean", "5.running_var",
                        "9.weight", "9.bias", "11.weight", "11.bias"])
        let resnet = try ModelFile.portableState(of: try ModelZoo.make("resnet8", channels: 3, height: 8, width: 8, classes: 4, seed: 1)).map(\.0)
        XCTAssertEqual(Array(resnet.prefix(6)), ["0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.conv1.weight"])
        XCTAssertTrue(resnet.contains("5.bn2.running_var"), "\(resnet)")
        XCTAssertEqual(resnet.suffix(2), ["7.weight", "7.bias"])
        let convnet = try ModelFile.portableState(of: try ModelZoo.make("convnet", channels: 3, height: 8, width: 8, classes: 4, seed: 1)).map(\.0)
        XCTAssertEqual(Array(convnet.prefix(4)), ["0.weight", "0.bias", "1.weight", "1.bias"], "GroupNorm's gamma and beta are weight and bias")
    }

    func testASavedModelIsRebuiltFromItsCardAndPredictsWhatTheModelDoes() throws {
        let dir = TemporaryDirectory()
        let url = URL(fileURLWithPath: dir.path + "/model.safetensors")
        let model = try ModelCatalog.core.make("resnet8", input: ModelInput(shape: [3, 8, 8], classes: 4), seed: 3)
        try ModelFileTests.randomize(model, seed: 4)
        let card = ModelCard(model: model.architecture?.spec, inputShape: [3, 8, 8], classes: 4, classNames: ["a", "b", "c", "d"],
                             mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3])
        XCTAssertEqual(card.model, "resnet8")
        try ModelFile.save(model, to: url, card: card)
        let saved = try SavedModel(contentsOf: url)
        XCTAssertEqual(saved.card, card)
        XCTAssertEqual(saved.card.version, TrainingLabVersion.string)
        var generator = SeededGenerator(seed: 9)
        let values = (0..<(2 * 192)).map { _ in Float(generator.next() % 256) / 255 }
        let expected = try ModelFileTests.referenceLogits(model, values, shape: [3, 8, 8], mean: card.mean, std: card.std)
        let logits = try saved.logits(values: values, count: 2)
        XCTAssertEqual(logits.count, 8)
        for (a, b) in zip(logits, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertThrowsError(try saved.logits(values: values, count: 3)) {
            XCTAssertTrue("\($0)".contains("384 values for 3 samples of shape [3, 8, 8]"), "\($0)")
        }
    }

    func testOlderFilesWithPropertyPathsAreReadAndFilesWithoutACardAreNotRebuilt() throws {
        let dir = TemporaryDirectory()
        let url = URL(fileURLWithPath: dir.path + "/old.safetensors")
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 4, seed: 1)
        try ModelFileTests.randomize(model, seed: 2)
        // What TrainingLab 0.2.0 wrote before the card: property paths, no metadata.
        try SafeTensors.write(try model.namedState().map { ($0.0, try SafeTensor(floats: $0.1.scalars, shape: $0.1.shape)) }, to: url)
        let fresh = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 4, seed: 7)
        try ModelFile.load(into: fresh, from: url)
        for ((name, a), (_, b)) in zip(model.namedState(), fresh.namedState()) { XCTAssertEqual(a.scalars, b.scalars, name) }
        XCTAssertThrowsError(try SavedModel(contentsOf: url)) {
            XCTAssertTrue("\($0)".contains("old.safetensors: the model file has no metadata"), "\($0)")
        }

        let future = URL(fileURLWithPath: dir.path + "/future.safetensors")
        try SafeTensors.write([], metadata: ["format": "traininglab-model-9"], to: future)
        XCTAssertThrowsError(try ModelFile.load(into: fresh, from: future)) {
            XCTAssertTrue("\($0)".contains("future.safetensors: model file format 'traininglab-model-9'"), "\($0)")
        }

        var card = ModelCard(model: nil, inputShape: [1, 8, 8], classes: 4).metadata
        let anonymous = URL(fileURLWithPath: dir.path + "/anonymous.safetensors")
        try SafeTensors.write([], metadata: card, to: anonymous)
        XCTAssertThrowsError(try SavedModel(contentsOf: anonymous)) {
            XCTAssertTrue("\($0)".contains("does not say which model it holds"), "\($0)")
        }
        card["input_shape"] = "[0, 8]"
        card["model"] = "smallcnn"
        try SafeTensors.write([], metadata: card, to: anonymous)
        XCTAssertThrowsError(try SavedModel(contentsOf: anonymous)) {
            XCTAssertTrue("\($0)".contains("model metadata 'input_shape' is missing or malformed ([0, 8])"), "\($0)")
        }
    }

    func testARunsModelFileCarriesItsCardAndEvaluatesAsTheRunDid() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let data = LearnableIDXDataset(train: 128, test: 64)
        let dir = TemporaryDirectory()
        let report = try RunPlan(registry: registry, name: "erm", settings: [("dataset", .string(data.spec)), ("model", "mlp"), ("epochs", 1),
                                                                           ("batch_size", 32), ("crop_padding", 0)],
                                 outputDirectory: URL(fileURLWithPath: dir.path)).execute()
        let saved = try SavedModel(contentsOf: URL(fileURLWithPath: dir.path + "/model.safetensors"), models: registry.models)
        let loaded = try data.load()
        XCTAssertEqual(saved.card.model, "mlp")
        XCTAssertEqual(saved.card.inputShape, [1, 12, 12])
        XCTAssertEqual(saved.card.classes, 10)
        XCTAssertEqual(saved.card.classNames, (0..<10).map(String.init))
        XCTAssertEqual(saved.card.mean, loaded.train.mean)
        XCTAssertEqual(saved.card.std, loaded.train.std)
        let evaluation = try saved.evaluator().evaluate([saved.model], on: loaded)
        XCTAssertEqual(evaluation.test.accuracy, report["test"]?["accuracy"]?.doubleValue)
        XCTAssertEqual(evaluation.test.nll, report["test"]?["nll"]?.doubleValue ?? 0, accuracy: 1e-9)

        // The same test images read from their IDX file give the same logits as the dataset SPEC's test split.
        let (fromFile, fileLabelled) = try saved.inputs(data.directory.path + "/t10k-images-idx3-ubyte")
        let (fromSpec, specLabelled) = try saved.inputs(data.spec)
        XCTAssertEqual(fromFile.count, 64)
        XCTAssertFalse(fileLabelled)
        XCTAssertTrue(specLabelled)
        XCTAssertEqual(try saved.logits(fromFile, "file"), try saved.logits(fromSpec, "spec"))
        let cifar = data.directory.write("batch.bin", [UInt8](repeating: 1, count: 2 * 3073))
        XCTAssertThrowsError(try saved.inputs(cifar)) {
            XCTAssertTrue("\($0)".contains("--input \(cifar): samples of shape [3, 32, 32], the model in"), "\($0)")
        }
    }
}
