import Foundation

/// The robustness figures of an adversarially trained classifier, with the gradient-masking diagnostics
/// (Athalye et al. 2018; Carlini et al. 2019): white-box PGD with cross-entropy and with the margin loss,
/// FGSM, a stronger PGD (more steps, restarts), PGD at larger radii, and a transfer attack from an
/// independently trained model. Without masking, white-box PGD is at most FGSM and transfer, the margin
/// attack agrees with CE, the stronger attack changes little, and accuracy falls with eps towards 0.
public struct RobustnessReport {
    /// The threat model and the attacks. Every PGD uses a random start and step 2.5 eps / steps.
    public struct Settings: Equatable {
        public var eps: Float = 0.1
        public var steps = 20
        public var restarts = 1
        /// Temperature of the cross-entropy attacks: the student's own (LTD's tau_s), never another.
        public var temperature: Float = 1
        /// First test samples attacked.
        public var samples = 2000
        /// Further radii of the CE PGD (accuracy against eps).
        public var extraEps: [Float] = [0.2, 0.3]
        /// The stronger PGD of the masking check (steps x restarts); 0 steps skips it.
        public var strongSteps = 50
        public var strongRestarts = 2
        /// PGD steps on the validation split (model selection); 0 skips it.
        public var validationSteps = 10

        public init() {}
    }

    /// The JSON key of accuracy at a radius: "pgd_eps_0_2" for 0.2 (dots would split a metric path).
    public static func key(eps: Float) -> String {
        "pgd_eps_" + String(format: "%g", eps).replacingOccurrences(of: ".", with: "_")
    }

    /// Evaluates `model` (pixels in [0, 1]) on `test` and `validation`; `transferSource` crafts the transfer attack.
    /// Keys are fractions in 0-1; absent parts are null.
    public static func evaluate(_ model: Module, test: Dataset, validation: Dataset?, transferSource: Module?,
                                settings s: Settings, seed: UInt64, log: ((String) -> Void)? = nil) throws -> JSONValue {
        let started = Stopwatch()
        let probe = RobustnessProbe(dataset: test, count: s.samples, seed: SeededGenerator(seed: seed).split("test").seed)
        let ce = ClassificationAttackLoss.crossEntropy(temperature: s.temperature)
        let pgd = try PGDAttack.evaluation(eps: s.eps, steps: s.steps, restarts: s.restarts)
        var out: [(String, JSONValue)] = [("samples", .number(Double(probe.count)))]
        func record(_ key: String, _ value: () throws -> Double) rethrows {
            let t0 = Stopwatch()
            let v = try value()
            out.append((key, .number(v)))
            log?(String(format: "robustness: %@ = %.4f (%.1f s)", key, v, t0.seconds))
        }
        try record("clean") { try probe.accuracy(of: model, attack: nil) }
        try record("pgd") { try probe.accuracy(of: model, attack: pgd, loss: ce) }
        try record("pgd_margin") { try probe.accuracy(of: model, attack: pgd, loss: .margin) }
        try record("fgsm") { try probe.accuracy(of: model, attack: try PGDAttack.fgsm(eps: s.eps), loss: ce) }
        if s.strongSteps > 0 {
            let strong = try PGDAttack.evaluation(eps: s.eps, steps: s.strongSteps, restarts: s.strongRestarts)
            try record("pgd_strong") { try probe.accuracy(of: model, attack: strong, loss: ce) }
        } else {
            out.append(("pgd_strong", .null))
        }
        for eps in s.extraEps {
            let attack = try PGDAttack.evaluation(eps: eps, steps: s.steps, restarts: s.restarts)
            try record(key(eps: eps)) { try probe.accuracy(of: model, attack: attack, loss: ce) }
        }
        if let source = transferSource {
            // The source is attacked with its own plain cross-entropy: it is an ordinary baseline model.
            try record("transfer") { try probe.transferAccuracy(of: model, from: source, attack: pgd) }
        } else {
            out.append(("transfer", .null))
        }
        if let validation, s.validationSteps > 0 {
            let val = RobustnessProbe(dataset: validation, count: validation.count, seed: SeededGenerator(seed: seed).split("validation").seed)
            let attack = try PGDAttack.evaluation(eps: s.eps, steps: s.validationSteps)
            try record("val_clean") { try val.accuracy(of: model, attack: nil) }
            try record("val_pgd") { try val.accuracy(of: model, attack: attack, loss: ce) }
        } else {
            out += [("val_clean", .null), ("val_pgd", .null)]
        }
        // Floats through their shortest decimal form, so 0.1 is written as 0.1.
        func number(_ v: Float) -> JSONValue { .number(Double("\(v)") ?? Double(v)) }
        func number(_ v: Int) -> JSONValue { .number(Double(v)) }
        out.append(("settings", .object([
            ("eps", number(s.eps)), ("steps", number(s.steps)), ("step_size", number(pgd.stepSize)),
            ("restarts", number(s.restarts)), ("temperature", number(s.temperature)),
            ("strong_steps", number(s.strongSteps)), ("strong_restarts", number(s.strongRestarts)),
            ("validation_steps", number(s.validationSteps)), ("extra_eps", .array(s.extraEps.map(number))),
        ])))
        out.append(("seconds", .number(started.seconds)))
        return .object(out)
    }
}
