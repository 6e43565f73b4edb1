/// What an attack maximises over the input: a per-sample function (N) of the model's logits (N, C).
/// Gradient attacks ascend the sum, so each sample's input gradient is that of its own value.
public struct AttackObjective {
    public let name: String
    private let perSample: (Tensor) throws -> Tensor

    public init(name: String, _ perSample: @escaping (_ logits: Tensor) throws -> Tensor) {
        self.name = name
        self.perSample = perSample
    }

    public func callAsFunction(_ logits: Tensor) throws -> Tensor { try perSample(logits) }

    /// CE(logits / T, target): the PGD-AT attack and the standard PGD evaluation (hard or soft targets).
    public static func crossEntropy(_ target: ClassificationTarget, temperature: Float = 1) -> AttackObjective {
        AttackObjective(name: "cross_entropy") { try classificationLoss($0, target: target, temperature: temperature) }
    }

    /// max_{c != y} z_c - z_y: the margin (Carlini-Wagner) attack, whose gradient does not vanish when the
    /// softmax saturates, so it sees through logit scaling that can mask cross-entropy gradients.
    public static func margin(labels: [Int32]) -> AttackObjective {
        AttackObjective(name: "margin") { try marginLoss($0, labels: labels) }
    }

    /// KL(softmax(reference / T) || softmax(logits / T)) with constant reference logits (the clean input's):
    /// the TRADES inner maximisation.
    public static func kl(reference: Tensor, temperature: Float = 1) -> AttackObjective {
        let fixed = reference.detached()
        return AttackObjective(name: "kl") { try klDivergence(fixed, $0, temperature: temperature) }
    }
}

/// The loss an evaluation attack uses on a labelled batch.
public enum ClassificationAttackLoss: Equatable, Sendable {
    case crossEntropy(temperature: Float)
    case margin

    public func objective(labels: [Int32]) -> AttackObjective {
        switch self {
        case .crossEntropy(let t): return .crossEntropy(.labels(labels), temperature: t)
        case .margin: return .margin(labels: labels)
        }
    }
}
