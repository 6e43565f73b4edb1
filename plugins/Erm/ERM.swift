import TrainingLab

/// Empirical risk minimisation: mini-batch SGD on the mean per-sample cross-entropy, nothing else.
/// The baseline every paper method is compared against; it uses no trainer event.
public final class ERM: InLoopMethod {
    public static let descriptor = MethodDescriptor(
        name: "erm",
        title: "Empirical risk minimisation (plain training)",
        paper: "V. Vapnik, Principles of Risk Minimization for Learning Theory, NeurIPS 1991",
        summary: "Minimise the mean training cross-entropy with the configured optimiser and schedule; the baseline of every method.",
        // Compared with itself, `tlab compare erm` is a determinism check: every difference must be 0.
        baseline: "erm",
        supportsResume: true
    )

    public init(options: OptionValues) {}
}
