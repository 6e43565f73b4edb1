import XCTest
import Foundation
import TrainingLab

/// SCoRe's maths (the set losses of the core's `setLoss`) on a 6-sample, 3-class batch against numpy,
/// their gradients against finite differences, SupCon against its published formula, and the `score`
/// plugin loaded from its shared library.
final class SCoReTests: XCTestCase {
    /// Raw embeddings of the hand example; the losses see their unit rows. Labels: two views of 3 images.
    static let raw: [Float] = [0.9, 0.1, -0.2, 0.3, -0.4, 0.8, 0.1, 0.2, 0.2, -0.3, 0.9, -0.1,
                               0.7, 0.3, 0.1, -0.4, -0.1, 0.6, -0.5, 0.3, 0.1, 0.2, 0.6, 0.5]
    static let labels: [Int32] = [0, 1, 2, 0, 1, 2]

    /// numpy (float64) values of each loss, written from the official code's definitions with plain loops
    /// over i, j (the script is in the method card, plugins/SCoRe/README.md): defaults, then tau 0.1, tau_b 0.07,
    /// lambda 0.8, delta 0.3. The log-determinants are direct 6 x 6 (and 2 x 2) slogdets, so the
    /// whole-batch term also checks the Gram identity the op takes (n = 6 > d = 4).
    static let expected: [(SetLossSettings, [SetLoss: Double])] = [
        (SetLossSettings(), [.facilityLocation: 1.77380748, .graphCut: -0.256786247, .graphCutRatio: 0.827813527, .logDet: 0.713360847,
                             .logDetInformation: -0.620449426, .submodSupCon: 2.37115085, .supCon: 0.0152305515]),
        (SetLossSettings(temperature: 0.1, baseTemperature: 0.07, lambda: 0.8, ridge: 0.3),
         [.facilityLocation: 2.02720855, .graphCut: -0.293469996, .graphCutRatio: 1.50136726, .logDet: 1.14863723,
          .logDetInformation: -0.37410347, .submodSupCon: 2.52575403, .supCon: 0.0686166423]),
    ]

    func testLossValuesMatchTheNumpyReference() throws {
        let z = try l2Normalized(Tensor(SCoReTests.raw, shape: [6, 4]))
        for (settings, values) in SCoReTests.expected {
            XCTAssertEqual(Set(values.keys), Set(SetLoss.allCases))
            for (kind, expected) in values {
                let value = Double(try setLoss(kind, embeddings: z, labels: SCoReTests.labels, settings: settings).item())
                XCTAssertEqual(value, expected, accuracy: 2e-6 * max(1, abs(expected)) + 1e-6, "\(kind.rawValue) \(settings)")
            }
        }
    }

    func testLossGradientsMatchFiniteDifferences() throws {
        let x = try Tensor(SCoReTests.raw, shape: [6, 4], requiresGrad: true)
        for settings in [SetLossSettings(temperature: 0.5, baseTemperature: 0.07), SetLossSettings()] {
            for kind in SetLoss.allCases {
                // At tau 0.07 the SupCon softmaxes are sharp: a smaller step keeps the differences in their linear range.
                try assertGradientsMatch([x], eps: 2e-3, rtol: 2e-2, atol: 2e-3) {
                    try setLoss(kind, embeddings: l2Normalized($0[0]), labels: SCoReTests.labels, settings: settings)
                }
            }
        }
    }

    /// SupCon is Khosla et al.'s L_out: mean over anchors of -(tau/tau_b)/|P(i)| sum_p log(exp(z_i.z_p/tau) / sum_{a != i} exp(z_i.z_a/tau)),
    /// here as a plain double loop on a random two-view batch.
    func testSupConEqualsThePublishedFormula() throws {
        let (n, d) = (16, 5)
        let labels: [Int32] = (0..<n).map { Int32(($0 % 8) % 3) }
        let z = try l2Normalized(Tensor.uniform([n, d], low: -1, high: 1, seed: 7))
        let v = z.scalars.map(Double.init)
        let (tau, tauB) = (0.2, 0.07)
        func sim(_ i: Int, _ j: Int) -> Double { (0..<d).reduce(0.0) { $0 + v[i * d + $1] * v[j * d + $1] } / tau }
        var total = 0.0
        for i in 0..<n {
            let positives = (0..<n).filter { $0 != i && labels[$0] == labels[i] }
            let denominator = (0..<n).filter { $0 != i }.reduce(0.0) { $0 + Foundation.exp(sim(i, $1)) }
            total += -(tau / tauB) / Double(positives.count) * positives.reduce(0.0) { $0 + Foundation.log(Foundation.exp(sim(i, $1)) / denominator) }
        }
        let loss = try setLoss(.supCon, embeddings: z, labels: labels, settings: SetLossSettings(temperature: tau, baseTemperature: tauB)).item()
        XCTAssertEqual(Double(loss), total / Double(n), accuracy: 1e-5)
    }

