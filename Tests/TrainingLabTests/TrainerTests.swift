import XCTest
import Foundation
import TrainingLab

/// Records the events it sees, optionally replacing the epoch order or poisoning the inputs.
private final class Recorder: InLoopMethod {
    static let descriptor = MethodDescriptor(name: "recorder", title: "test", paper: "-", summary: "-")
    let tag: String
    var log: [String]
    var keepFirst: Int?
    var poisonAtBatch: Int?

    init(options: OptionValues) { tag = ""; log = [] }
    init(tag: String) { self.tag = tag; log = [] }

    func fitStart(_ loop: LoopState) throws { log.append("\(tag)fitStart") }
    func epochStart(_ loop: LoopState, order: inout [Int]) throws {
        log.append("\(tag)epochStart")
        if let keepFirst { order = Array(order.prefix(keepFirst)) }
    }
    func batchStart(_ loop: LoopState, _ step: StepState) throws {
        log.append("\(tag)batchStart")
        if step.batchIndex == poisonAtBatch { step.inputs.pointer[0] = .nan }
    }
    func afterForward(_ loop: LoopState, _ step: StepState) throws { log.append("\(tag)afterForward") }
    func loss(_ loop: LoopState, _ step: StepState) throws {
        XCTAssertEqual(step.perSampleLoss?.shape, [step.batchSize])
        log.append("\(tag)loss")
    }
    func afterBackward(_ loop: LoopState, _ step: StepState) throws { log.append("\(tag)afterBackward") }
    func beforeStep(_ loop: LoopState, _ step: StepState) throws { log.append("\(tag)beforeStep") }
    func afterStep(_ loop: LoopState, _ step: StepState) throws { log.append("\(tag)afterStep") }
    func epochEnd(_ loop: LoopState, epoch: Int) throws { log.append("\(tag)epochEnd") }
    func evaluate(_ loop: LoopState, metrics: inout JSONValue) throws { log.append("\(tag)evaluate") }
    func fitEnd(_ loop: LoopState, report: inout JSONValue) throws { log.append("\(tag)fitEnd") }
}

final class TrainerTests: XCTestCase {
    static let dataset = LearnableIDXDataset()

