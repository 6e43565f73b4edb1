import TrainingLab

/// FedSWA: FedAvg whose clients follow a cyclic learning rate within every round, from m * eta_r down
/// towards m * rho * eta_r (`ClientLearningRate.swaCycle`), so the server averages the clients' low-rate end
/// points (stochastic weight averaging across clients). Defaults are the official code's m = 2, rho = 0.
public final class FedSWA: FederatedMethod {
    public static let descriptor = MethodDescriptor(
        name: "fedswa",
        title: "FedSWA: federated stochastic weight averaging",
        paper: FedSWACheck.paper,
        summary: "FedAvg with a per-round cyclic local learning rate decaying linearly from m * eta_r to m * rho * eta_r; the server averages the end points.",
        options: FedSWACheck.cycleOptions + [FedSWACheck.clip(default: 10)],
        baseline: "fedavg",
        metrics: FedSWACheck.metrics,
        runDefaults: FedSWACheck.runDefaults,
        comparisonSeeds: [0, 1],
        supportsResume: true,
        usesClients: true
    )

    let cycle: (Double) -> (Int, Int) -> Double
    let clipping: [GradientTransform]

    public init(options: OptionValues) throws {
        cycle = try FedSWACheck.cycle(options)
        clipping = try FedSWACheck.clipping(options)
    }

    public func localTraining(_ client: ClientContext) throws -> LocalTraining {
        var local = LocalTraining(client)
        local.learningRate = cycle(client.round.learningRate)
        local.gradientTransforms = clipping
        return local
    }
}
