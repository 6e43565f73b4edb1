import XCTest
import Foundation
import TrainingLab

/// |a_i - b_i| <= tolerance for equal-length arrays.
private func assertNear(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5, _ message: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) where !(abs(x - y) <= tolerance) { XCTFail("\(a) vs \(b) \(message)", file: file, line: line); return }
}

/// FedLoGe's maths in the core (SSE-C construction, GLA-FR, the decoupled heads and their detached losses)
/// on hand-computed cases and the spec's SSE-C checks, then the `fedloge` plugin through the registry:
/// SSE-C frozen, local heads private, GLA-FR post-hoc, the comparison's arms.
final class FedLoGeTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 300, test: 100)
    /// Rows of MethodSuiteTests: long-tailed (so the shot metrics exist), 3 clients, 2 per round, local test sets.
    static let suiteSettings: [(String, JSONValue)] = [("dataset", .string(data.spec + ",imbalance=4,clients=3,alpha=1")), ("clients_per_round", 2),
                                                        ("local_test", 20), ("eval_every", 1)]
    /// A short SSE-C refinement for runs whose checks do not need a converged one.
    static let suiteOptions = ["etf_steps=20"]

    // MARK: SSE-C

    /// The spec's unit checks on the full construction for d = 128, C = 10 (10,000 Adam steps): exactly 60 %
    /// zeros, column norms 0.1 +/- 0.01, smallest pairwise angle >= 90 degrees (the exact ETF has 96.4).
    func testSSECHasTheSpecsSparsityNormsAndAngles() throws {
        let started = Date()
        let sse = try SparseETF(features: 128, classes: 10, seed: 11)
        let seconds = Date().timeIntervalSince(started)
        print("SSE-C 128 x 10, 10000 steps: \(String(format: "%.2f", seconds)) s (this build)")
        XCTAssertEqual(sse.weight.shape, [10, 128])
        let geometry = try SparseETF.Geometry(rows: sse.weight)
        XCTAssertEqual(geometry.zeroFraction, 0.6, "floor(0.6 * 1280) = 768 zeros, exactly")
        for norm in geometry.norms { XCTAssertEqual(norm, 0.1, accuracy: 0.01) }
        XCTAssertGreaterThanOrEqual(geometry.smallestAngle, 90)
        XCTAssertLessThanOrEqual(geometry.smallestAngle, 96.38, "no angle beats the simplex ETF's acos(-1/9)")
        XCTAssertLessThan(sse.finalLoss, sse.initialLoss)
        XCTAssertEqual(try SparseETF(features: 128, classes: 10, seed: 11, settings: .init(steps: 50)).weight.scalars,
                       try SparseETF(features: 128, classes: 10, seed: 11, settings: .init(steps: 50)).weight.scalars, "seeded")
        XCTAssertNotEqual(try SparseETF(features: 128, classes: 10, seed: 12, settings: .init(steps: 50)).weight.scalars,
                          try SparseETF(features: 128, classes: 10, seed: 11, settings: .init(steps: 50)).weight.scalars)
    }

    /// M = sqrt(C/(C-1)) P (I - 11^T/C): unit columns, every pairwise cosine -1/(C-1).
    func testSimplexIsAnEquiangularTightFrame() throws {
        let m = try SparseETF.simplex(features: 20, classes: 5, seed: 3)
        let rows = try m.transposed().copy()
        let geometry = try SparseETF.Geometry(rows: rows)
        for norm in geometry.norms { XCTAssertEqual(norm, 1, accuracy: 1e-5) }
        let v = rows.scalars.map(Double.init)
        for a in 0..<5 {
            for b in (a + 1)..<5 {
                XCTAssertEqual((0..<20).reduce(0.0) { $0 + v[a * 20 + $1] * v[b * 20 + $1] }, -0.25, accuracy: 1e-5)
            }
        }
    }

    /// Entries under a 0 of the mask stay exactly zero through Adam; the others move.
    func testRefinementMovesOnlyTheKeptEntries() throws {
        let m = try SparseETF.simplex(features: 6, classes: 3, seed: 4)
        let mask = try Tensor(SparseETF.sparsityMask(count: 18, zeros: 10, seed: 5), shape: [6, 3])
        XCTAssertEqual(mask.scalars.filter { $0 == 0 }.count, 10)
        for i in 0..<18 { m.pointer[i] *= mask.pointer[i] }
        let before = m.scalars
        try SparseETF.refine(m, mask: mask, settings: .init(steps: 30, learningRate: 1e-2))
        for i in 0..<18 {
            if mask.pointer[i] == 0 { XCTAssertEqual(m.pointer[i], 0, "entry \(i)") } else { XCTAssertNotEqual(m.pointer[i], before[i], "entry \(i)") }
        }
    }

    // MARK: GLA-FR and the decoupled heads

    /// A network whose backbone is the identity on 2 features (Flatten), with hand-set heads:
    /// W_a = [[3, 4], [0, 1]] (row norms 5, 1), b_a = [0.5, -0.5]; W_l = [[0, 2], [1, 0]] (row norms 2, 1), b_l = [1, 0];
    /// W_s = [[1, 0], [0, -1]], b_s = 0.
    private func handNetwork() throws -> DecoupledHeadNetwork {
        let network = try DecoupledHeadNetwork(splitting: Sequential(Flatten(), Linear(2, 2))) { _, _ in try Tensor([1, 0, 0, -1], shape: [2, 2]) }
        try network.auxiliary.weight.assign(Tensor([3, 4, 0, 1], shape: [2, 2]))
        try network.auxiliary.bias!.assign(Tensor([0.5, -0.5], shape: [2]))
        try network.local.weight.assign(Tensor([0, 2, 1, 0], shape: [2, 2]))
        try network.local.bias!.assign(Tensor([1, 0], shape: [2]))
        return network
    }

    /// On f = (1, 2): raw auxiliary [11.5, 1.5]; GA-FR rows 1.7 (3, 4)/5 and 1.7 (0, 1) give [1.02 + 2.72 + 0.5, 3.4 - 0.5]
    /// = [4.24, 2.9]; local [5, 1]; LA-FR rows 2 (3, 4) and 1 (0, 1) give [22.5, 1.5], so personal = [27.5, 2.5],
    /// and local + raw auxiliary = [16.5, 2.5]; SSE-C [1, -2].
    func testGlobalAndLocalRealignmentByHand() throws {
        let network = try handNetwork()
        XCTAssertEqual(try HeadRealignment.rowNorms(network.auxiliary.weight), [5, 1])
        assertNear(try HeadRealignment.global(network.auxiliary.weight, scale: 1.7).scalars, [1.02, 1.36, 0, 1.7])
        assertNear(try HeadRealignment.local(network.auxiliary.weight, localWeight: network.local.weight).scalars, [6, 8, 0, 1])
        let f = try Tensor([1, 2], shape: [1, 2])
        let expected: [DecoupledHeadNetwork.Head: [Float]] = [
            .frozen: [1, -2], .auxiliary: [11.5, 1.5], .realigned: [4.24, 2.9], .local: [5, 1], .personal: [16.5, 2.5], .personalRealigned: [27.5, 2.5],
        ]
        for head in DecoupledHeadNetwork.Head.allCases {
            assertNear(try network.logits(of: f, head).scalars, expected[head]!, tolerance: 1e-4, head.rawValue)
            network.head = head
            assertNear(try network(f).scalars, expected[head]!, tolerance: 1e-4, "forward selects \(head.rawValue)")
        }
        XCTAssertThrowsError(try HeadRealignment.global(Tensor(zeros: [2, 2]), scale: 1)) { XCTAssertTrue("\($0)".contains("row 0"), "\($0)") }
        XCTAssertThrowsError(try HeadRealignment.local(network.auxiliary.weight, localWeight: Tensor(zeros: [3, 2])))
    }

    /// The auxiliary and local losses see detached features: the backbone's gradient from the whole step equals
    /// the gradient of the SSE-C loss alone, bit for bit; the heads get gradients, the frozen classifier none.
    func testHeadLossesDoNotReachTheBackbone() throws {
        let network = try ParameterInit.withSeed(7) {
            try DecoupledHeadNetwork(splitting: Sequential(Flatten(), Linear(4, 6), ReLU(), Linear(6, 3))) { c, d in
                try SparseETF(features: d, classes: c, seed: 1, settings: .init(steps: 10)).weight
            }
        }
        let labels: [Int32] = [0, 1, 2, 1, 0]
        let x = Tensor.uniform([5, 4], low: -1, high: 1, seed: 9)
        let step = StepState(epoch: 0, batchIndex: 0, batchCount: 1, globalStep: 0, batch: Batch(views: [x], labels: labels, indices: Array(0..<5)))
        try network.trainingStep(step)
        XCTAssertEqual(step.extraTerms.map(\.0), ["auxiliary_loss", "local_loss"])
        var total = try step.perSampleLoss!.mean()
        for (_, term) in step.extraTerms { total = try total + term }
        try total.backward()
        let backbone = network.backbone.parameters()
        let whole = backbone.map { $0.grad!.scalars }
        for head in [network.auxiliary, network.local] { XCTAssertGreaterThan(head.weight.grad?.scalars.map(abs).max() ?? 0, 0) }
        XCTAssertNil(network.frozen.weight.grad)
        XCTAssertFalse(network.namedParameters().contains { $0.0.hasPrefix("frozen.") }, "no optimiser sees SSE-C")

        network.zeroGrad()
        try crossEntropy(network.frozen(network.backbone(x)), labels: labels).mean().backward()
        XCTAssertEqual(backbone.map { $0.grad!.scalars }, whole)
        XCTAssertEqual(network.statistics.steps, 1)
        XCTAssertEqual(Set(network.statistics.means.keys), Set(HeadStatistics.keys))
    }

    /// The round log's head figures after two training steps equal a plain recomputation: the mean over
    /// steps of the batch-mean feature norm ||f|| and of each head's batch-mean logit range max_c z - min_c z.
    func testHeadStatisticsAreMeansOfFeatureNormsAndLogitRanges() throws {
        let network = try ParameterInit.withSeed(3) {
            try DecoupledHeadNetwork(splitting: Sequential(Flatten(), Linear(4, 6), ReLU(), Linear(6, 3))) { c, d in
                try SparseETF(features: d, classes: c, seed: 2, settings: .init(steps: 10)).weight
            }
        }
        func rows(_ t: Tensor) -> [[Double]] {
            let (values, width) = (t.scalars.map(Double.init), t.count / t.shape[0])
            return (0..<t.shape[0]).map { Array(values[$0 * width..<($0 + 1) * width]) }
        }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        var expected = [String: [Double]]()
        for (seed, n) in [(11, 5), (12, 3)] {
            let x = Tensor.uniform([n, 4], low: -2, high: 2, seed: UInt64(seed))
            // Before the step's own forward: the recorded figures are those of this forward's features.
            let f = try network.backbone(x)
            let figures = [("feature_norm", mean(rows(f).map { $0.map { $0 * $0 }.reduce(0, +).squareRoot() })),
                           ("logit_range_frozen", mean(rows(try network.frozen(f)).map { $0.max()! - $0.min()! })),
                           ("logit_range_auxiliary", mean(rows(try network.auxiliary(f)).map { $0.max()! - $0.min()! })),
                           ("logit_range_local", mean(rows(try network.local(f)).map { $0.max()! - $0.min()! }))]
            for (key, value) in figures { expected[key, default: []].append(value) }
            let labels = (0..<n).map { Int32($0 % 3) }
            try network.trainingStep(StepState(epoch: 0, batchIndex: 0, batchCount: 1, globalStep: 0,
                                               batch: Batch(views: [x], labels: labels, indices: Array(0..<n))))
        }
        XCTAssertEqual(network.statistics.steps, 2)
        for key in HeadStatistics.keys {
            let value = try XCTUnwrap(network.statistics.means[key], key)
            XCTAssertEqual(value, mean(expected[key]!), accuracy: 1e-5 * max(1, abs(value)), key)
            XCTAssertGreaterThan(value, 0, key)
        }
    }

    func testSharedStateIsTheBackboneAndTheAuxiliaryHead() throws {
        let network = try handNetwork()
        let shared = network.sharedState().map(\.0)
        XCTAssertEqual(shared, ["auxiliary.weight", "auxiliary.bias"], "Flatten has no state; frozen and local are not shared")
        let deeper = try DecoupledHeadNetwork(splitting: Sequential(Flatten(), Linear(4, 6), ReLU(), Linear(6, 3))) { Tensor(zeros: [$0, $1]) }
        XCTAssertEqual(deeper.sharedState().map(\.0), ["backbone.layers.1.weight", "backbone.layers.1.bias", "auxiliary.weight", "auxiliary.bias"])
        XCTAssertThrowsError(try DecoupledHeadNetwork(splitting: Linear(2, 2)) { Tensor(zeros: [$0, $1]) }) {
            XCTAssertTrue("\($0)".contains("Sequential classifier ending in a Linear"), "\($0)")
        }
    }

    func testMaskedAccuracyPredictsOnlyAllowedClasses() throws {
        // Rows: class 2 scores highest in both, but the client has no class 2: the argmax among {0, 1} decides.
        let logits: [Float] = [0.1, 0.5, 2, 0.9, 0.2, 3]
        XCTAssertEqual(try top1Accuracy(logits: logits, labels: [1, 0], classes: 3), 0)
        XCTAssertEqual(try top1Accuracy(logits: logits, labels: [1, 0], classes: 3, allowed: [true, true, false]), 1)
        XCTAssertThrowsError(try top1Accuracy(logits: logits, labels: [1, 0], classes: 3, allowed: [true]))
    }

    // MARK: The plugin

    private func registry() throws -> PluginRegistry {
        _ = try buildFolder()
        return try PluginRegistry(environment: [:])
    }

    /// A tiny fedloge run (mlp, 3 clients) with a short SSE-C; returns the report, the model file and the round log.
    private func run(_ options: [String] = [], epochs: Int = 2, registry: PluginRegistry)
        throws -> (report: JSONValue, model: SafeTensorsFile, rounds: [JSONValue]) {
        let out = TemporaryDirectory()
        let tiny: [(String, JSONValue)] = [("model", "mlp"), ("epochs", .number(Double(epochs))), ("batch_size", 32), ("crop_padding", 0)]
        let plan = try RunPlan(registry: registry, name: "fedloge", settings: tiny + FedLoGeTests.suiteSettings,
                               optionAssignments: FedLoGeTests.suiteOptions + options, outputDirectory: URL(fileURLWithPath: out.path))
        let report = try plan.execute()
        let rounds = try String(contentsOfFile: out.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
        return (report, try SafeTensors.read(from: URL(fileURLWithPath: out.path + "/model.safetensors")), rounds)
    }

    private func tensor(_ name: String, in file: SafeTensorsFile) throws -> [Float] {
        guard let t = file.tensors.first(where: { $0.name == name }) else { throw TrainingError("no tensor \(name)") }
        return try t.tensor.floats()
    }

    /// SSE-C after training is the SSE-C built from the run seed (weights and zero bias); the global model's
    /// local head never moves (local heads are not shared), while the auxiliary head is averaged.
    func testRunKeepsSSECFrozenAndLocalHeadsPrivate() throws {
        let registry = try registry()
        let one = try run(epochs: 1, registry: registry), three = try run(epochs: 3, registry: registry)
        let sse = try SparseETF(features: 256, classes: 10, seed: SeededGenerator(seed: 0).split("sse-c").seed, settings: .init(steps: 20))
        XCTAssertTrue(try tensor("frozen.weight", in: three.model) == sse.weight.scalars, "SSE-C after training is the one built")
        XCTAssertEqual(try tensor("frozen.bias", in: three.model), [Float](repeating: 0, count: 10))
        XCTAssertEqual(three.report["sse_c"]?["unchanged"], true)
        XCTAssertEqual(three.report["sse_c"]?["zero_fraction"]?.doubleValue, 0.6)
        XCTAssertTrue(try tensor("local.weight", in: one.model) == tensor("local.weight", in: three.model), "the server's local head is never aggregated")
        XCTAssertTrue(try tensor("auxiliary.weight", in: one.model) != tensor("auxiliary.weight", in: three.model), "the auxiliary head is")
        for key in ["local_accuracy", "local_accuracy_generic", "heads.frozen.accuracy", "heads.auxiliary.shots.rare3", "test.shots.rare3"] {
            var node: JSONValue? = three.report
            for part in key.split(separator: ".") { node = node?[String(part)] }
            XCTAssertNotNil(node?.doubleValue, key)
        }
        // Every round logs the heads' scale: feature norm, logit ranges, auxiliary and local row norms.
        XCTAssertEqual(three.rounds.filter { $0["feature_norm"] != nil }.count, 3)
        for round in three.rounds where round["feature_norm"] != nil {
            for key in HeadStatistics.keys + ["auxiliary_row_norm_min", "local_row_norm_min"] {
                let value = try XCTUnwrap(round[key]?.doubleValue, key)
                XCTAssertTrue(value.isFinite && value > 0, "\(key) = \(value)")
            }
            for head in ["auxiliary", "local"] {
                XCTAssertLessThanOrEqual(round["\(head)_row_norm_min"]!.doubleValue!, round["\(head)_row_norm_max"]!.doubleValue!, head)
            }
        }
    }

    /// GLA-FR runs after training: the ablation trains the same model, and each run's generic accuracy is its
    /// head's (GA-FR with it, the raw auxiliary head without).
    func testRealignmentIsPostHoc() throws {
        let registry = try registry()
        let realigned = try run(registry: registry), raw = try run(["gla_fr=false"], registry: registry)
        XCTAssertEqual(realigned.model.tensors.map(\.name), raw.model.tensors.map(\.name))
        for (a, b) in zip(realigned.model.tensors, raw.model.tensors) { XCTAssertTrue(try a.tensor.floats() == b.tensor.floats(), a.name) }
        XCTAssertEqual(realigned.report["test"]?["accuracy"], realigned.report["heads"]?["realigned"]?["accuracy"])
        XCTAssertEqual(raw.report["test"]?["accuracy"], raw.report["heads"]?["auxiliary"]?["accuracy"])
        XCTAssertEqual(raw.report["heads"], realigned.report["heads"])
    }

    func testComparisonArmsAndDefaults() throws {
        let descriptor = try registry().entry(named: "fedloge").descriptor
        XCTAssertEqual(descriptor.arms.map(\.label), ["fedavg", "fedloge", "no-gla-fr"])
        XCTAssertEqual(descriptor.referenceArm, "fedavg")
        XCTAssertEqual(descriptor.arms[0].options["clip"], .double(0), "FedAvg without clipping, as in the spec")
        XCTAssertEqual(descriptor.arms[2].options["gla_fr"], .bool(false))
        let defaults = Dictionary(descriptor.runDefaults, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(defaults["dataset"], "fashion-mnist,imbalance=100,clients=20,alpha=0.5,data-seed=3407")
        for (key, value) in [("epochs", 40), ("clients_per_round", 10), ("local_epochs", 1), ("batch_size", 32), ("lr", 0.03),
                             ("momentum", 0.5), ("weight_decay", 0), ("local_test", 500)] as [(String, JSONValue)] {
            XCTAssertEqual(defaults[key], value, key)
        }
        XCTAssertEqual(defaults["shot_split"], "cumulative")
        XCTAssertEqual(descriptor.comparisonSeeds, [0, 1, 2])
    }
}
