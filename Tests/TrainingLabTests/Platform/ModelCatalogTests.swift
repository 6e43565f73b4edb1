import XCTest
import TrainingLab

/// Models from a catalog that plugins extend: SPEC parsing, options that size a model, providers, clear errors.
final class ModelCatalogTests: XCTestCase {
    /// A model with one option, as a plugin registers it.
    static let widthMLP = ModelBuilder(name: "test-width-mlp", summary: "flatten, one hidden layer of `width`",
                                       options: [.int("width", 8, in: 1...1024, help: "hidden units")]) { input, options in
        let features = input.shape.reduce(1, *)
        let width = try options.int("width")
        return Sequential([Flatten(), Linear(features, width), ReLU(), Linear(width, input.classes)], outputs: ["features": 2])
    }

    func testSpecOptionsAndMethodOptionsSizeTheModel() throws {
        var catalog = ModelCatalog.core
        try catalog.add([ModelCatalogTests.widthMLP], provider: "libTest.so")
        let input = ModelInput(shape: [1, 4, 4], classes: 3)
        let byDefault = try catalog.make("test-width-mlp", input: input, seed: 1)
        XCTAssertEqual(byDefault.namedParameters().first { $0.0 == "layers.1.weight" }?.1.shape, [8, 16])
        let bySpec = try catalog.make("test-width-mlp,width=5", input: input, seed: 1)
        XCTAssertEqual(bySpec.namedParameters().first { $0.0 == "layers.1.weight" }?.1.shape, [5, 16])
        // A method's options override the spec's.
        let byMethod = try catalog.make("test-width-mlp,width=5", input: input, seed: 1, options: ["width": .int(3)])
        XCTAssertEqual(byMethod.namedParameters().first { $0.0 == "layers.1.weight" }?.1.shape, [3, 16])
        XCTAssertEqual(catalog.entries.last?.provider, "libTest.so")
        XCTAssertEqual(catalog.entries.first?.provider, "core")
    }

    /// FedSWA's CNN-S: conv 1->16 and 16->32 (3x3, padding 1), FC 1568->128, FC 128->10, and no buffers, so a
    /// client's whole state is its weights.
    func testCNNSHasTheSpecsShapesAndNoBatchNorm() throws {
        let model = try ModelCatalog.core.make("cnn-s", input: ModelInput(shape: [1, 28, 28], classes: 10), seed: 0)
        XCTAssertEqual(model.namedParameters().map(\.1.shape), [[16, 1, 3, 3], [16], [32, 16, 3, 3], [32], [128, 1568], [128], [10, 128], [10]])
        XCTAssertTrue(model.namedBuffers().isEmpty)
        XCTAssertEqual(try model(Tensor(zeros: [2, 1, 28, 28])).shape, [2, 10])
    }

    func testErrorsNameTheModelAndWhatIsValid() throws {
        var catalog = ModelCatalog.core
        try catalog.add([ModelCatalogTests.widthMLP], provider: "a.so")
        let input = ModelInput(shape: [1, 4, 4], classes: 3)
        XCTAssertThrowsError(try catalog.add([ModelCatalogTests.widthMLP], provider: "b.so")) {
            XCTAssertTrue("\($0)".contains("a.so") && "\($0)".contains("b.so"), "\($0)")
        }
        XCTAssertThrowsError(try catalog.make("vgg", input: input, seed: 0)) { XCTAssertTrue("\($0)".contains("smallcnn"), "\($0)") }
        XCTAssertThrowsError(try catalog.make("test-width-mlp,depth=2", input: input, seed: 0)) {
            XCTAssertTrue("\($0)".contains("model test-width-mlp") && "\($0)".contains("width"), "\($0)")
        }
        XCTAssertThrowsError(try catalog.make("test-width-mlp,width=0", input: input, seed: 0)) { XCTAssertTrue("\($0)".contains("1...1024"), "\($0)") }
        XCTAssertThrowsError(try catalog.make("test-width-mlp,width", input: input, seed: 0)) { XCTAssertTrue("\($0)".contains("option=value"), "\($0)") }
        XCTAssertThrowsError(try catalog.make("smallcnn", input: ModelInput(shape: [16], classes: 3), seed: 0)) {
            XCTAssertTrue("\($0)".contains("image inputs"), "\($0)")
        }
    }

    func testSameSeedSameWeights() throws {
        let a = try ModelCatalog.core.make("resnet8", input: ModelInput(shape: [3, 8, 8], classes: 4), seed: 3)
        let b = try ModelZoo.make("resnet8", channels: 3, height: 8, width: 8, classes: 4, seed: 3)
        XCTAssertEqual(a.namedState().map { $0.1.scalars }, b.namedState().map { $0.1.scalars })
    }
}
