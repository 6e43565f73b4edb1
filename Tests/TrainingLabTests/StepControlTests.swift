import XCTest
import Foundation
import TrainingLab

/// Step control: gradient transforms and reduce-on-plateau, by hand and inside the one training loop.
final class StepControlTests: XCTestCase {
    func testReduceOnPlateauFollowsPyTorchsRule() throws {
        // mode min, factor 0.5, patience 1, cooldown 1, threshold 0: PyTorch reduces after two bad epochs,
        // then ignores one epoch (cooldown) before counting again.
        let plateau = try ReduceOnPlateau(mode: .min, factor: 0.5, patience: 1, threshold: 0, cooldown: 1, minimumMultiplier: 0.2)
        let values: [Double] = [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.94, 0.96, 0.97, 0.98]
        let multipliers = values.map { plateau.update($0) }
        //  1.0 best; 0.9 best; 0.95 bad 1; 0.92 bad 2 > 1 -> 0.5, cooldown 1; 0.91 bad 1 but cooldown -> 0;
        //  0.93 bad 1; 0.94 bad 2 -> 0.25, cooldown; 0.96 cooldown -> 0; 0.97 bad 1; 0.98 bad 2 -> max(0.125, 0.2) = 0.2
        XCTAssertEqual(multipliers, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2])
        let copy = try ReduceOnPlateau(mode: .min, factor: 0.5, patience: 1, threshold: 0, cooldown: 1, minimumMultiplier: 0.2)
        try copy.restore(plateau.state)
        XCTAssertEqual(copy.update(0.5), plateau.update(0.5))
        XCTAssertThrowsError(try ReduceOnPlateau(factor: 1))
        // Relative threshold in max mode: 1.0 -> 1.005 is not an improvement at threshold 1e-2.
        let relative = try ReduceOnPlateau(mode: .max, factor: 0.1, patience: 0, threshold: 1e-2)
        XCTAssertEqual([1.0, 1.005, 1.2].map { relative.update($0) }, [1, 0.1, 0.1])
    }

    func testGlobalNormClipAndControlVariateCorrectionByHand() throws {
        let a = try Tensor([1, 2], shape: [2], requiresGrad: true), b = try Tensor([3], shape: [1], requiresGrad: true)
        a.grad = try Tensor([3, 0], shape: [2])
        b.grad = try Tensor([4], shape: [1])
        let clip = try GlobalNormClip(maxNorm: 1)
        try clip.apply(to: [("a", a), ("b", b)])
        XCTAssertEqual(clip.lastNorm!, 5, accuracy: 1e-6)
        XCTAssertEqual(a.grad!.scalars[0], 3 / (5 + 1e-6), accuracy: 1e-6)
        XCTAssertEqual(b.grad!.scalars[0], 4 / (5 + 1e-6), accuracy: 1e-6)
        // g += c_global - c_local by name.
        a.grad = try Tensor([1, 1], shape: [2])
        let correction = try ControlVariateCorrection(global: ["a": try Tensor([0.5, -1], shape: [2])],
                                                      local: ["a": try Tensor([0.25, 1], shape: [2])])
        try correction.apply(to: [("a", a)])
        XCTAssertEqual(a.grad!.scalars, [1.25, -1])
        XCTAssertThrowsError(try correction.apply(to: [("b", b)])) { XCTAssertTrue("\($0)".contains("'b'"), "\($0)") }
    }

    /// The loop applies the transforms between backward and the step, and the plateau multiplier to the
    /// learning rate of the epochs after a reduction; a resumed run restores the controller.
    func testTheLoopAppliesTransformsAndThePlateauMultiplier() throws {
        final class Recorder: TrainerCallback {
            var rates: [Int: Double] = [:]
            var gradientsSeen: [Double] = []
            func afterStep(_ loop: LoopState, _ step: StepState) throws { rates[step.epoch] = loop.optimizer.learningRate }
            func beforeStep(_ loop: LoopState, _ step: StepState) throws {
                gradientsSeen.append(Double(loop.optimizer.parameters.compactMap(\.1.grad).flatMap(\.scalars).map(Swift.abs).max() ?? 0))
            }
            func evaluate(_ loop: LoopState, metrics: inout JSONValue) throws { metrics.set("constant", 1) }
        }
        final class ZeroGradients: GradientTransform {
            func apply(to parameters: [(String, Tensor)]) throws { for (_, p) in parameters { p.grad = Tensor(zeros: p.shape) } }
        }
        let data = LearnableIDXDataset(train: 64, test: 32)
        var config = RunConfig()
        (config.model, config.epochs, config.batchSize, config.cropPadding, config.schedule, config.weightDecay) = ("mlp", 3, 32, 0, "constant", 0)
        config.dataset = data.spec
        let context = MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: try DatasetSpec(parsing: data.spec).load())
        let model = try context.makeModel()
        let before = model.namedState().map { $0.1.scalars }
        let recorder = Recorder()
        let trainer = context.makeTrainer(model: model, callbacks: [recorder])
        trainer.gradientTransforms = [ZeroGradients()]
        trainer.plateau = (try ReduceOnPlateau(mode: .max, factor: 0.5, patience: 0), "constant")
        try trainer.fit()
        XCTAssertEqual(Set(recorder.gradientsSeen), [0], "the transform ran before beforeStep")
        XCTAssertEqual(model.namedParameters().map { $0.1.scalars }, Array(before.prefix(model.namedParameters().count)),
                       "zero gradients, no weight decay: SGD leaves the weights alone")
        // Epoch 0 sets the best value; each later epoch of the same value is bad (patience 0) and halves the
        // multiplier for the epochs after it.
        XCTAssertEqual(trainer.history.map { $0["lr_multiplier"]?.doubleValue }, [1, 0.5, 0.25])
        XCTAssertEqual(recorder.rates, [0: 0.05, 1: 0.05, 2: 0.025])
        XCTAssertEqual(trainer.history.map { $0["lr"]?.doubleValue }, [0.05, 0.05, 0.025])
        let unwatched = context.makeTrainer(model: model)
        unwatched.plateau = (try ReduceOnPlateau(), "missing")
        XCTAssertThrowsError(try unwatched.fit()) { XCTAssertTrue("\($0)".contains("'missing'"), "\($0)") }
    }

    func testAResumedLoopContinuesThePlateauControllersState() throws {
        final class Declining: TrainerCallback {
            // A metric that gets worse every epoch: every epoch after the first reduces the rate.
            func evaluate(_ loop: LoopState, metrics: inout JSONValue) throws { metrics.set("score", .number(-Double(loop.epoch))) }
        }
        let data = LearnableIDXDataset(train: 64, test: 32)
        var config = RunConfig()
        (config.model, config.epochs, config.batchSize, config.cropPadding) = ("mlp", 4, 32, 0)
        config.dataset = data.spec
        let loaded = try DatasetSpec(parsing: data.spec).load()
        func run(_ dir: TemporaryDirectory, stopAfter: Int?, resume: Bool) throws -> [Double?] {
            let context = MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: loaded,
                                        outputDirectory: URL(fileURLWithPath: dir.path))
            context.stopAfterEpochs = stopAfter
            context.resume = resume
            let trainer = context.makeTrainer(model: try context.makeModel(), callbacks: [Declining()], stage: "")
            trainer.plateau = (try ReduceOnPlateau(mode: .max, factor: 0.5, patience: 0), "score")
            do { try trainer.fit() } catch is RunStopped {}
            return context.metrics.lines.map { $0["lr_multiplier"]?.doubleValue }
        }
        let whole = TemporaryDirectory(), pieces = TemporaryDirectory()
        let reference = try run(whole, stopAfter: nil, resume: false)
        XCTAssertEqual(reference, [1, 0.5, 0.25, 0.125])
        _ = try run(pieces, stopAfter: 2, resume: false)
        XCTAssertEqual(try run(pieces, stopAfter: nil, resume: true), reference)
    }
}
