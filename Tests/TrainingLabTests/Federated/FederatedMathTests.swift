import XCTest
import Foundation
import TrainingLab

/// The federated methods' maths on cases small enough to compute by hand: FedSWA's client cycle, FedMoSWA's
/// control variates, the SAM step, the server's weighted aggregation, the K-step sampler and local test sets.
final class FederatedMathTests: XCTestCase {
    private func vector(_ values: [Float]) throws -> ParameterVector {
        try ParameterVector(from: [("w", Tensor(values, shape: [values.count]))])
    }

    func testSWACycleByHandAndItsFedAvgSetting() {
        // m = 2, rho = 0, eta_r = 0.05, T = 25: 0.1 * (1 - k / 25).
        let rate = { (k: Int) in ClientLearningRate.swaCycle(step: k, steps: 25, roundRate: 0.05, multiplier: 2, endRatio: 0) }
        XCTAssertEqual(rate(0), 0.1, accuracy: 1e-15)
        XCTAssertEqual(rate(5), 0.08, accuracy: 1e-15)
        XCTAssertEqual(rate(24), 0.004, accuracy: 1e-15)
        // rho = 0.5 ends halfway: 0.1 * (1 - 0.5 * 20 / 25) = 0.06.
        XCTAssertEqual(ClientLearningRate.swaCycle(step: 20, steps: 25, roundRate: 0.05, multiplier: 2, endRatio: 0.5), 0.06, accuracy: 1e-15)
        // m = 1, rho = 1 is FedAvg's constant rate exactly, for rates whose cosine values have many bits.
        for r in 0..<40 {
            let eta = 0.05 * 0.5 * (1 + cos(Double.pi * Double(r) / 40))
            for k in 0..<25 { XCTAssertEqual(ClientLearningRate.swaCycle(step: k, steps: 25, roundRate: eta, multiplier: 1, endRatio: 1), eta) }
        }
    }

    func testControlVariateUpdatesByHand() throws {
        // c_i+ = c_i - c + (x - y) / (T eta) with T = 2, eta = 0.25: (x - y) / 0.5 = [1, -2].
        let estimate = try ControlVariates.clientEstimate(local: vector([1, 2]), global: vector([0.5, -1]), start: vector([1, 1]),
                                                          end: vector([0.5, 2]), steps: 2, meanLearningRate: 0.25)
        XCTAssertEqual(estimate.values.scalars, [1.5, 1])
        XCTAssertThrowsError(try ControlVariates.clientEstimate(local: vector([0]), global: vector([0]), start: vector([0]), end: vector([0]),
                                                                steps: 2, meanLearningRate: 0))
        // c + a * mean d: weight 1 the first time, a_c afterwards.
        let first = try vector([1, 1]), later = try vector([1, 1])
        try ControlVariates.serverStep(global: first, meanMessage: vector([2, 4]), momentum: 0.4, first: true)
        try ControlVariates.serverStep(global: later, meanMessage: vector([2, 4]), momentum: 0.4, first: false)
        XCTAssertEqual(first.values.scalars, [3, 5])
        XCTAssertEqual(later.values.scalars[0], 1.8, accuracy: 1e-6)
        XCTAssertEqual(later.values.scalars[1], 2.6, accuracy: 1e-6)
    }

    func testSAMAscentScaleUsesTheGlobalNorm() throws {
        let (scale, norm) = try SharpnessAwareStep.ascentScale(gradients: [Tensor([3], shape: [1]), Tensor([0, 4], shape: [2])], radius: 0.05)
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(scale, Float(0.05 / (5 + 1e-12)))
        XCTAssertThrowsError(try SharpnessAwareStep(radius: -1))
    }