    private func context(epochs: Int = 2, seed: Int = 0, model: String = "smallcnn", extra: [(String, JSONValue)] = [],
                         outputDirectory: URL? = nil) throws -> MethodContext {
        var config = RunConfig()
        config.model = model
        config.epochs = epochs
        config.seed = seed
        config.batchSize = 32
        config.lr = 0.05
        config.schedule = "cosine"
        config.dataset = TrainerTests.dataset.spec
        config.cropPadding = 0  // the class is the row of a bar: shifted crops would blur it
        for (k, v) in extra { try config.set(k, v) }
        return MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: try TrainerTests.dataset.load(),
                             outputDirectory: outputDirectory)
    }

    private func weights(_ model: Module) -> [[Float]] { model.namedState().map { $0.1.scalars } }

    func testLossDecreasesAndAccuracyRisesOnSyntheticData() throws {
        let ctx = try context(epochs: 3)
        let trainer = ctx.makeTrainer(model: try ctx.makeModel())
        let metrics = try trainer.fit()
        let losses = trainer.history.compactMap { $0["train_loss"]?.doubleValue }
        XCTAssertEqual(losses.count, 3)
        XCTAssertLessThan(losses.last!, losses.first! * 0.5, "\(losses)")
        XCTAssertGreaterThan(metrics?.accuracy ?? 0, 0.8)
        XCTAssertEqual(trainer.loop.samplePasses, 3 * 400)
    }

    func testLossDecreasesOnARealFashionMNISTSubset() throws {
        _ = try RealFashionMNIST.load()
        var config = RunConfig()
        config.epochs = 2
        config.batchSize = 64
        config.schedule = "constant"
        config.lr = 0.05
        config.dataset = "fashion-mnist,subset=1000"
        let data = try DatasetSpec(parsing: config.dataset).load()
        let ctx = MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: data)
        let trainer = ctx.makeTrainer(model: try ctx.makeModel("mlp"), train: data.train, test: .some(nil))
        try trainer.fit()
        let losses = trainer.history.compactMap { $0["train_loss"]?.doubleValue }
        XCTAssertLessThan(losses[1], losses[0], "\(losses)")
    }

    func testSameSeedGivesIdenticalWeightsAndOtherSeedsDiffer() throws {
        func train(seed: Int) throws -> [[Float]] {
            let ctx = try context(epochs: 1, seed: seed, extra: [("crop_padding", 2), ("flip", true)])
            let model = try ctx.makeModel()
            try ctx.makeTrainer(model: model).fit()
            return weights(model)
        }
        let a = try train(seed: 3), b = try train(seed: 3), c = try train(seed: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testResumeEqualsUninterruptedRun() throws {
        let dir = TemporaryDirectory()
        let url = URL(fileURLWithPath: dir.path + "/checkpoint.safetensors")
        let full = try context(epochs: 3)
        let reference = try full.makeModel()
        try full.makeTrainer(model: reference).fit()

        // Two epochs with a checkpoint after each; then a fresh process-like loop resumes for the third.
        let first = try context(epochs: 3, outputDirectory: URL(fileURLWithPath: dir.path))
        first.stopAfterEpochs = 2
        let partial = first.makeTrainer(model: try first.makeModel(), stage: "")
        XCTAssertThrowsError(try partial.fit()) { XCTAssertEqual(($0 as? RunStopped)?.epochsCompleted, 2) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.path))
        let resumedContext = try context(epochs: 3, outputDirectory: URL(fileURLWithPath: dir.path))
        resumedContext.resume = true
        let resumedModel = try resumedContext.makeModel(purpose: "something else")
        let resumed = resumedContext.makeTrainer(model: resumedModel, stage: "")
        try resumed.fit()
        XCTAssertEqual(resumed.history.count, 3)
        XCTAssertEqual(resumed.loop.samplePasses, 3 * 400)
        XCTAssertEqual(weights(resumedModel), weights(reference), "resumed weights differ from the uninterrupted run")
    }

    /// normalize=false: training batches are pixels / 255, and the test evaluation sees the same scale.
    func testNormalizeOffFeedsPixelsInTheUnitBoxToTrainingAndEvaluation() throws {
        final class RangeProbe: TrainerCallback {
            var low = Float.infinity, high = -Float.infinity
            func batchStart(_ loop: LoopState, _ step: StepState) throws {
                for v in step.inputs.scalars { low = min(low, v); high = max(high, v) }
            }
        }
        let data = try TrainerTests.dataset.load()
        let raw = try DataLoader.evaluation(data.train, batchSize: 1, normalization: .none).epoch(0).collect()[0].images
        let expected = data.train.image(0)!.map { Float($0) / 255 }
        XCTAssertLessThanOrEqual(zip(raw, expected).map { abs($0 - $1) }.max()!, 1e-6, "pixels / 255")
        for normalize in [false, true] {
            let ctx = try context(epochs: 1, extra: [("normalize", .bool(normalize))])
            let probe = RangeProbe()
            let model = try ctx.makeModel("mlp")
            let trainer = ctx.makeTrainer(model: model, callbacks: [probe])
            let metrics = try trainer.fit()
            XCTAssertEqual(probe.low < 0, normalize, "normalize=\(normalize): lowest input \(probe.low)")
            if !normalize { XCTAssertTrue(probe.low >= 0 && probe.high <= 1 && probe.high > 0.5, "\(probe.low)...\(probe.high)") }
            let same = try Evaluation.metrics(of: model, on: data.test, normalization: ctx.config.inputNormalization)
            XCTAssertEqual(metrics?.accuracy, same.accuracy)
            XCTAssertEqual(metrics?.nll, same.nll)
        }
    }

    func testEventsRunInDocumentedOrderWithAfterEventsReversed() throws {
        let ctx = try context(epochs: 1, extra: [("batch_size", 400)])
        let recorder = Recorder(tag: "")
        try ctx.makeTrainer(model: try ctx.makeModel("mlp"), callbacks: [recorder]).fit()
        XCTAssertEqual(recorder.log, ["fitStart", "epochStart", "batchStart", "afterForward", "loss", "afterBackward",
                                      "beforeStep", "afterStep", "epochEnd", "evaluate", "fitEnd"])
    }

    func testAfterEventsRunInReverseRegistrationOrder() throws {
        let ctx = try context(epochs: 1, extra: [("batch_size", 400)])
        let log = SharedLog()
        let trainer = ctx.makeTrainer(model: try ctx.makeModel("mlp"), callbacks: [OrderProbe("a", log), OrderProbe("b", log)])
        try trainer.fit()
        XCTAssertEqual(log.entries, ["a.batchStart", "b.batchStart", "b.afterForward", "a.afterForward", "a.loss", "b.loss",
                                     "b.afterStep", "a.afterStep"])
    }

    func testEpochOrderCanBePrunedAndIsCounted() throws {
        let ctx = try context(epochs: 2)
        let pruner = Recorder(tag: "")
        pruner.keepFirst = 100
        let trainer = ctx.makeTrainer(model: try ctx.makeModel("mlp"), callbacks: [pruner])
        try trainer.fit()
        XCTAssertEqual(trainer.loop.samplePasses, 200)
        XCTAssertEqual(trainer.history.map { $0["samples"]?.doubleValue }, [100, 100])
    }

    func testNonFiniteLossStopsWithAClearError() throws {
        let ctx = try context(epochs: 1)
        let poison = Recorder(tag: "")
        poison.poisonAtBatch = 2
        let trainer = ctx.makeTrainer(model: try ctx.makeModel("mlp"), callbacks: [poison])
        XCTAssertThrowsError(try trainer.fit()) { error in
            XCTAssertTrue(error is TrainingError)
            XCTAssertTrue("\(error)".contains("non-finite loss"), "\(error)")
            XCTAssertTrue("\(error)".contains("epoch 0, batch 2"), "\(error)")
        }
    }
}

final class SharedLog { var entries: [String] = [] }

/// Logs a few events with its name into a shared log, to check the relative order of two methods.
private final class OrderProbe: InLoopMethod {
    static let descriptor = MethodDescriptor(name: "probe", title: "test", paper: "-", summary: "-")
    let name: String
    let log: SharedLog
    init(options: OptionValues) { name = ""; log = SharedLog() }
    init(_ name: String, _ log: SharedLog) { self.name = name; self.log = log }
    func batchStart(_ loop: LoopState, _ step: StepState) throws { log.entries.append("\(name).batchStart") }
    func afterForward(_ loop: LoopState, _ step: StepState) throws { log.entries.append("\(name).afterForward") }
    func loss(_ loop: LoopState, _ step: StepState) throws { log.entries.append("\(name).loss") }
    func afterStep(_ loop: LoopState, _ step: StepState) throws { log.entries.append("\(name).afterStep") }
}
