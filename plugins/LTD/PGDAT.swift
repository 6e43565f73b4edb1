import TrainingLab

/// PGD adversarial training: train on the L-inf PGD maximiser of the cross-entropy (random start).
final class PGDAT: AdversarialTraining, InLoopMethod {
    static let descriptor = MethodDescriptor(
        name: "pgd-at",
        title: "PGD adversarial training",
        paper: "A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu, Towards Deep Learning Models Resistant to Adversarial Attacks, ICLR 2018",
        summary: "Replace each batch by its L-inf PGD adversarial examples (uniform random start, CE loss, model in eval mode) and minimise their cross-entropy.",
        options: AdversarialTraining.attackOptions(beta: false) + AdversarialTraining.evaluationOptions,
        baseline: "erm",
        metrics: AdversarialTraining.reportedMetrics,
        events: [.fitStart, .epochStart, .batchStart, .loss, .epochEnd, .fitEnd],
        claims: [.inputs, .loss],
        runDefaults: AdversarialTraining.runDefaults,
        supportsResume: true
    )

    init(options: OptionValues) throws {
        try super.init(form: .pgd, options: options, temperature: 1)
    }
}
