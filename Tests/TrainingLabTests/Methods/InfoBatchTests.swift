import XCTest
import Foundation
import TrainingLab

/// Sets the per-sample losses (and so InfoBatch's scores) to chosen values, before InfoBatch sees them.
/// `keepGradient` shifts the real loss by a constant (value ≈ score, gradient of the real loss);
/// otherwise the value is exactly the score and the gradient is zero.
private final class ScoreSetter: TrainerCallback {
    let score: (Int) -> Float
    let keepGradient: Bool

    init(keepGradient: Bool = false, _ score: @escaping (Int) -> Float) {
        self.score = score
        self.keepGradient = keepGradient
    }

    func loss(_ loop: LoopState, _ step: StepState) throws {
        guard let l = step.perSampleLoss else { return }
        let target = step.indices.map(score)
        if keepGradient {
            let shift = zip(target, l.scalars).map { $0 - $1 }
            step.perSampleLoss = try l + Tensor(shift, shape: [shift.count])
        } else {
            step.perSampleLoss = try l * 0 + Tensor(target, shape: [target.count])
        }
    }
}

/// Records what InfoBatch decided (registered after it): each epoch's order, the weight of every visited
/// sample, the total weighted gradient sum_steps B * grad = sum_i w_i grad l_i, and how far the trainer's
/// loss is from sum(w l) / B.
private final class Probe: TrainerCallback {
    var orders: [[Int]] = []
    var weights: [[Int: Float]] = []
    var gradientSums: [[Double]] = []
    var worstReductionError = 0.0
    var stepsWithUpweights = 0
    /// (epoch, batch, batches in the epoch, learning rate used) of every step.
    var rates: [(Int, Int, Int, Double)] = []

    func epochStart(_ loop: LoopState, order: inout [Int]) throws {
        orders.append(order)
        weights.append([:])
        gradientSums.append([Double](repeating: 0, count: loop.model.parameters().reduce(0) { $0 + $1.count }))
    }

    func loss(_ loop: LoopState, _ step: StepState) throws {
        for (j, i) in step.indices.enumerated() { weights[weights.count - 1][i] = step.sampleWeights?[j] ?? 1 }
    }

    func afterBackward(_ loop: LoopState, _ step: StepState) throws {
        let l = step.perSampleLoss!.scalars, w = step.sampleWeights ?? [Float](repeating: 1, count: l.count)
        if w.contains(where: { $0 != 1 }) { stepsWithUpweights += 1 }
        let reference = zip(w, l).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / Double(l.count)
        worstReductionError = max(worstReductionError, abs(Double(try step.loss!.item()) - reference) / max(1, abs(reference)))
        var offset = 0
        for p in loop.model.parameters() {
            let g = p.grad!.scalars
            for k in 0..<g.count { gradientSums[gradientSums.count - 1][offset + k] += Double(step.batchSize) * Double(g[k]) }
            offset += g.count
        }
    }

    func afterStep(_ loop: LoopState, _ step: StepState) throws {
        rates.append((step.epoch, step.batchIndex, step.batchCount, loop.optimizer.learningRate))
    }
}

final class InfoBatchTests: XCTestCase {
    /// 4x4 images, so a linear model of 170 parameters suffices and thousands of epochs stay cheap.
    static let tiny = LearnableIDXDataset(train: 40, test: 10, side: 4)
    static let small = LearnableIDXDataset(train: 1000, test: 10, side: 4, seed: 9)
    static let learnable = LearnableIDXDataset(train: 256, test: 64)

    private func method(_ options: [String]) throws -> InLoopMethod {
        _ = try buildFolder()
        let entry = try PluginRegistry(environment: [:]).entry(named: "infobatch")
        let instance = try entry.type.init(options: try OptionValues(specs: entry.descriptor.options, assignments: options, owner: "infobatch"))
        return try XCTUnwrap(instance as? InLoopMethod)
    }

