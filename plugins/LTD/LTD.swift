import Foundation
import TrainingLab

/// Low-temperature distillation for adversarial training: the adversarial-training recipe (TRADES or
/// PGD-AT) unchanged, except that its classification target is a teacher's soft label
/// q(x) = softmax(z_T(x) / tau_t) instead of the one-hot label, and the student's logits are divided by a
/// fixed tau_s everywhere (attack, loss, evaluation attacks). With tau_s = 1 and one-hot q it is the base
/// recipe exactly.
///
/// Teacher (fitStart): the same architecture, trained naturally for `teacher_epochs` on the training set
/// (`teacher=natural`), or TRADES-trained like the baseline (`teacher=robust`), or loaded from
/// `teacher_path` (a model.safetensors, e.g. a finished `trades` run). It runs in evaluation mode
/// without gradients. Without augmentation q is computed once per training sample and cached by sample
/// index; with augmentation the teacher labels each augmented batch.
final class LTD: AdversarialTraining, InLoopMethod {
    static let descriptor = MethodDescriptor(
        name: "ltd",
        title: "LTD: Low Temperature Distillation for robust adversarial training",
        paper: "E.-C. Chen, C.-R. Lee, LTD: Low Temperature Distillation for Robust Adversarial Training (v4: ... for Gradient Masking-free Adversarial Training), arXiv 2111.02331",
        summary: "TRADES (or PGD-AT) with the one-hot target replaced by a teacher's soft label softmax(z_T / tau_t); the student uses one fixed temperature tau_s in training and inference.",
        options: [
            .choice("teacher", "natural", ["natural", "robust"], help: "teacher trained in the run: natural (plain training for teacher_epochs) or robust (TRADES with this run's attack and epochs)"),
            .string("teacher_path", "", help: "model.safetensors of a trained teacher (same architecture) used instead of training one; {seed} is replaced by the run's seed"),
            .int("teacher_epochs", 3, in: 1...1000, help: "epochs of a natural teacher trained in the run"),
            .double("tau_t", 0.5, in: 0.01...100, help: "teacher temperature of q = softmax(z_T / tau_t); low (0.5 was chosen on validation), never the 20-100 of defensive distillation"),
            .double("tau_s", 1, in: 0.01...100, help: "student temperature, identical in the attack, the loss and the evaluation attacks"),
            .bool("onehot_where_wrong", false, help: "replace q by the one-hot label where the teacher misclassifies the sample (not in the paper)"),
            .choice("base", "trades", ["trades", "pgd"], help: "base recipe: TRADES (CE_soft + beta KL) or PGD-AT (CE_soft on PGD inputs)"),
        ] + AdversarialTraining.attackOptions(beta: true) + AdversarialTraining.evaluationOptions,
        baseline: "trades",
        metrics: AdversarialTraining.reportedMetrics + ["teacher.train_accuracy", "teacher.test_accuracy"],
        events: [.fitStart, .epochStart, .batchStart, .loss, .epochEnd, .fitEnd],
        claims: [.inputs, .loss],
        runDefaults: AdversarialTraining.runDefaults,
        supportsResume: true
    )

    let teacherKind: String
    let teacherPath: String
    let teacherEpochs: Int
    /// tau_t as given (reported) and as the kernels take it.
    let tauT: Double
    let teacherTemperature: Float
    let oneHotWhereWrong: Bool
    /// Cached soft labels by sample index (runs without augmentation).
    private var cached: SoftLabels?
    /// The teacher, kept only when it must label augmented batches.
    private var batchTeacher: Module?
    private var teacherFacts: [(String, JSONValue)] = []

    init(options: OptionValues) throws {
        teacherKind = try options.string("teacher")
        teacherPath = try options.string("teacher_path")
        teacherEpochs = try options.int("teacher_epochs")
        tauT = try options.double("tau_t")
        teacherTemperature = Float(tauT)
        oneHotWhereWrong = try options.bool("onehot_where_wrong")
        try super.init(form: try options.string("base") == "pgd" ? .pgd : .trades, options: options,
                       temperature: Float(try options.double("tau_s")))
    }

