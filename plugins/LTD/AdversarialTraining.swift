import Foundation
import TrainingLab

/// The adversarial-training loop shared by `trades`, `pgd-at` and `ltd` (one plugin, three methods):
///
///     batchStart  craft x' with the model in evaluation mode (its parameters untouched):
///                 TRADES: from x + 0.001 N(0, 1), K signed steps on KL(softmax(f(x)/T) || softmax(f(x')/T))
///                 PGD:    from x + U(-eps, eps), K signed steps on CE(f(x')/T, t); x' replaces the inputs
///     (trainer)   logits = f(inputs) in training mode
///     loss        TRADES: CE(f(x)/T, t) + beta KL(softmax(f(x)/T) || softmax(f(x')/T)), f(x') in training mode
///                 PGD:    CE(f(x')/T, t)
///     fitEnd      robustness report (clean, PGD-CE, PGD-margin, FGSM, stronger PGD, larger eps, transfer,
///                 validation PGD for model selection)
///
/// t are the hard labels, or LTD's soft teacher labels (`targets(for:)`); T is the student temperature
/// (1 for the baselines), the same in the attack, the loss and the evaluation attacks.
class AdversarialTraining: TrainerCallback {
    enum Form: String { case trades, pgd }

    let form: Form
    let eps: Float
    let alpha: Float
    let steps: Int
    let beta: Float
    let temperature: Float
    /// The attack that crafts each training batch's adversarial inputs.
    let trainingAttack: PGDAttack
    /// Nil: no robustness report (teachers trained inside a run, eval_samples = 0).
    let evaluation: RobustnessReport.Settings?
    let transferPath: String

    /// The step's targets and, for TRADES, its adversarial inputs (set at batchStart, used at loss).
    private var target: ClassificationTarget?
    private var adversarial: Tensor?
    private var sums = (natural: 0.0, robust: 0.0, samples: 0)

    init(form: Form, options: OptionValues, temperature: Float) throws {
        self.form = form
        eps = Float(try options.double("eps"))
        alpha = Float(try options.double("alpha"))
        steps = try options.int("steps")
        beta = form == .trades ? Float(try options.double("beta")) : 0
        self.temperature = temperature
        trainingAttack = try PGDAttack(eps: eps, stepSize: alpha, steps: steps, start: form == .trades ? .gaussian(std: 0.001) : .uniform)
        transferPath = try options.string("transfer_path")
        let samples = try options.int("eval_samples")
        if samples > 0 {
            var s = RobustnessReport.Settings()
            s.eps = Float(try options.double("eval_eps"))
            s.steps = try options.int("eval_steps")
            s.restarts = try options.int("eval_restarts")
            s.samples = samples
            s.temperature = temperature
            s.extraEps = try AdversarialTraining.radii(try options.string("extra_eps"))
            s.strongSteps = try options.int("strong_steps")
            s.strongRestarts = try options.int("strong_restarts")
            s.validationSteps = try options.int("val_steps")
            evaluation = s
        } else {
            evaluation = nil
        }
    }

    // MARK: options

    /// Options of the training attack (the Fashion-MNIST check: eps 0.1, alpha 0.025, K 5, beta 6).
    static func attackOptions(beta: Bool) -> [OptionSpec] {
        [
            .double("eps", 0.1, in: 0...1, help: "L-inf radius of the training attack (pixels in [0, 1])"),
            .double("alpha", 0.025, in: 0...1, help: "step size of the training attack"),
            .int("steps", 5, in: 1...1000, help: "steps K of the training attack"),
        ] + (beta ? [.double("beta", 6, in: 0...1000, help: "TRADES weight of the KL (robust) term")] : [])
    }

    /// Options of the robustness report written at the end of the run.
    static let evaluationOptions: [OptionSpec] = [
        .int("eval_samples", 2000, in: 0...1_000_000, help: "first test samples attacked for the robustness report (0: no report)"),
        .double("eval_eps", 0.1, in: 0...1, help: "L-inf radius of the evaluation attacks"),
        .int("eval_steps", 20, in: 1...10000, help: "PGD steps of the evaluation (step 2.5 eps / steps, random start)"),
        .int("eval_restarts", 1, in: 1...100, help: "random restarts of the evaluation PGD"),
        .string("extra_eps", "0.2,0.3", help: "further radii of the CE PGD, comma-separated (accuracy against eps)"),
        .int("strong_steps", 50, in: 0...10000, help: "steps of the stronger PGD of the masking check (0: skip)"),
        .int("strong_restarts", 2, in: 1...100, help: "random restarts of the stronger PGD"),
        .int("val_steps", 10, in: 0...10000, help: "PGD steps on the validation split, the model-selection figure (0: skip)"),
        .string("transfer_path", "", help: "model.safetensors of an independently trained model (same architecture) that crafts the transfer attack; {seed} is replaced by the run's seed"),
    ]

