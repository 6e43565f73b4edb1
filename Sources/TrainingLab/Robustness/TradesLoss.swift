/// The TRADES objective per sample (Zhang et al., ICML 2019), with a temperature on the student's logits
/// and hard or soft targets (LTD's teacher labels):
///
///     L_i = CE(f(x_i) / T, t_i) + beta * KL(softmax(f(x_i) / T) || softmax(f(x'_i) / T))
///
/// `clean` are the logits f(x) and `adversarial` f(x') (N, C); gradients flow into both, as in the
/// reference implementation (its batchmean KL is the mean of these rows). T = 1 with hard labels is
/// TRADES exactly.
public struct TradesLoss {
    /// (N) the classification term CE(f(x) / T, t).
    public let natural: Tensor
    /// (N) the robustness term KL(softmax(f(x) / T) || softmax(f(x') / T)).
    public let robust: Tensor
    /// (N) natural + beta * robust.
    public let total: Tensor

    public init(clean: Tensor, adversarial: Tensor, target: ClassificationTarget, beta: Float, temperature: Float = 1) throws {
        natural = try classificationLoss(clean, target: target, temperature: temperature)
        robust = try klDivergence(clean, adversarial, temperature: temperature)
        total = try natural + robust * beta
    }
}