    override func fitStart(_ loop: LoopState) throws {
        try super.fitStart(loop)
        let context = loop.context
        let train = context.data.train
        let teacher = try makeTeacher(loop)
        let normalization = loop.config.inputNormalization
        let labels = try SoftLabels(teacherLogits: try Evaluation.logits(of: teacher, on: train, normalization: normalization),
                                    labels: train.labels, classes: train.classCount, temperature: teacherTemperature,
                                    oneHotWhereWrong: oneHotWhereWrong)
        loop.count(samplePasses: train.count)
        let testAccuracy = try Evaluation.metrics(of: teacher, on: context.data.test, normalization: normalization).accuracy
        let trainAccuracy = Double(labels.teacherCorrect) / Double(max(train.count, 1))
        var maxProbability = 0.0
        for i in 0..<labels.count {
            maxProbability += Double(labels.probabilities[(i * labels.classes)..<((i + 1) * labels.classes)].max() ?? 0)
        }
        let meanMaxProbability = maxProbability / Double(max(labels.count, 1))
        teacherFacts = [
            ("kind", .string(teacherPath.isEmpty ? teacherKind : "loaded")),
            ("path", teacherPath.isEmpty ? .null : .string(AdversarialTraining.path(teacherPath, seed: loop.config.seed).path)),
            ("tau_t", .number(tauT)),
            ("train_accuracy", .number(trainAccuracy)), ("test_accuracy", .number(testAccuracy)),
            ("mean_max_probability", .number(meanMaxProbability)),
            ("replaced_with_onehot", .number(Double(labels.replaced))),
        ]
        context.log(String(format: "teacher (%@): train accuracy %.4f, test accuracy %.4f, mean max q %.3f at tau_t %g",
                           teacherPath.isEmpty ? teacherKind : teacherPath, trainAccuracy, testAccuracy,
                           meanMaxProbability, teacherTemperature))
        if loop.config.cropPadding > 0 || loop.config.flip {
            teacher.eval()
            batchTeacher = teacher
        } else {
            cached = labels
        }
    }

    /// The teacher of this run: loaded, or trained on the run's training set with its seed.
    private func makeTeacher(_ loop: LoopState) throws -> Module {
        let context = loop.context
        let teacher = try context.makeModel(purpose: "teacher")
        if !teacherPath.isEmpty {
            try ModelFile.load(into: teacher, from: AdversarialTraining.path(teacherPath, seed: loop.config.seed))
            return teacher
        }
        var config = loop.config
        var callbacks: [TrainerCallback] = []
        if teacherKind == "robust" {
            // The baseline's recipe with this run's attack; no robustness report for the teacher.
            let given: [String: OptionValue] = ["eps": .double(Double(eps)), "alpha": .double(Double(alpha)),
                                                "steps": .int(steps), "beta": .double(Double(beta)), "eval_samples": .int(0)]
            callbacks = [try TRADES(options: OptionValues(specs: TRADES.descriptor.options, given: given, owner: "trades"))]
        } else {
            config.epochs = teacherEpochs
        }
        let trainer = context.makeTrainer(model: teacher, callbacks: callbacks, config: config, test: .some(nil),
                                          label: context.label + " teacher")
        trainer.callbacksProvideLoss = !callbacks.isEmpty
        try trainer.fit()  // its sample passes count in the run's cost by themselves
        return teacher
    }

    override func targets(for step: StepState, loop: LoopState) throws -> ClassificationTarget {
        if let cached { return .probabilities(try cached.rows(step.indices)) }
        guard let teacher = batchTeacher else { throw TrainingError("ltd: no teacher (fitStart did not run)") }
        let logits = try withoutGradients { try teacher(step.inputs) }
        loop.count(samplePasses: step.batchSize)
        let labels = try SoftLabels(teacherLogits: logits.scalars, labels: step.labels, classes: logits.shape[1],
                                    temperature: teacherTemperature, oneHotWhereWrong: oneHotWhereWrong)
        return .probabilities(try labels.rows(Array(0..<step.batchSize)))
    }

    override func methodReport() -> [(String, JSONValue)] { [("teacher", .object(teacherFacts))] }
}