    /// The small-scale check: Fashion-MNIST in [0, 1], 15k training subset, 2k validation, smallcnn, 8 epochs, lr x0.1 at epoch 6.
    static let runDefaults: [(String, JSONValue)] = [
        ("dataset", "fashion-mnist,val=2000,subset=15000"), ("model", "smallcnn"), ("epochs", 8), ("batch_size", 128),
        ("optimizer", "sgd"), ("lr", 0.05), ("momentum", 0.9), ("weight_decay", 0.0005), ("schedule", "step:0.75"),
        ("crop_padding", 0), ("flip", false), ("normalize", false),
    ]

    static let reportedMetrics = ["robust.clean", "robust.pgd", "robust.pgd_margin", "robust.fgsm", "robust.pgd_strong",
                                  "robust.pgd_eps_0_2", "robust.pgd_eps_0_3", "robust.transfer", "robust.val_pgd"]

    static func radii(_ text: String) throws -> [Float] {
        try text.split(separator: ",").map { part in
            guard let v = Float(part.trimmingCharacters(in: .whitespaces)), v >= 0, v <= 1 else {
                throw ConfigError("extra_eps = '\(text)': expected comma-separated radii in [0, 1]")
            }
            return v
        }
    }

    /// `{seed}` in a path option becomes the run's seed (per-seed teachers and transfer sources).
    static func path(_ template: String, seed: Int) -> URL {
        URL(fileURLWithPath: template.replacingOccurrences(of: "{seed}", with: String(seed)))
    }

    // MARK: hooks for LTD

    /// The targets of the step's classification term: the labels (LTD: the teacher's soft labels).
    func targets(for step: StepState, loop: LoopState) throws -> ClassificationTarget { .labels(step.labels) }

    /// Keys added to the report beside "robust".
    func methodReport() -> [(String, JSONValue)] { [] }

    // MARK: events

    func fitStart(_ loop: LoopState) throws {
        guard !loop.config.normalize else {
            throw ConfigError("adversarial training attacks pixels in [0, 1]: set the run option normalize=false")
        }
    }

    func epochStart(_ loop: LoopState, order: inout [Int]) throws { sums = (0, 0, 0) }

    func batchStart(_ loop: LoopState, _ step: StepState) throws {
        let t = try targets(for: step, loop: loop)
        target = t
        let seed = SeededGenerator(seed: loop.context.seed("attack")).split(UInt64(loop.globalStep)).seed
        let b = step.batchSize
        switch form {
        case .trades:
            let reference = try loop.model.inEvaluationMode { try withoutGradients { try loop.model(step.inputs) } }
            adversarial = try trainingAttack.perturb(loop.model, step.inputs, objective: .kl(reference: reference, temperature: temperature), seed: seed)
            // The reference forward, K attack steps and the adversarial training pass.
            loop.count(samplePasses: b * (steps + 2))
        case .pgd:
            step.inputs = try trainingAttack.perturb(loop.model, step.inputs, objective: .crossEntropy(t, temperature: temperature), seed: seed)
            loop.count(samplePasses: b * steps)
        }
    }

    func loss(_ loop: LoopState, _ step: StepState) throws {
        guard let logits = step.logits, let target else { throw TrainingError("adversarial training: loss event without logits or targets") }
        switch form {
        case .trades:
            guard let adversarial else { throw TrainingError("TRADES: loss event without adversarial inputs") }
            let trades = try TradesLoss(clean: logits, adversarial: try loop.model(adversarial), target: target, beta: beta,
                                        temperature: temperature)
            step.perSampleLoss = trades.total
            sums.natural += Double(try withoutGradients { try trades.natural.sum() }.item())
            sums.robust += Double(try withoutGradients { try trades.robust.sum() }.item())
        case .pgd:
            let natural = try classificationLoss(logits, target: target, temperature: temperature)
            step.perSampleLoss = natural
            sums.natural += Double(try withoutGradients { try natural.sum() }.item())
        }
        sums.samples += step.batchSize
        self.adversarial = nil
        self.target = nil
    }

    func epochEnd(_ loop: LoopState, epoch: Int) throws {
        guard sums.samples > 0 else { return }
        loop.epochMetrics.set("natural_loss", .number(sums.natural / Double(sums.samples)))
        if form == .trades { loop.epochMetrics.set("robust_kl", .number(sums.robust / Double(sums.samples))) }
    }

    func fitEnd(_ loop: LoopState, report: inout JSONValue) throws {
        for (key, value) in methodReport() { report.set(key, value) }
        guard let settings = evaluation else { return }
        let context = loop.context
        var source: Module?
        if !transferPath.isEmpty {
            let model = try context.makeModel(purpose: "transfer")
            try ModelFile.load(into: model, from: AdversarialTraining.path(transferPath, seed: loop.config.seed))
            source = model
        }
        context.log("robustness evaluation on \(min(settings.samples, context.data.test.count)) test samples")
        report.set("robust", try RobustnessReport.evaluate(loop.model, test: context.data.test, validation: context.data.validation,
                                                           transferSource: source, settings: settings, seed: context.seed("evaluation"),
                                                           log: { context.log($0) }))
    }
}