    /// Trains a seeded linear model, by default with a learning rate of 0 (so the losses, and with them the
    /// scores, stay fixed), under InfoBatch with the given options, between a score setter and a probe.
    private func train(options: [String], epochs: Int, batchSize: Int, data: LearnableIDXDataset = tiny,
                       setter: ScoreSetter?, lr: Double = 0, schedule: String = "constant") throws -> (Probe, Trainer) {
        var config = RunConfig()
        config.dataset = data.spec
        config.epochs = epochs
        config.batchSize = batchSize
        config.lr = lr
        config.weightDecay = 0
        config.schedule = schedule
        config.labelSmoothing = 0.1
        config.cropPadding = 0
        config.seed = 3
        let ctx = MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: try data.load())
        let model = ParameterInit.withSeed(11) { Sequential(Flatten(), Linear(16, 10)) }
        let probe = Probe()
        let callbacks: [TrainerCallback] = (setter.map { [$0] } ?? []) + [try method(options), probe]
        let trainer = ctx.makeTrainer(model: model, callbacks: callbacks, test: .some(nil))
        try trainer.fit()
        return (probe, trainer)
    }

    func testDescriptorCarriesTheSpecDefaults() throws {
        _ = try buildFolder()
        let d = try PluginRegistry(environment: [:]).entry(named: "infobatch").descriptor
        let options = try OptionValues(specs: d.options, owner: "infobatch")
        XCTAssertEqual(try options.double("prune_ratio"), 0.5)
        XCTAssertEqual(try options.double("delta"), 0.875)
        XCTAssertEqual(try options.double("initial_score"), 3.0)
        XCTAssertEqual(try options.string("mode"), "infobatch")
        XCTAssertEqual(d.baseline, "erm")
        XCTAssertEqual(d.claims, [.sampleOrder, .lossWeights])
        XCTAssertTrue(d.supportsResume)
        var config = RunConfig()
        for (key, value) in d.runDefaults { try config.set(key, value) }
        XCTAssertEqual(config.model, "smallcnn")
        XCTAssertEqual(config.epochs, 16)
        XCTAssertEqual(config.batchSize, 128)
        XCTAssertEqual(config.momentum, 0.9)
        XCTAssertEqual(config.weightDecay, 5e-4)
        XCTAssertEqual(config.lr, 0.05)
        XCTAssertEqual(config.schedule, "onecycle")
        XCTAssertEqual(config.labelSmoothing, 0.1)
        XCTAssertEqual(config.cropPadding, 2)
    }

    /// Identical scores (0.1 and 0.7 are not representable, so a float mean could round below them,
    /// upstream issue #25) leave D_low empty: nothing is pruned, every weight stays 1.
    func testEqualScoresPruneNothing() throws {
        for value: Float in [0.1, 0.7, 3.0] {
            let (probe, trainer) = try train(options: ["delta=1"], epochs: 3, batchSize: 250, data: InfoBatchTests.small,
                                             setter: ScoreSetter { _ in value })
            XCTAssertEqual(probe.orders.map(\.count), [1000, 1000, 1000], "score \(value)")
            XCTAssertTrue(probe.weights.allSatisfy { $0.values.allSatisfy { $0 == 1 } }, "score \(value)")
            XCTAssertEqual(trainer.loop.samplePasses, 3000)
        }
    }

    /// 40 samples, scores 1...10 four times each: mean 5.5, D_low = the 20 samples scored 1...5. r = 0.5 keeps
    /// floor(0.5 * 20) = 10 of them with weight 2, r = 0.75 keeps floor(0.25 * 20) = 5 with weight 4, r = 0.9
    /// keeps floor(0.1 * 20) = 2 with weight 10 (1 - 0.9 is 0.09999999999999998 in double, which would keep 1;
    /// the official clamp of k to [0.1, 1] makes it exactly 0.1). D_high is always visited with weight 1.
    func testKnownScoresKeepFloorOfKTimesLowWithWeightOneOverK() throws {
        for (ratio, keptCount, weight) in [(0.5, 10, Float(2)), (0.75, 5, Float(4)), (0.9, 2, Float(10))] {
            let (probe, trainer) = try train(options: ["prune_ratio=\(ratio)", "delta=1"], epochs: 12, batchSize: 4,
                                             setter: ScoreSetter { Float($0 % 10 + 1) })
            let low = Set((0..<40).filter { $0 % 10 < 5 }), high = Set(0..<40).subtracting(low)
            XCTAssertEqual(probe.orders[0].count, 40, "epoch 0 prunes nothing")
            var subsets = Set<Set<Int>>()
            for epoch in 1..<12 {
                let visited = Set(probe.orders[epoch])
                XCTAssertEqual(probe.orders[epoch].count, visited.count, "no sample twice")
                XCTAssertTrue(high.isSubset(of: visited), "epoch \(epoch): D_high is always kept")
                let s = visited.intersection(low)
                XCTAssertEqual(s.count, keptCount, "epoch \(epoch): |S| = floor(k |D_low|)")
                for i in visited { XCTAssertEqual(probe.weights[epoch][i], s.contains(i) ? weight : 1, "epoch \(epoch) sample \(i)") }
                subsets.insert(s)
            }
            XCTAssertGreaterThan(subsets.count, 5, "S is redrawn every epoch")
            let counts = trainer.history.map { $0["pruned_samples"]?.doubleValue }
            XCTAssertEqual(counts, [0] + [Double?](repeating: Double(20 - keptCount), count: 11), "metrics lines")
        }
    }

    /// The reduction is sum(w l) / B, not sum(w l) / sum(w) (which would cancel the rescaling).
    func testWeightedBatchLossIsTheMeanOfWeightTimesLoss() throws {
        let l = try Tensor([1, 2, 3, 4], shape: [4])
        XCTAssertEqual(try weightedMean(l, weights: [2, 1, 2, 1]).item(), 3.5)
        let (probe, _) = try train(options: [], epochs: 4, batchSize: 8, setter: ScoreSetter { Float($0 % 10 + 1) })
        XCTAssertGreaterThan(probe.stepsWithUpweights, 0)
        XCTAssertLessThan(probe.worstReductionError, 1e-6)
    }

    /// Unbiasedness: with fixed parameters and scores, the mean over T pruned epochs of the total weighted
    /// gradient sum_kept w_i grad l_i matches the full-data sum (epoch 0) within 5 standard errors, s / sqrt(T)
    /// per parameter. |D_low| = 24 is even, so k |D_low| has no floor to round. The random control, which
    /// prunes the same number without rescaling, lands at (N - 12) / N of the full gradient and fails the test.
    func testExpectedWeightedGradientOfALinearModelMatchesFullData() throws {
        func mismatch(mode: String, draws: Int) throws -> (worst: Double, full: [Double], mean: [Double]) {
            let (probe, _) = try train(options: ["delta=1", "mode=\(mode)"], epochs: draws + 1, batchSize: 40,
                                       setter: ScoreSetter(keepGradient: true) { $0 % 5 < 3 ? 1 : 5 })
            XCTAssertEqual(Set(probe.orders.dropFirst().map(\.count)), [28], "\(mode): 12 of the 24 low samples dropped")
            let full = probe.gradientSums[0], draws = probe.gradientSums.dropFirst()
            let t = Double(draws.count)
            var worst = 0.0, means: [Double] = []
            for j in full.indices {
                let mean = draws.reduce(0) { $0 + $1[j] } / t
                let variance = draws.reduce(0) { $0 + ($1[j] - mean) * ($1[j] - mean) } / (t - 1)
                let tolerance = 5 * (variance / t).squareRoot() + 1e-5 * max(1, abs(full[j]))
                worst = max(worst, abs(mean - full[j]) / tolerance)
                means.append(mean)
            }
            return (worst, full, means)
        }
        let infobatch = try mismatch(mode: "infobatch", draws: 2000)
        XCTAssertLessThan(infobatch.worst, 1, "mean weighted gradient is more than 5 standard errors from the full-data one")
        let control = try mismatch(mode: "random", draws: 500)
        XCTAssertGreaterThan(control.worst, 1, "the unrescaled control should be detectably biased")
        let projection = zip(control.mean, control.full).reduce(0) { $0 + $1.0 * $1.1 } / control.full.reduce(0) { $0 + $1 * $1 }
        XCTAssertEqual(projection, 28.0 / 40.0, accuracy: 0.05)
    }

    /// delta * E = 3.5 is not an integer (the official "first full epoch" check would never fire): epochs
    /// 0...3 may prune, epochs 4...6 visit all samples, every weight 1.
    func testAnnealingEpochsUseAllSamplesWithWeightOne() throws {
        let (probe, trainer) = try train(options: ["delta=0.5"], epochs: 7, batchSize: 16, setter: ScoreSetter { Float($0 % 10 + 1) })
        XCTAssertEqual(probe.orders.map(\.count), [40, 30, 30, 30, 40, 40, 40])
        for epoch in 4..<7 {
            XCTAssertEqual(Set(probe.orders[epoch]), Set(0..<40))
            XCTAssertTrue(probe.weights[epoch].values.allSatisfy { $0 == 1 }, "epoch \(epoch)")
        }
        XCTAssertTrue(probe.weights[3].values.contains(2), "the last pruned epoch up-weights")
        XCTAssertEqual(trainer.history.map { $0["upweighted_samples"]?.doubleValue }, [0, 10, 10, 10, 0, 0, 0])
        XCTAssertEqual(trainer.loop.samplePasses, 40 * 4 + 30 * 3)
    }

    /// Spec step 5: epochs of different lengths follow the schedule by training progress, so every epoch
    /// starts at the full-data schedule's value at e/E and its steps advance evenly to (e+1)/E, as the official
    /// example gets by rebuilding OneCycle each epoch with that epoch's step count.
    func testScheduleFollowsEpochProgressAcrossPrunedEpochs() throws {
        let (probe, trainer) = try train(options: ["delta=0.5"], epochs: 7, batchSize: 8, setter: ScoreSetter { Float($0 % 10 + 1) },
                                         lr: 0.05, schedule: "onecycle")
        let schedule = try LearningRateSchedule(parsing: "onecycle")
        XCTAssertEqual(Set(probe.rates.map(\.2)), [4, 5], "pruned epochs have 30 / 8 -> 4 steps, full ones 5")
        for (epoch, batch, batches, rate) in probe.rates {
            let expected = trainer.loop.config.lr * schedule.multiplier(at: (Double(epoch) + Double(batch) / Double(batches)) / 7)
            XCTAssertEqual(rate, expected, accuracy: 1e-12, "epoch \(epoch) batch \(batch)")
            if batch == 0 { XCTAssertEqual(rate, trainer.loop.config.lr * schedule.multiplier(at: Double(epoch) / 7), accuracy: 1e-12) }
        }
    }

    /// mode=random drops |D_low| - floor(k |D_low|) samples drawn from the whole set, all weights 1.
    func testRandomControlPrunesWithoutRescaling() throws {
        let (probe, _) = try train(options: ["mode=random", "delta=1"], epochs: 30, batchSize: 16, setter: ScoreSetter { Float($0 % 10 + 1) })
        XCTAssertEqual(probe.orders[0].count, 40)
        var droppedHigh = false
        for epoch in 1..<30 {
            XCTAssertEqual(probe.orders[epoch].count, 30, "epoch \(epoch)")
            XCTAssertTrue(probe.weights[epoch].values.allSatisfy { $0 == 1 }, "epoch \(epoch)")
            droppedHigh = droppedHigh || Set(0..<40).subtracting(probe.orders[epoch]).contains { $0 % 10 >= 5 }
        }
        XCTAssertTrue(droppedHigh, "the control prunes hard samples too")
    }

    /// Stopping after a pruned epoch and resuming gives the same model, counters and metrics as one run.
    func testResumeAfterAPrunedEpochEqualsTheUninterruptedRun() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let settings: [(String, JSONValue)] = [("dataset", .string(InfoBatchTests.learnable.spec)), ("model", "mlp"), ("epochs", 4),
                                               ("batch_size", 32), ("crop_padding", 0)]
        func run(_ dir: TemporaryDirectory, stopAfter: Int?, resume: Bool) throws -> JSONValue {
            let r = try RunPlan(registry: registry, name: "infobatch", settings: settings, optionAssignments: ["delta=0.75"],
                                  outputDirectory: URL(fileURLWithPath: dir.path))
            r.stopAfterEpochs = stopAfter
            r.resume = resume
            return try r.execute()
        }
        let whole = TemporaryDirectory(), pieces = TemporaryDirectory()
        let reference = try run(whole, stopAfter: nil, resume: false)
        _ = try run(pieces, stopAfter: 2, resume: false)
        let resumed = try run(pieces, stopAfter: nil, resume: true)
        let pruned = reference["infobatch"]?["pruned_per_epoch"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        XCTAssertEqual(pruned.count, 4)
        XCTAssertEqual(pruned.first, 0)
        XCTAssertGreaterThan(pruned[1], 0)
        XCTAssertEqual(pruned[3], 0, "annealing epoch")
        XCTAssertEqual(resumed["infobatch"], reference["infobatch"])
        XCTAssertEqual(resumed["sample_passes"], reference["sample_passes"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: whole.path + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: pieces.path + "/model.safetensors")))
        let lines = { (dir: TemporaryDirectory) in
            try String(contentsOfFile: dir.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
                .map { try JSONValue.parse(String($0))["pruned_samples"] }
        }
        XCTAssertEqual(try lines(pieces), try lines(whole))
    }
}
