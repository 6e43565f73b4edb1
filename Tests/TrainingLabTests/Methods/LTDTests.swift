import XCTest
import Foundation
import TrainingLab

/// LTD's maths (soft-target TRADES with temperatures, soft labels) on tiny cases against plain references,
/// and the plugin's three methods (ltd, trades, pgd-at) loaded from libLTD.so.
final class LTDTests: XCTestCase {
    private let (n, c) = (4, 5)

    private func logits(_ seed: UInt64, requiresGrad: Bool = true) -> Tensor {
        Tensor.uniform([n, c], low: -3, high: 3, seed: seed, requiresGrad: requiresGrad)
    }

    private func oneHot(_ labels: [Int32]) throws -> Tensor {
        try Tensor((0..<n * c).map { Float(labels[$0 / c]) == Float($0 % c) ? 1 : 0 }, shape: [n, c])
    }

    /// log softmax(z / T) of row r, in Double.
    private func logSoftmax(_ z: [Float], row r: Int, temperature t: Double) -> [Double] {
        let x = (0..<c).map { Double(z[r * c + $0]) / t }
        let m = x.max()!
        let lse = m + log(x.reduce(0.0) { $0 + exp($1 - m) })
        return x.map { $0 - lse }
    }

    /// CE_soft(f(x)/T, q) + beta KL(softmax(f(x)/T) || softmax(f(x')/T)) per row, in Double.
    private func referenceTrades(_ clean: [Float], _ adversarial: [Float], _ q: [Float], beta: Double, t: Double) -> [Double] {
        (0..<n).map { r in
            let lp = logSoftmax(clean, row: r, temperature: t), lr = logSoftmax(adversarial, row: r, temperature: t)
            let ce = (0..<c).reduce(0.0) { $0 - Double(q[r * c + $1]) * lp[$1] }
            let kl = (0..<c).reduce(0.0) { $0 + exp(lp[$1]) * (lp[$1] - lr[$1]) }
            return ce + beta * kl
        }
    }

