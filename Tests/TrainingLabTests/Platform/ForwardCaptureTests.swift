import XCTest
import TrainingLab

/// Named intermediate outputs reach the caller of one forward pass, without a second pass.
final class ForwardCaptureTests: XCTestCase {
    func testZooModelsPublishTheClassifierInput() throws {
        for name in ["mlp", "smallcnn", "resnet8", "lenet5"] {
            let model = try ModelZoo.make(name, channels: 1, height: 28, width: 28, classes: 10, seed: 0)
            let x = Tensor.uniform([2, 1, 28, 28], seed: 1)
            let (logits, outputs) = try ForwardCapture.run { try model(x) }
            let features = try outputs.require("features")
            XCTAssertEqual(features.shape[0], 2, name)
            // The features are exactly what the last layer maps to the logits.
            let last = (model as! Sequential).layers.last!
            XCTAssertEqual(try last(features).scalars, logits.scalars, name)
        }
    }

    func testPublishingDoesNotChangeFusionOrValues() throws {
        // A published output inside a fusable BatchNorm-ReLU-MaxPool group turns the fusion off for that group only;
        // values agree with the plain model within the fused kernels' rounding.
        let layers: () -> [Module] = { [Conv2d(1, 4, kernelSize: 3, padding: 1), BatchNorm(4), ReLU(), MaxPool2d(2), Flatten()] }
        let plain = ParameterInit.withSeed(2) { Sequential(layers()) }
        let tapped = ParameterInit.withSeed(2) { Sequential(layers(), outputs: ["bn": 1, "relu": 2]) }
        let x = Tensor.uniform([3, 1, 6, 6], seed: 4)
        let (y, outputs) = try ForwardCapture.run { try tapped(x) }
        let reference = try plain(x)
        for (a, b) in zip(y.scalars, reference.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(outputs.names, ["bn", "relu"])
        XCTAssertTrue(try outputs.require("relu").scalars.allSatisfy { $0 >= 0 })
    }

    func testNestedCapturesSeeOnlyTheirOwnRecordsAndErrorsNameWhatWasPublished() throws {
        let (_, outer) = ForwardCapture.run { () -> Int in
            ForwardCapture.record("a", Tensor(scalar: 1))
            let (_, inner) = ForwardCapture.run { ForwardCapture.record("b", Tensor(scalar: 2)) }
            XCTAssertEqual(inner.names, ["b"])
            ForwardCapture.record("a", Tensor(scalar: 3))
            return 0
        }
        XCTAssertEqual(outer.names, ["a"])
        XCTAssertEqual(outer.all("a").map { $0.scalars }, [[1], [3]])
        XCTAssertEqual(outer["a"]?.scalars, [3])
        XCTAssertThrowsError(try outer.require("spikes")) { XCTAssertTrue("\($0)".contains("published: a"), "\($0)") }
        ForwardCapture.record("ignored", Tensor(scalar: 0))  // outside any capture: nothing happens
        XCTAssertFalse(ForwardCapture.isCapturing)
    }

    func testANamedLIFLayerPublishesSpikesWithGradientsAndMembranes() throws {
        let lif = LIF(decay: 0.5, threshold: 1)
        lif.publishedName = "lif1"
        let x = try Tensor([0.6, 0.6, 0.6, 0.6], shape: [4, 1], requiresGrad: true)
        let (spikes, outputs) = try ForwardCapture.run { try lif(x) }
        // v: 0.6, 0.9, 1.05 -> spike, reset to 0, then 0.6.
        XCTAssertEqual(spikes.scalars, [0, 0, 1, 0])
        XCTAssertEqual(try outputs.require("lif1.membrane").scalars.map { ($0 * 100).rounded() / 100 }, [0.6, 0.9, 0, 0.6])
        let published = try outputs.require("lif1.spikes")
        XCTAssertTrue(published === spikes, "the published spikes are the layer's output, with its gradient history")
        try published.sum().backward()
        XCTAssertNotNil(x.grad)
        let (_, silent) = try ForwardCapture.run { try LIF()(x) }
        XCTAssertTrue(silent.isEmpty, "an unnamed layer publishes nothing")
    }
}