    /// One SAM step of a 2-class linear model from zero weights on x = (1, 0), label 0, lr 1. At y = 0 the
    /// softmax is (1/2, 1/2), so g_W = [[-1/2, 0], [1/2, 0]], g_b = (-1/2, 1/2), ||g|| = 1 and e = rho g. At
    /// y + e the logits are rho (-1, 1), p_0 = 1 / (1 + e^(2 rho)), and the step uses q = 1 - p_0:
    /// W = [[q, 0], [-q, 0]], b = (q, -q), taken from y (not from y + e).
    func testSAMStepByHand() throws {
        let rho = 0.5
        let train = try Dataset(name: "one", sampleShape: [2], values: [1, 0], labels: [0], classCount: 2)
        let data = LoadedDataset(spec: DatasetSpec(), train: train, test: train)
        var config = RunConfig()
        config.epochs = 1
        config.batchSize = 1
        config.lr = 1
        config.momentum = 0
        config.weightDecay = 0
        config.schedule = "constant"
        config.cropPadding = 0
        let context = MethodContext(config: config, options: try OptionValues(specs: [], owner: "test"), data: data)
        let model = Linear(2, 2)
        try model.weight.assign(Tensor(zeros: [2, 2]))
        try model.bias!.assign(Tensor(zeros: [2]))
        let trainer = context.makeTrainer(model: model, callbacks: [try SharpnessAwareStep(radius: rho)], test: .some(nil),
                                          loader: DataLoader(dataset: train, batchSize: 1, augmentation: Augmentation(normalization: .none)))
        try trainer.fit()
        let q = Float(1 - 1 / (1 + exp(2 * rho)))
        for (got, want) in zip(model.weight.scalars + model.bias!.scalars, [q, 0, -q, 0, q, -q]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(context.cost.samplePasses, 2, "the perturbed pass is counted")
    }

    func testServerAveragesInTheGivenOrderWithSampleOrEqualWeights() throws {
        let model = Linear(1, 1)
        try model.weight.assign(Tensor([1], shape: [1, 1]))
        try model.bias!.assign(Tensor([0], shape: [1]))
        func update(_ client: Int, _ samples: Int, _ delta: [Float]) throws -> ClientUpdate {
            ClientUpdate(client: client, samples: samples, vectors: ["model": try ParameterVector(from: [("weight", Tensor([delta[0]], shape: [1, 1])), ("bias", Tensor([delta[1]], shape: [1]))])],
                         state: ClientState(), metrics: [:])
        }
        let updates = [try update(0, 1, [4, 0]), try update(1, 3, [8, 2])]
        var config = RunConfig()
        config.serverLR = 0.5
        let bySamples = FederatedServer(model: model, sharedNames: ["weight", "bias"], settings: try FederatedSettings(config))
        XCTAssertEqual(try bySamples.mean("model", of: updates).values.scalars, [7, 1.5])  // 0.25 * 4 + 0.75 * 8, 0.75 * 2
        try bySamples.applyModelDelta(try bySamples.mean("model", of: updates))
        XCTAssertEqual(model.weight.scalars, [4.5])  // 1 + 0.5 * 7
        XCTAssertEqual(model.bias!.scalars, [0.75])
        config.clientWeighting = "equal"
        let equal = FederatedServer(model: model, sharedNames: ["weight", "bias"], settings: try FederatedSettings(config))
        XCTAssertEqual(try equal.mean("model", of: updates).values.scalars, [6, 1])
        XCTAssertEqual(equal.parameterNames, ["weight", "bias"])
        XCTAssertThrowsError(try equal.mean("control", of: updates)) { XCTAssertTrue("\($0)".contains("'control'"), "\($0)") }
    }

    func testStepBudgetSamplerConcatenatesSeededPermutations() {
        let sampler = StepBudgetSampler(steps: 5, batchSize: 4, seed: 3)
        let order = sampler.indices(epoch: 0, count: 6)
        XCTAssertEqual(order.count, 20)
        for pass in 0..<3 { XCTAssertEqual(Set(order[(6 * pass)..<(6 * pass + 6)]), Set(0..<6), "pass \(pass) is a permutation") }
        XCTAssertTrue(Set(order[18...]).isSubset(of: Set(0..<6)))
        XCTAssertEqual(order, sampler.indices(epoch: 0, count: 6))
        XCTAssertNotEqual(order, sampler.indices(epoch: 1, count: 6))
        XCTAssertNotEqual(order, StepBudgetSampler(steps: 5, batchSize: 4, seed: 4).indices(epoch: 0, count: 6))
    }

    func testProportionalLocalTestSets() throws {
        let labels: [Int32] = (0..<30).map { Int32($0 % 3) }  // 10 per class
        let sets = try FederatedSplit.proportionalTestSets(testLabels: labels, classCount: 3, histograms: [[30, 10, 0], [0, 0, 5], [1, 1, 1]],
                                                           size: 8, seed: 1)
        let counts = sets.map { set in (0..<3).map { c in set.filter { labels[$0] == c }.count } }
        XCTAssertEqual(counts, [[6, 2, 0], [0, 0, 8], [3, 3, 3]])
        XCTAssertTrue(sets.allSatisfy { Set($0).count == $0.count }, "drawn without replacement")
        XCTAssertEqual(sets, try FederatedSplit.proportionalTestSets(testLabels: labels, classCount: 3, histograms: [[30, 10, 0], [0, 0, 5], [1, 1, 1]],
                                                                     size: 8, seed: 1))
    }

    func testInjectedFailuresParseAndRefuseNonsense() throws {
        XCTAssertEqual(try InjectedFailure.parse("3@2, 5@4:nan"),
                       [InjectedFailure(client: 3, round: 2), InjectedFailure(client: 5, round: 4, kind: .nonFiniteLoss)])
        XCTAssertEqual(try InjectedFailure.parse(""), [])
        for bad in ["3", "3@", "a@1", "3@1:boom", "-1@2", "1@2:nan:x"] {
            XCTAssertThrowsError(try InjectedFailure.parse(bad), bad) { XCTAssertTrue("\($0)".contains("fail_clients"), "\($0)") }
        }
        var config = RunConfig()
        config.epochs = 3
        config.failClients = "1@3"
        XCTAssertThrowsError(try FederatedSettings(config)) { XCTAssertTrue("\($0)".contains("round 3"), "\($0)") }
        config.failClients = ""
        config.minClients = 11
        XCTAssertThrowsError(try FederatedSettings(config)) { XCTAssertTrue("\($0)".contains("min_clients"), "\($0)") }
    }

    func testWireFormatRoundTripsExactly() throws {
        let c = try ParameterVector(from: [("a", Tensor([0.1, -3e-8], shape: [2])), ("b", Tensor([.pi], shape: [1, 1]))])
        let state = ClientState(vectors: ["control": c], values: .object([("seen", .number(2))]))
        let task = try FederatedWire.decodeTask(FederatedWire.encode(ClientTask(client: 4, samples: 17, state: state)))
        XCTAssertEqual([task.client, task.samples], [4, 17])
        XCTAssertEqual(task.state.vectors["control"]!.values.scalars, c.values.scalars)
        XCTAssertEqual(task.state.vectors["control"]!.layout, c.layout)
        XCTAssertEqual(task.state.values, state.values)

        let round = FederatedRound(index: 3, count: 40, learningRate: 0.05 * 0.5 * (1 + cos(0.3)), clients: [1, 4, 9])
        let broadcast = try FederatedWire.decodeBroadcast(FederatedWire.encode(RoundBroadcast(round: round, global: c, server: ["control": c])))
        XCTAssertEqual(broadcast.round, round)
        XCTAssertEqual(broadcast.global.values.scalars, c.values.scalars)
        XCTAssertEqual(broadcast.server["control"]!.layout, c.layout)

        let update = ClientUpdate(client: 4, samples: 17, vectors: ["model": c], state: state, metrics: ["train_loss": 0.123456789012345])
        guard case .success(let back) = try FederatedWire.decodeOutcome(FederatedWire.encode(ClientOutcome.success(update))) else {
            return XCTFail("a success came back as a failure")
        }
        XCTAssertEqual(back.vectors["model"]!.values.scalars, c.values.scalars)
        XCTAssertEqual(back.state.vectors["control"]!.values.scalars, c.values.scalars)
        XCTAssertEqual(back.metrics, update.metrics)
        guard case .failure(let failure) = try FederatedWire.decodeOutcome(FederatedWire.encode(ClientOutcome.failure(ClientFailure(client: 2, reason: "lost")))) else {
            return XCTFail("a failure came back as a success")
        }
        XCTAssertEqual(failure, ClientFailure(client: 2, reason: "lost"))
    }

    /// alpha = 100 gives every client nearly the uniform class mix; alpha = 0.1 concentrates most clients on
    /// one or two classes (the spec's check prints three clients' histograms, the report holds all of them).
    func testDirichletClientSamplingIsNearUniformAtLargeAlpha() throws {
        let labels: [Int32] = (0..<6000).map { Int32($0 % 10) }
        func distances(_ alpha: Double) throws -> [Double] {
            let parts = try FederatedSplit.dirichletClientSampling(labels: labels, classCount: 10, clients: 30, samplesPerClient: 1000,
                                                                   alpha: alpha, seed: 42)
            return FederatedSplit.classHistograms(parts, labels: labels, classCount: 10).map { h in
                h.reduce(0.0) { $0 + abs(Double($1) / 1000 - 0.1) } / 2  // total variation distance from uniform
            }
        }
        let uniform = try distances(100), skewed = try distances(0.1)
        XCTAssertLessThan(uniform.max()!, 0.1, "alpha 100: \(uniform)")
        XCTAssertGreaterThan(skewed.sorted()[15], 0.6, "alpha 0.1: the median client is far from uniform: \(skewed)")
    }
}
