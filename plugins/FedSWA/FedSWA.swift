import TrainingLab

/// FedSWA: FedAvg whose clients follow a cyclic learning rate within every round, from m * eta_r down
/// towards m * rho * eta_r (`ClientLearningRate.swaCycle`), so the server averages the clients' low-rate end
/// points (stochastic weight averaging across clients). Defaults are the official code's m = 2, rho = 0.
public final class FedSWA: LoopOwningMethod, FederatedStrategy {
    public static let descriptor = MethodDescriptor(
        name: "fedswa",
        title: "FedSWA: federated stochastic weight averaging",
        paper: FedSWACheck.paper,
        summary: "FedAvg with a per-round cyclic local learning rate decaying linearly from m * eta_r to m * rho * eta_r; the server averages the end points.",
        options: [
            .double("m", 2, in: 0.001...100, help: "multiplier of the client cycle (the first local step uses m * eta_r)"),
            .double("rho", 0, in: 0...1, help: "end-of-round learning-rate ratio of the cycle"),
            FedSWACheck.clip(default: 10),
        ],
        baseline: "fedavg",
        metrics: FedSWACheck.metrics,
        runDefaults: FedSWACheck.runDefaults,
        comparisonSeeds: [0, 1],
        supportsResume: true,
        usesClients: true
    )

    let multiplier: Double
    let endRatio: Double
    let clipping: [GradientTransform]

    public init(options: OptionValues) throws {
        multiplier = try options.double("m")
        endRatio = try options.double("rho")
        clipping = try FedSWACheck.clipping(options)
    }

    public func run(_ context: MethodContext) throws -> MethodOutcome {
        try FederatedDriver(context: context, strategy: self, model: try context.makeModel()).run()
    }

    public func localTraining(_ client: ClientContext) throws -> LocalTraining {
        var local = LocalTraining(client)
        let (rate, m, rho) = (client.round.learningRate, multiplier, endRatio)
        local.learningRate = { k, steps in ClientLearningRate.swaCycle(step: k, steps: steps, roundRate: rate, multiplier: m, endRatio: rho) }
        local.gradientTransforms = clipping
        return local
    }
}
