import XCTest
import Foundation
import TrainingLab

/// ONNX export of the zoo's models, checked against onnxruntime (same logits within 1e-4) where onnx and
/// onnxruntime can be installed into a local venv (Tests/ONNX/onnx_venv.sh); skipped with its message where not.
final class ONNXExportTests: XCTestCase {
    /// Every core model the exporter must handle, with an input it fits.
    static let cases: [(String, [Int])] = [("mlp", [1, 12, 12]), ("lenet5", [1, 12, 12]), ("smallcnn", [1, 12, 12]),
                                           ("cnn-s", [3, 8, 8]), ("resnet8", [3, 8, 8]), ("convnet", [3, 8, 8])]

    private func python() throws -> String {
        let venv = repositoryRoot + "/.venv-onnx"
        let setup = try shell(["sh", repositoryRoot + "/Tests/ONNX/onnx_venv.sh", venv])
        guard setup.status == 0 else {
            throw XCTSkip("onnxruntime is not installable here, the ONNX files are not checked: \(setup.err.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return venv + "/bin/python"
    }

    func testZooModelsGiveTheSameLogitsInONNXRuntime() throws {
        let python = try python()
        let dir = TemporaryDirectory()
        for (name, shape) in ONNXExportTests.cases {
            let model = try ModelCatalog.core.make(name, input: ModelInput(shape: shape, classes: 5), seed: 11)
            try ModelFileTests.randomize(model, seed: 12)
            let channels = shape[0]
            let card = ModelCard(model: model.architecture?.spec, inputShape: shape, classes: 5,
                                 mean: (0..<channels).map { 0.3 + 0.1 * Float($0) }, std: (0..<channels).map { 0.2 + 0.05 * Float($0) })
            let file = URL(fileURLWithPath: "\(dir.path)/\(name).safetensors")
            try ModelFile.save(model, to: file, card: card)
            let saved = try SavedModel(contentsOf: file)
            var generator = SeededGenerator(seed: 13)
            let values = (0..<(3 * shape.reduce(1, *))).map { _ in Float(generator.next() % 256) / 255 }
            let logits = try saved.logits(values: values, count: 3)

            let onnx = "\(dir.path)/\(name).onnx", inputs = "\(dir.path)/\(name).in.f32", out = "\(dir.path)/\(name).out.f32"
            try ONNXExport.write(saved, to: URL(fileURLWithPath: onnx))
            try values.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: inputs))
            let run = try shell([python, repositoryRoot + "/Tests/ONNX/onnx_logits.py", onnx, inputs, out])
            XCTAssertEqual(run.status, 0, "\(name): \(run.err)")
            guard run.status == 0 else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
            let theirs = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(theirs.count, logits.count, name)
            let worst = zip(logits, theirs).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(name): largest logit difference \(worst)")
        }
    }

    func testSpikingAndUnknownLayersAreRefusedNamingTheLayer() throws {
        var catalog = ModelCatalog.core
        try catalog.add([ModelBuilder(name: "tiny-snn", summary: "test") { input, _ in
            Sequential([Flatten(), Linear(input.shape.reduce(1, *), 8), LIF(), Linear(8, input.classes)])
        }], provider: "test")
        let dir = TemporaryDirectory()
        let model = try catalog.make("tiny-snn", input: ModelInput(shape: [1, 4, 4], classes: 3), seed: 1)
        let file = URL(fileURLWithPath: dir.path + "/snn.safetensors")
        try ModelFile.save(model, to: file, card: ModelCard(model: model.architecture?.spec, inputShape: [1, 4, 4], classes: 3))
        XCTAssertThrowsError(try ONNXExport.encode(try SavedModel(contentsOf: file, models: catalog))) {
            XCTAssertTrue("\($0)".contains("layer '2' is a spiking LIF neuron") && "\($0)".contains("spiking models are not exported"), "\($0)")
        }
    }
}
