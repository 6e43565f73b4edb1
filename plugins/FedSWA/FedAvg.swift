import TrainingLab

/// FedAvg (McMahan et al. 2017), the baseline of both federated papers: every sampled client runs plain
/// local SGD from the global weights, y <- y - eta_r (clip(g) + wd y), and the server moves the global
/// model by eta_g times the clients' mean delta (the driver's default aggregation).
public final class FedAvg: FederatedMethod {
    public static let descriptor = MethodDescriptor(
        name: "fedavg",
        title: "FedAvg: federated averaging",
        paper: "H. B. McMahan, E. Moore, D. Ramage, S. Hampson, B. Agüera y Arcas, Communication-Efficient Learning of Deep Networks from Decentralized Data, AISTATS 2017",
        summary: "Sampled clients run local SGD from the global model; the server averages their deltas (weights and BatchNorm buffers).",
        options: [FedSWACheck.clip(default: 10)],
        baseline: nil,
        metrics: FedSWACheck.metrics,
        runDefaults: FedSWACheck.runDefaults,
        comparisonSeeds: [0, 1],
        supportsResume: true,
        usesClients: true
    )

    let clipping: [GradientTransform]

    public init(options: OptionValues) throws { clipping = try FedSWACheck.clipping(options) }

    public func localTraining(_ client: ClientContext) throws -> LocalTraining {
        var local = LocalTraining(client)
        local.gradientTransforms = clipping
        return local
    }
}
