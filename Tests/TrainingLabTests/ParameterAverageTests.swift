import XCTest
import TrainingLab

final class ParameterAverageTests: XCTestCase {
    /// Linear(2, 1) with weight [1, 2] and bias [0], then BatchNorm(1) (running mean 0), cloneable.
    private func tinyModel() throws -> Module {
        let build = { Sequential(Linear(2, 1), BatchNorm(1)) as Module }
        let model = build().withRecipe(build)
        try set(model, weight: [1, 2], bias: [0], runningMean: [0])
        return model
    }

    private func set(_ model: Module, weight: [Float], bias: [Float], runningMean: [Float]) throws {
        let state = Dictionary(uniqueKeysWithValues: model.namedState())
        try state["layers.0.weight"]!.assign(Tensor(weight, shape: [1, 2]))
        try state["layers.0.bias"]!.assign(Tensor(bias, shape: [1]))
        try state["layers.1.runningMean"]!.assign(Tensor(runningMean, shape: [1]))
    }

    private func values(_ model: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedState().map { ($0.0, $0.1.scalars) })
    }

    func testExponentialAverageByHand() throws {
        let model = try tinyModel()
        let ema = try ParameterAverage(of: model, weighting: .exponential(decay: 0.75))
        try set(model, weight: [3, 6], bias: [4], runningMean: [8])
        try ema.update()
        // 0.75 * old + 0.25 * new; the running mean is copied.
        XCTAssertEqual(values(ema.averaged)["layers.0.weight"], [1.5, 3])
        XCTAssertEqual(values(ema.averaged)["layers.0.bias"], [1])
        XCTAssertEqual(values(ema.averaged)["layers.1.runningMean"], [8])
        try ema.update()
        XCTAssertEqual(values(ema.averaged)["layers.0.weight"], [1.875, 3.75])
        XCTAssertEqual(values(ema.averaged)["layers.0.bias"], [1.75])
        XCTAssertEqual(values(model)["layers.0.weight"], [3, 6], "the source is not touched")

        // Evaluating with the averaged weights: the averaged module's output.
        let x = try Tensor([1, 1], shape: [1, 2])
        XCTAssertEqual(try linear(x, weight: ema.averaged.parameters()[0], bias: ema.averaged.parameters()[1]).scalars, [1.875 + 3.75 + 1.75])
    }

    func testBuffersCanBeAveraged() throws {
        let model = try tinyModel()
        let ema = try ParameterAverage(of: model, weighting: .exponential(decay: 0.75), buffers: .average)
        try set(model, weight: [3, 6], bias: [4], runningMean: [8])
        try ema.update()
        XCTAssertEqual(values(ema.averaged)["layers.1.runningMean"], [2])
        XCTAssertEqual(values(ema.averaged)["layers.1.runningVar"], [1])
    }

    func testUniformAverageIsTheMeanOfSnapshots() throws {
        let model = try tinyModel()
        let swa = try ParameterAverage(of: model, weighting: .uniform)
        for (w, b) in [(Float(2), Float(4)), (3, 8), (6, 0)] {
            try set(model, weight: [w, -w], bias: [b], runningMean: [0])
            try swa.update()
        }
        // Weights 1, 2, 3, 6 (mean 3) and 2, -2, -3, -6 (mean -2.25); biases 0, 4, 8, 0 (mean 3).
        XCTAssertEqual(values(swa.averaged)["layers.0.weight"], [3, -2.25])
        XCTAssertEqual(values(swa.averaged)["layers.0.bias"], [3])
        XCTAssertEqual(swa.snapshots, 4)
        try model.copyState(from: swa.averaged)
        XCTAssertEqual(values(model)["layers.0.weight"], [3, -2.25])
    }

    func testGivenShadowAndErrors() throws {
        let plain = Sequential(Linear(2, 1))
        XCTAssertThrowsError(try ParameterAverage(of: plain, weighting: .uniform)) { XCTAssertTrue("\($0)".contains("withRecipe"), "\($0)") }
        let shadow = Sequential(Linear(2, 1))
        let average = try ParameterAverage(of: plain, weighting: .uniform, into: shadow)
        XCTAssertTrue(average.averaged === shadow)
        XCTAssertEqual(shadow.parameters()[0].scalars, plain.parameters()[0].scalars)
        XCTAssertThrowsError(try ParameterAverage(of: plain, weighting: .exponential(decay: 1.5), into: shadow)) {
            XCTAssertTrue("\($0)".contains("decay must be in [0, 1], got 1.5"), "\($0)")
        }
        XCTAssertThrowsError(try ParameterAverage(of: plain, weighting: .uniform, into: Sequential(Linear(3, 1)))) {
            XCTAssertTrue("\($0)".contains("'layers.0.weight' has shape [1, 2], expected [1, 3]"), "\($0)")
        }
    }
}