    func testSoftCrossEntropyWithOneHotTargetsEqualsCrossEntropy() throws {
        let labels: [Int32] = [0, 4, 2, 1]
        let z = logits(1)
        let q = try oneHot(labels)
        for t: Float in [1, 0.5, 3] {
            let hard = try crossEntropy(z, labels: labels, temperature: t), soft = try softCrossEntropy(z, targets: q, temperature: t)
            for (a, b) in zip(hard.scalars, soft.scalars) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            z.zeroGrad()
            try hard.sum().backward()
            let gHard = z.grad!.scalars
            z.zeroGrad()
            try soft.sum().backward()
            for (a, b) in zip(gHard, z.grad!.scalars) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
    }

    /// tau = 1 and one-hot q: the LTD objective is TRADES, in value and in both gradients.
    func testOneHotTargetsAtTemperatureOneReproduceTradesExactly() throws {
        let labels: [Int32] = [3, 0, 1, 1]
        let clean = logits(2), adversarial = logits(3)
        func run(_ target: ClassificationTarget) throws -> ([Float], [Float], [Float]) {
            clean.zeroGrad()
            adversarial.zeroGrad()
            let loss = try TradesLoss(clean: clean, adversarial: adversarial, target: target, beta: 6, temperature: 1).total
            try loss.mean().backward()
            return (loss.scalars, clean.grad!.scalars, adversarial.grad!.scalars)
        }
        let trades = try run(.labels(labels)), ltd = try run(.probabilities(try oneHot(labels)))
        for (a, b) in zip(trades.0, ltd.0) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(a))) }
        for (a, b) in zip(trades.1, ltd.1) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(trades.2, ltd.2, "the KL term does not see the targets")
        // And both are TRADES as written: CE + 6 KL against a plain double reference.
        let reference = referenceTrades(clean.scalars, adversarial.scalars, try oneHot(labels).scalars, beta: 6, t: 1)
        for (a, e) in zip(trades.0, reference) { XCTAssertEqual(Double(a), e, accuracy: 1e-5 * max(1, abs(e))) }
    }

    func testSoftTargetsAndTemperaturesMatchTheReference() throws {
        let clean = logits(4), adversarial = logits(5)
        let q = try softmax(Tensor.uniform([n, c], low: -2, high: 2, seed: 6))
        for t: Float in [0.5, 1, 2] {
            for beta: Float in [0, 6] {
                let loss = try TradesLoss(clean: clean, adversarial: adversarial, target: .probabilities(q), beta: beta, temperature: t)
                let reference = referenceTrades(clean.scalars, adversarial.scalars, q.scalars, beta: Double(beta), t: Double(t))
                for (a, e) in zip(loss.total.scalars, reference) { XCTAssertEqual(Double(a), e, accuracy: 2e-5 * max(1, abs(e)), "T=\(t) beta=\(beta)") }
                for (a, r) in zip(loss.robust.scalars, loss.total.scalars.indices) { XCTAssertGreaterThanOrEqual(a, 0, "KL row \(r)") }
            }
        }
    }

    /// Gradients of the composition CE_soft + beta KL with respect to both logit tensors, by finite differences.
    func testGradientsOfTheCompositionMatchFiniteDifferences() throws {
        let clean = logits(7), adversarial = logits(8)
        let q = try softmax(Tensor.uniform([n, c], low: -2, high: 2, seed: 9))
        for t: Float in [0.5, 1, 2.5] {
            try assertGradientsMatch([clean, adversarial], eps: 1e-2) { x in
                try TradesLoss(clean: x[0], adversarial: x[1], target: .probabilities(q), beta: 6, temperature: t).total
            }
            try assertGradientsMatch([clean]) { x in try softCrossEntropy(x[0], targets: q, temperature: t) }
            try assertGradientsMatch([clean, adversarial]) { x in try klDivergence(x[0], x[1], temperature: t) }
        }
    }

    func testSoftLabelsByHand() throws {
        // Row 0: logits (2, 0, 0); row 1 (0, 1, 3) with label 0, which the teacher gets wrong.
        let z: [Float] = [2, 0, 0, 0, 1, 3]
        let q1 = try SoftLabels(teacherLogits: z, labels: [0, 0], classes: 3, temperature: 1)
        let e2 = exp(2.0)
        XCTAssertEqual(Double(q1.probabilities[0]), e2 / (e2 + 2), accuracy: 1e-6)
        XCTAssertEqual(Double(q1.probabilities[1]), 1 / (e2 + 2), accuracy: 1e-6)
        XCTAssertEqual(q1.teacherCorrect, 1)
        XCTAssertEqual(q1.replaced, 0)
        // A lower temperature sharpens: softmax(z / 0.5) = softmax(2 z).
        let q05 = try SoftLabels(teacherLogits: z, labels: [0, 0], classes: 3, temperature: 0.5)
        XCTAssertEqual(Double(q05.probabilities[0]), exp(4.0) / (exp(4.0) + 2), accuracy: 1e-6)
        XCTAssertGreaterThan(q05.probabilities[0], q1.probabilities[0])
        // One-hot where the teacher is wrong.
        let fixed = try SoftLabels(teacherLogits: z, labels: [0, 0], classes: 3, temperature: 1, oneHotWhereWrong: true)
        XCTAssertEqual(Array(fixed.probabilities[3..<6]), [1, 0, 0])
        XCTAssertEqual(Array(fixed.probabilities[0..<3]), Array(q1.probabilities[0..<3]))
        XCTAssertEqual(fixed.replaced, 1)
        XCTAssertEqual(fixed.teacherCorrect, 1)
        XCTAssertEqual(try fixed.rows([1, 0, 1]).scalars, Array(fixed.probabilities[3..<6] + fixed.probabilities[0..<6]))
        XCTAssertThrowsError(try fixed.rows([2]))
        XCTAssertThrowsError(try SoftLabels(teacherLogits: z, labels: [0], classes: 3, temperature: 1))
        XCTAssertThrowsError(try SoftLabels(teacherLogits: z, labels: [0, 0], classes: 3, temperature: 0))
    }

    // MARK: - The plugin

    static let data = LearnableIDXDataset(train: 192, test: 96)

    /// Cheap attacks and evaluation for the generic method suite.
    static let suiteOptions = ["steps=2", "eval_samples=32", "eval_steps=2", "strong_steps=2", "strong_restarts=1", "val_steps=0"]

    private func registry() throws -> PluginRegistry {
        _ = try buildFolder()
        return try PluginRegistry(environment: [:])
    }

    private func run(_ name: String, _ registry: PluginRegistry, options: [String], out: String? = nil,
                     settings: [(String, JSONValue)] = []) throws -> JSONValue {
        let tiny: [(String, JSONValue)] = [("dataset", .string(LTDTests.data.spec + ",val=32")), ("model", "mlp"), ("epochs", 2),
                                          ("batch_size", 64)]
        let evaluation = ["eval_samples=48", "eval_steps=3", "strong_steps=4", "strong_restarts=2", "val_steps=2", "steps=2"]
        return try RunPlan(registry: registry, name: name, settings: tiny + settings, optionAssignments: evaluation + options,
                             outputDirectory: out.map { URL(fileURLWithPath: $0) }).execute()
    }

    /// Attack and teacher passes are counted: TRADES K + 3 per sample-step (reference forward, K steps, the
    /// adversarial and the clean training pass), PGD-AT K + 1, LTD adds its teacher's training and labelling.
    func testMethodsCountTheirPassesAndReportRobustness() throws {
        let registry = try registry()
        let train = 192 - 32
        let trades = try run("trades", registry, options: [])
        XCTAssertEqual(trades["sample_passes"]?.doubleValue, Double(2 * train * (2 + 3)))
        let pgd = try run("pgd-at", registry, options: [])
        XCTAssertEqual(pgd["sample_passes"]?.doubleValue, Double(2 * train * (2 + 1)))
        let ltd = try run("ltd", registry, options: ["teacher_epochs=1", "tau_t=2"])
        XCTAssertEqual(ltd["sample_passes"]?.doubleValue, Double(2 * train * (2 + 3) + train + train))
        for report in [trades, pgd, ltd] {
            let robust = report["robust"]!
            for key in ["clean", "pgd", "pgd_margin", "fgsm", "pgd_strong", "pgd_eps_0_2", "pgd_eps_0_3", "val_pgd"] {
                let v = robust[key]?.doubleValue ?? -1
                XCTAssertTrue((0...1).contains(v), "\(key) = \(v)")
            }
            XCTAssertLessThanOrEqual(robust["pgd"]!.doubleValue!, robust["clean"]!.doubleValue!)
            XCTAssertEqual(robust["transfer"], .null)
        }
        let teacher = ltd["teacher"]!
        XCTAssertEqual(teacher["kind"]?.stringValue, "natural")
        XCTAssertEqual(teacher["tau_t"]?.doubleValue, 2)
        XCTAssertTrue((0...1).contains(teacher["train_accuracy"]?.doubleValue ?? -1))
        XCTAssertTrue((0.1...1).contains(teacher["mean_max_probability"]?.doubleValue ?? -1))
    }

    /// A saved model serves as teacher (teacher_path) and as transfer source, {seed} naming per-seed files.
    func testTeacherAndTransferSourceFromSavedModels() throws {
        let registry = try registry()
        let dir = TemporaryDirectory()
        _ = try run("trades", registry, options: ["eval_samples=0"], out: dir.path + "/trades-seed3", settings: [("seed", 3)])
        let template = dir.path + "/trades-seed{seed}/model.safetensors"
        let ltd = try run("ltd", registry, options: ["teacher_path=\(template)", "transfer_path=\(template)", "base=pgd",
                                                     "onehot_where_wrong=true"], settings: [("seed", 3)])
        XCTAssertEqual(ltd["teacher"]?["kind"]?.stringValue, "loaded")
        XCTAssertEqual(ltd["teacher"]?["path"]?.stringValue, dir.path + "/trades-seed3/model.safetensors")
        XCTAssertEqual(ltd["sample_passes"]?.doubleValue, Double(2 * 160 * (2 + 1) + 160), "no teacher training")
        let transfer = ltd["robust"]?["transfer"]?.doubleValue ?? -1
        XCTAssertTrue((0...1).contains(transfer))
        // With one-hot replacement q is one-hot wherever the teacher errs, so the teacher is never "wrong" twice.
        XCTAssertEqual(ltd["teacher"]?["replaced_with_onehot"]?.doubleValue ?? -1,
                       Double(160) - 160 * (ltd["teacher"]?["train_accuracy"]?.doubleValue ?? 0), accuracy: 1e-9)
        XCTAssertThrowsError(try run("ltd", registry, options: ["teacher_path=\(template)"], settings: [("seed", 4)])) {
            XCTAssertTrue("\($0)".contains("trades-seed4"), "\($0)")
        }
    }

    func testStandardisedInputsAreRefused() throws {
        let registry = try registry()
        for name in ["trades", "pgd-at", "ltd"] {
            XCTAssertThrowsError(try run(name, registry, options: [], settings: [("normalize", true)])) {
                XCTAssertTrue("\($0)".contains("normalize=false"), "\($0)")
            }
        }
        XCTAssertThrowsError(try run("trades", registry, options: ["extra_eps=0.2,x"])) { XCTAssertTrue("\($0)".contains("extra_eps")) }
    }
}
