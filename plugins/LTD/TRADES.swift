import TrainingLab

/// TRADES: clean cross-entropy plus beta times the KL between the clean and the adversarial prediction,
/// the adversarial input maximising that KL. The base recipe of LTD and its baseline.
final class TRADES: AdversarialTraining, InLoopMethod {
    static let descriptor = MethodDescriptor(
        name: "trades",
        title: "TRADES adversarial training",
        paper: "H. Zhang, Y. Yu, J. Jiao, E. P. Xing, L. El Ghaoui, M. I. Jordan, Theoretically Principled Trade-off between Robustness and Accuracy, ICML 2019",
        summary: "Minimise CE(f(x), y) + beta KL(f(x) || f(x')), x' the L-inf PGD maximiser of the KL from x + 0.001 N(0, 1) (model in eval mode).",
        options: AdversarialTraining.attackOptions(beta: true) + AdversarialTraining.evaluationOptions,
        baseline: "pgd-at",
        metrics: AdversarialTraining.reportedMetrics,
        events: [.fitStart, .epochStart, .batchStart, .loss, .epochEnd, .fitEnd],
        claims: [.loss],
        runDefaults: AdversarialTraining.runDefaults,
        supportsResume: true
    )

    init(options: OptionValues) throws {
        try super.init(form: .trades, options: options, temperature: 1)
    }
}
