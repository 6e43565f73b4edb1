import XCTest
import TrainingLab

final class ModuleCopyTests: XCTestCase {
    /// A smallcnn with state moved away from its initial values (one training forward updates BN statistics).
    private func trainedSmallCNN(seed: UInt64) throws -> Module {
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 3, seed: seed)
        _ = try model(Tensor.uniform([4, 1, 8, 8], low: -1, high: 1, seed: 11))
        return model
    }

    func testCloneIsIndependentWithEqualStateFlagsAndModes() throws {
        let model = try trainedSmallCNN(seed: 1)
        let bias = model.namedState().first { $0.0 == "layers.0.bias" }!.1
        bias.requiresGrad = false
        model.children[1].1.eval()   // the first BatchNorm only

        let copy = try model.clone()
        XCTAssertEqual(copy.namedState().map(\.0), model.namedState().map(\.0))
        for ((name, a), (_, b)) in zip(model.namedState(), copy.namedState()) {
            XCTAssertEqual(a.scalars, b.scalars, name)
            XCTAssertEqual(a.requiresGrad, b.requiresGrad, name)
            XCTAssertNotEqual(a.pointer, b.pointer, "\(name) shares its buffer")
        }
        XCTAssertEqual(copy.namedModules().map { $0.1.isTraining }, model.namedModules().map { $0.1.isTraining })
        XCTAssertFalse(copy.children[1].1.isTraining)
        XCTAssertTrue(copy.isTraining)

        // Same outputs; then changing the copy leaves the original alone.
        let x = Tensor.uniform([2, 1, 8, 8], seed: 3)
        try model.inEvaluationMode { try copy.inEvaluationMode { XCTAssertEqual(try model(x).scalars, try copy(x).scalars) } }
        let before = model.parameters()[0].scalars
        try copy.parameters()[0].assign(Tensor(zeros: copy.parameters()[0].shape))
        XCTAssertEqual(model.parameters()[0].scalars, before)

        // A clone of a clone keeps the recipe.
        XCTAssertEqual(try copy.clone().namedState().count, model.namedState().count)
    }

    func testCloneWithoutRecipeSaysHowToMakeItCloneable() throws {
        let plain = Sequential(Linear(2, 3), ReLU())
        XCTAssertThrowsError(try plain.clone()) { XCTAssertTrue("\($0)".contains("withRecipe"), "\($0)") }
        plain.withRecipe { Sequential(Linear(2, 3), ReLU()) }
        XCTAssertEqual(try plain.clone().parameters()[0].scalars, plain.parameters()[0].scalars)
        // A recipe that no longer matches (the model changed shape after building) is named as such.
        plain.withRecipe { Sequential(Linear(2, 4), ReLU()) }
        XCTAssertThrowsError(try plain.clone()) {
            XCTAssertTrue("\($0)".contains("another architecture") && "\($0)".contains("'layers.0.weight' has shape [3, 2], expected [4, 2]"), "\($0)")
        }
    }

    func testRecipeIsNotState() throws {
        let model = try ModelZoo.make("mlp", channels: 1, height: 4, width: 4, classes: 2, seed: 0)
        XCTAssertNotNil(model.rebuild)
        XCTAssertEqual(model.namedState().map(\.0), ["layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias",
                                                     "layers.5.weight", "layers.5.bias"])
    }

    func testCopyStateAndNamedSubsets() throws {
        let a = try trainedSmallCNN(seed: 1), b = try trainedSmallCNN(seed: 2)
        let parameterNames = Set(a.namedParameters().map(\.0))
        XCTAssertEqual(Set(a.namedBuffers().map(\.0)), Set(a.namedState().map(\.0)).subtracting(parameterNames))
        let bBuffers = b.namedBuffers().map { $0.1.scalars }

        try b.copyState(from: a, only: parameterNames)
        for ((name, ta), (_, tb)) in zip(a.namedParameters(), b.namedParameters()) { XCTAssertEqual(ta.scalars, tb.scalars, name) }
        XCTAssertEqual(b.namedBuffers().map { $0.1.scalars }, bBuffers, "buffers untouched")

        // A filter: everything except running statistics, from a dictionary of parameters only.
        let c = try trainedSmallCNN(seed: 3)
        try c.loadState(Dictionary(uniqueKeysWithValues: b.namedParameters())) { !$0.contains("running") }
        XCTAssertEqual(c.parameters().map(\.scalars), b.parameters().map(\.scalars))

        try b.copyState(from: a)
        for ((name, ta), (_, tb)) in zip(a.namedState(), b.namedState()) { XCTAssertEqual(ta.scalars, tb.scalars, name) }
    }

    func testMismatchesAreListed() throws {
        let a = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 3, seed: 1)
        let wider = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 4, seed: 1)
        XCTAssertThrowsError(try a.copyState(from: wider)) {
            XCTAssertTrue("\($0)".contains("'layers.11.weight' has shape [4, 128], expected [3, 128]; 'layers.11.bias' has shape [4], expected [3]"), "\($0)")
        }
        let mlp = try ModelZoo.make("mlp", channels: 1, height: 8, width: 8, classes: 3, seed: 1)
        XCTAssertThrowsError(try a.copyState(from: mlp)) { error in
            XCTAssertTrue("\(error)".hasSuffix("'layers.0.weight' is missing; 'layers.0.bias' is missing; 'layers.1.gamma' is missing; "
                                                + "'layers.1.beta' is missing; 'layers.1.runningMean' is missing; and 17 more"), "\(error)")
        }
        var state = Dictionary(uniqueKeysWithValues: a.namedState())
        state["layers.0.wieght"] = state["layers.0.weight"]
        XCTAssertThrowsError(try a.loadState(state)) { XCTAssertTrue("\($0)".contains("'layers.0.wieght' is not a tensor of this module"), "\($0)") }
        XCTAssertThrowsError(try a.loadState(state, only: ["layers.0.weight", "conv.weight"])) {
            XCTAssertTrue("\($0)".contains("not state tensors of this Sequential: 'conv.weight'"), "\($0)")
        }
        XCTAssertNoThrow(try a.loadState(state, only: ["layers.0.weight"]))
    }
}