    func testLossesNeedPositivesAndNegatives() throws {
        let z = try l2Normalized(Tensor(SCoReTests.raw, shape: [6, 4]))
        for kind: SetLoss in [.graphCut, .graphCutRatio, .supCon, .submodSupCon] {
            XCTAssertThrowsError(try setLoss(kind, embeddings: z, labels: [0, 1, 2, 3, 4, 5]), "\(kind): no positives")
        }
        for kind: SetLoss in [.graphCutRatio, .submodSupCon] {
            XCTAssertThrowsError(try setLoss(kind, embeddings: z, labels: [1, 1, 1, 1, 1, 1]), "\(kind): no negatives")
        }
        XCTAssertThrowsError(try setLoss(.facilityLocation, embeddings: z, labels: [0, 1]))
        // Facility location and the log-determinants are defined without positives.
        XCTAssertNoThrow(try setLoss(.facilityLocation, embeddings: z, labels: [0, 1, 2, 3, 4, 5]))
        XCTAssertNoThrow(try setLoss(.logDet, embeddings: z, labels: [0, 1, 2, 3, 4, 5]))
    }

    // MARK: - The plugin

    private func registryEntry() throws -> PluginRegistry.Entry {
        _ = try buildFolder()
        return try PluginRegistry(environment: [:]).entry(named: "score")
    }

    func testDescriptorCarriesTheSpecDefaults() throws {
        let entry = try registryEntry()
        XCTAssertTrue(entry.pluginPath.hasSuffix("libSCoRe.so"))
        XCTAssertTrue((entry.type as Any.Type) is any LoopOwningMethod.Type)
        let d = entry.descriptor
        let defaults = try OptionValues(specs: d.options, owner: "score")
        XCTAssertEqual(try defaults.string("loss"), "fl")
        XCTAssertEqual(try defaults.double("temperature"), 0.07)
        XCTAssertEqual(try defaults.double("base_temperature"), 0.07)
        XCTAssertEqual(try defaults.double("lambda"), 1.0)
        XCTAssertEqual(try defaults.double("logdet_delta"), 0.5)
        XCTAssertEqual(try defaults.int("probe_epochs"), 30)
        XCTAssertEqual(d.baseline, "score")
        XCTAssertEqual(d.arms.map(\.label), ["score", "score[loss=supcon]"])
        XCTAssertEqual(d.arms[1].options["loss"], .string("supcon"))
        XCTAssertEqual(d.referenceArm, "score[loss=supcon]")
        var config = RunConfig()
        for (key, value) in d.runDefaults { try config.set(key, value) }
        XCTAssertEqual(config.dataset, "fashion-mnist,imbalance=10")
        XCTAssertEqual(config.epochs, 12)
        XCTAssertEqual(config.batchSize, 256)
        XCTAssertEqual(config.lr, 0.05)
        XCTAssertEqual(config.weightDecay, 1e-4)
        XCTAssertEqual(config.schedule, "cosine")
        XCTAssertThrowsError(try OptionValues(specs: d.options, assignments: ["loss=gc_rbf"], owner: "score"))
    }

    /// Every objective trains a tiny long-tailed run with finite losses and reports its keys; the rare
    /// classes are the three smallest training classes.
    func testEveryObjectiveRunsWithFiniteLossesAndReportsItsKeys() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let data = LearnableIDXDataset(train: 400, test: 100)
        let spec = data.spec + ",imbalance=4"
        let counts = try DatasetSpec(parsing: spec).load().train.classCounts()
        let rarest = (0..<10).sorted { (counts[$0], -$0) < (counts[$1], -$1) }.prefix(3).sorted()
        for loss in ["fl", "gc", "gc-ratio", "logdet", "logdet-sf", "submod-supcon", "supcon", "ce"] {
            let run = try RunPlan(registry: registry, name: "score",
                                    settings: [("dataset", .string(spec)), ("epochs", 1), ("batch_size", 64)],
                                    optionAssignments: ["loss=\(loss)", "probe_epochs=2"])
            let report = try run.execute()
            XCTAssertEqual(report["loss"]?.stringValue, loss)
            XCTAssertEqual(report["losses_finite"], .bool(true), loss)
            XCTAssertEqual(report["stage1"]?["views"]?.doubleValue, loss == "ce" ? 1 : 2, loss)
            XCTAssertEqual(report["rare_classes"]?.arrayValue?.compactMap(\.doubleValue).map(Int.init), Array(rarest), loss)
            XCTAssertTrue((0...1).contains(report["rare_accuracy"]?.doubleValue ?? -1), loss)
            XCTAssertTrue((-1...1.000001).contains(report["embedding_max_class_cosine"]?.doubleValue ?? -2), loss)
            XCTAssertTrue((report["stage1"]?["final_loss"]?.doubleValue ?? .nan).isFinite, loss)
            XCTAssertEqual(report["test"]?["per_class_accuracy"]?.arrayValue?.count, 10, loss)
            XCTAssertEqual(report["probe"] == nil, loss == "ce", loss)
            // Stage 1 sees 1 or 2 views per sample; the probe's 2 epochs on the features count too.
            let expectedPasses = counts.reduce(0, +) * (loss == "ce" ? 1 : 2 + 2)
            XCTAssertEqual(report["sample_passes"]?.doubleValue, Double(expectedPasses), loss)
        }
        XCTAssertThrowsError(try RunPlan(registry: registry, name: "score", settings: [("dataset", .string(spec)), ("model", "mlp")]).execute())
    }
}
