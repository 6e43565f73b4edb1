import XCTest
import TrainingLab

/// The attack machinery of Sources/TrainingLab/Robustness: input gradients, the PGD step and its
/// projection, the worst-case evaluation with restarts, transfer attacks, and the report.
final class RobustnessTests: XCTestCase {
    /// f(x) = W x + b on (N, d) inputs with given weights.
    private func linearModel(_ w: [Float], out: Int, in d: Int, bias: [Float]? = nil) throws -> Module {
        let layer = Linear(d, out)
        try layer.weight.assign(try Tensor(w, shape: [out, d]))
        try layer.bias!.assign(try Tensor(bias ?? [Float](repeating: 0, count: out), shape: [out]))
        return Sequential(layer)
    }

    private func smallCNN(seed: UInt64 = 4) throws -> Module {
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 3, seed: seed)
        model.eval()
        return model
    }

    private func maxDistance(_ a: Tensor, _ b: Tensor) -> Float { zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0 }

    func testInputGradientMatchesFiniteDifferencesAndLeavesParametersAlone() throws {
        let model = try smallCNN()
        let x = Tensor.uniform([2, 1, 8, 8], low: 0.2, high: 0.8, seed: 1)
        let labels: [Int32] = [0, 2]
        let objective = AttackObjective.crossEntropy(.labels(labels))
        let trainable = model.parameters().count
        let (_, values, gradient) = try inputGradient(of: model, at: x, objective: objective)
        XCTAssertTrue(model.parameters().allSatisfy { $0.grad == nil }, "parameters received gradients")
        XCTAssertEqual(model.parameters().count, trainable, "parameters are trainable again afterwards")
        XCTAssertFalse(x.requiresGrad)
        func total(_ probe: Tensor) throws -> Double {
            try withoutGradients { try objective(model(probe)).scalars.reduce(0.0) { $0 + Double($1) } }
        }
        XCTAssertEqual(Double(values.scalars.reduce(0, +)), try total(x), accuracy: 1e-5)
        for i in stride(from: 0, to: x.count, by: 9) {
            let h: Float = 1e-2
            let up = x.copy(), down = x.copy()
            up.pointer[i] += h
            down.pointer[i] -= h
            let numeric = (try total(up) - total(down)) / Double(2 * h)
            XCTAssertEqual(Double(gradient.pointer[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "element \(i)")
        }
        // Inside withoutGradients (evaluation code) it still differentiates.
        let again = try withoutGradients { try inputGradient(of: model, at: x, objective: objective).gradient }
        XCTAssertEqual(again.scalars, gradient.scalars)
    }

    /// One PGD step on f(x) = W x by hand: d CE / dx = W^T (softmax(W x) - e_y).
    func testOnePGDStepAgainstAHandComputedCase() throws {
        let model = try linearModel([1, -2, 0.5, 0, 1, -1], out: 2, in: 3)
        // softmax([0.25, 0]) - e_0 = [-0.4378, 0.4378]; W^T of it = [-0.438, 1.313, -0.657]: signs (-, +, -).
        let x = try Tensor([0.5, 0.5, 0.5], shape: [1, 3])
        let step = try PGDAttack(eps: 0.15, stepSize: 0.1, steps: 1, start: .clean)
        XCTAssertEqual(try step.perturb(model, x, objective: .crossEntropy(.labels([0])), seed: 0).scalars, [0.4, 0.6, 0.4])
        // The ball clips the step to eps, the box to [0, 1].
        let small = try PGDAttack(eps: 0.05, stepSize: 0.1, steps: 1, start: .clean)
        XCTAssertEqual(try small.perturb(model, x, objective: .crossEntropy(.labels([0])), seed: 0).scalars, [0.45, 0.55, 0.45])
        let edge = try Tensor([0.02, 0.99, 0.5], shape: [1, 3])
        let atEdge = try step.perturb(model, edge, objective: .crossEntropy(.labels([0])), seed: 0).scalars
        XCTAssertEqual(atEdge[0], 0, accuracy: 1e-7)
        XCTAssertEqual(atEdge[1], 1, accuracy: 1e-7)
        XCTAssertEqual(atEdge[2], 0.4, accuracy: 1e-7)
        // The margin objective has gradient W_1 - W_0 = (-1, 3, -1.5): the same signs; FGSM is one eps step.
        let fgsm = try PGDAttack.fgsm(eps: 0.15)
        let signed = try fgsm.perturb(model, x, objective: .margin(labels: [0]), seed: 0).scalars
        for (a, e) in zip(signed, [Float(0.35), 0.65, 0.35]) { XCTAssertEqual(a, e, accuracy: 1e-6) }
    }

    func testIteratesStayInTheBallAndTheBoxForEveryStart() throws {
        let model = try smallCNN()
        // Pixels at and near the box edges, where the projection has most to do.
        let x = Tensor.uniform([3, 1, 8, 8], low: -0.3, high: 1.3, seed: 5)
        for i in 0..<x.count { x.pointer[i] = min(max(x.pointer[i], 0), 1) }
        let labels: [Int32] = [0, 1, 2]
        for start: PGDAttack.Start in [.clean, .uniform, .gaussian(std: 0.2)] {
            let attack = try PGDAttack(eps: 0.1, stepSize: 0.04, steps: 7, start: start)
            let xa = try attack.perturb(model, x, objective: .crossEntropy(.labels(labels)), seed: 3)
            XCTAssertLessThanOrEqual(maxDistance(xa, x), 0.1 + 1e-6, "\(start)")
            XCTAssertTrue(xa.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(start)")
            XCTAssertGreaterThan(maxDistance(xa, x), 0.05, "\(start): the attack moved")
            let reference = try withoutGradients { try model(x) }
            let kl = try attack.perturb(model, x, objective: .kl(reference: reference), seed: 3)
            XCTAssertLessThanOrEqual(maxDistance(kl, x), 0.1 + 1e-6)
            let (_, adversarial) = try attack.evaluate(model, x, labels: labels, loss: .margin, seed: 3)
            XCTAssertLessThanOrEqual(maxDistance(adversarial, x), 0.1 + 1e-6)
            XCTAssertTrue(adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        XCTAssertFalse(model.isTraining, "the model's mode is restored")
        let training = try smallCNN()
        training.train()
        _ = try PGDAttack(eps: 0.1, stepSize: 0.05, steps: 1).perturb(training, x, objective: .margin(labels: labels), seed: 0)
        XCTAssertTrue(training.isTraining)
    }

    /// On a linear model each signed, projected step cannot lower a margin (a max of linear functions) nor
    /// a binary cross-entropy (monotone in the one margin): more steps never lower the attack loss.
    func testMoreStepsNeverLowerTheLossOnALinearModel() throws {
        let d = 12
        for (classes, loss) in [(2, ClassificationAttackLoss.crossEntropy(temperature: 1)), (4, .margin), (2, .margin)] {
            let model = try linearModel(randomWeights(classes * d, seed: UInt64(classes)), out: classes, in: d,
                                        bias: randomWeights(classes, seed: 9))
            let x = Tensor.uniform([6, d], low: 0, high: 1, seed: 7)
            let labels: [Int32] = (0..<6).map { Int32($0 % classes) }
            let objective = loss.objective(labels: labels)
            var previous = try withoutGradients { try objective(model(x)).scalars }
            for k in 1...12 {
                let xa = try PGDAttack(eps: 0.2, stepSize: 0.03, steps: k, start: .clean).perturb(model, x, objective: objective, seed: 0)
                let now = try withoutGradients { try objective(model(xa)).scalars }
                for i in 0..<6 { XCTAssertGreaterThanOrEqual(now[i], previous[i] - 1e-5, "\(loss) C=\(classes) k=\(k) sample \(i)") }
                previous = now
            }
        }
    }

    private func randomWeights(_ n: Int, seed: UInt64) -> [Float] { Tensor.uniform([n], low: -1, high: 1, seed: seed).scalars }

    func testEvaluationIsAWorstCaseOverIteratesAndRestarts() throws {
        let model = try smallCNN(seed: 11)
        let x = Tensor.uniform([40, 1, 8, 8], low: 0, high: 1, seed: 12)
        let clean = try predictions(logits: try withoutGradients { try model(x) }.scalars, classes: 3)
        let labels: [Int32] = (0..<40).map { i in i % 4 == 0 ? (clean[i] + 1) % 3 : clean[i] }  // a quarter already wrong
        let one = try PGDAttack.evaluation(eps: 0.3, steps: 5).evaluate(model, x, labels: labels, loss: .crossEntropy(temperature: 1), seed: 2)
        let three = try PGDAttack.evaluation(eps: 0.3, steps: 5, restarts: 3).evaluate(model, x, labels: labels, loss: .crossEntropy(temperature: 1), seed: 2)
        for i in 0..<40 {
            if labels[i] != clean[i] { XCTAssertFalse(one.robust[i], "sample \(i) is misclassified clean") }
            if three.robust[i] { XCTAssertTrue(one.robust[i], "a restart made sample \(i) robust") }
        }
        XCTAssertLessThan(one.robust.filter { $0 }.count, 30, "the attack fools some correct samples")
        // The returned inputs fool the model exactly where a sample is not robust.
        let fooled = try predictions(logits: try withoutGradients { try model(three.adversarial) }.scalars, classes: 3)
        for i in 0..<40 { XCTAssertEqual(fooled[i] == labels[i], three.robust[i], "sample \(i)") }
        // A deterministic attack fools at least what its own final iterate transfers (the same path).
        let deterministic = try PGDAttack(eps: 0.05, stepSize: 0.02, steps: 5, start: .clean)
        let white = try deterministic.evaluate(model, x, labels: labels, loss: .crossEntropy(temperature: 1), seed: 0)
        let final = try deterministic.perturb(model, x, objective: .crossEntropy(.labels(labels)), seed: 0)
        let onFinal = try predictions(logits: try withoutGradients { try model(final) }.scalars, classes: 3)
        for i in 0..<40 where white.robust[i] { XCTAssertEqual(onFinal[i], labels[i]) }
    }

    /// Fooled samples leave the batch as it shrinks: with a deterministic start every sample's verdict and
    /// adversarial input equal those of attacking it alone.
    func testShrinkingBatchesGiveEachSampleItsOwnResult() throws {
        let model = try smallCNN(seed: 13)
        let count = 37
        let x = Tensor.uniform([count, 1, 8, 8], low: 0, high: 1, seed: 14)
        let labels = try predictions(logits: try withoutGradients { try model(x) }.scalars, classes: 3)
        for restarts in [1, 2] {
            let attack = try PGDAttack(eps: 0.1, stepSize: 0.02, steps: 8, start: .clean, restarts: restarts)
            let batch = try attack.evaluate(model, x, labels: labels, loss: .margin, seed: 0)
            XCTAssertTrue(batch.robust.contains(true) && batch.robust.contains(false), "a mix of verdicts: \(batch.robust)")
            for i in 0..<count {
                let alone = try attack.evaluate(model, try x.gatheringRows([i]), labels: [labels[i]], loss: .margin, seed: 0)
                XCTAssertEqual(alone.robust[0], batch.robust[i], "sample \(i)")
                let own = try batch.adversarial.gatheringRows([i]).scalars
                XCTAssertLessThanOrEqual(zip(own, alone.adversarial.scalars).map { abs($0 - $1) }.max()!, 1e-5, "sample \(i)")
            }
        }
    }

    func testProbeAccuraciesAndTransfer() throws {
        let data = LearnableIDXDataset(train: 40, test: 60, side: 8)
        let test = try data.load().test
        let m10 = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 10, seed: 3)
        m10.eval()
        let probe = RobustnessProbe(dataset: test, count: 50, seed: 1)
        XCTAssertEqual(probe.count, 50)
        let logits = try Evaluation.logits(of: m10, on: test, normalization: .none)
        let predicted = try predictions(logits: logits, classes: 10)
        let expected = Double((0..<50).filter { predicted[$0] == test.labels[$0] }.count) / 50
        XCTAssertEqual(try probe.accuracy(of: m10, attack: nil), expected, accuracy: 1e-12)
        let attack = try PGDAttack.evaluation(eps: 0.1, steps: 5)
        let robust = try probe.accuracy(of: m10, attack: attack)
        XCTAssertLessThanOrEqual(robust, expected)
        XCTAssertEqual(try probe.accuracy(of: m10, attack: attack), robust, "seeded: the same figure twice")
        let transfer = try probe.transferAccuracy(of: m10, from: m10, attack: attack)
        XCTAssertLessThanOrEqual(transfer, expected)
    }

    func testReportKeysAndMonotoneRadii() throws {
        let data = try LearnableIDXDataset(train: 60, test: 80, side: 8).load()
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 10, seed: 2)
        var settings = RobustnessReport.Settings()
        settings.samples = 80
        settings.steps = 4
        settings.strongSteps = 6
        settings.validationSteps = 3
        settings.extraEps = [0.2, 0.3]
        let report = try RobustnessReport.evaluate(model, test: data.test, validation: data.test, transferSource: model,
                                                   settings: settings, seed: 1)
        for key in ["clean", "pgd", "pgd_margin", "fgsm", "pgd_strong", "pgd_eps_0_2", "pgd_eps_0_3", "transfer", "val_clean", "val_pgd"] {
            XCTAssertNotNil(report[key]?.doubleValue, key)
        }
        let clean = report["clean"]!.doubleValue!, pgd = report["pgd"]!.doubleValue!
        XCTAssertLessThanOrEqual(pgd, clean)
        XCTAssertLessThanOrEqual(report["pgd_eps_0_3"]!.doubleValue!, report["pgd_eps_0_2"]!.doubleValue! + 0.05)
        XCTAssertEqual(report["settings"]?["step_size"]?.doubleValue, 0.0625)
        XCTAssertEqual(RobustnessReport.key(eps: 0.25), "pgd_eps_0_25")
        XCTAssertEqual(RobustnessReport.key(eps: 1), "pgd_eps_1")
    }

    func testInvalidAttacksAreRefused() {
        XCTAssertThrowsError(try PGDAttack(eps: -0.1, stepSize: 0.1, steps: 1))
        XCTAssertThrowsError(try PGDAttack(eps: 0.1, stepSize: 0.1, steps: 0))
        XCTAssertThrowsError(try PGDAttack(eps: 0.1, stepSize: 0.1, steps: 1, restarts: 0))
        XCTAssertThrowsError(try PGDAttack(eps: 0.1, stepSize: 0.1, steps: 1, start: .gaussian(std: .nan)))
    }
}
