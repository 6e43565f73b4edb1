import TrainingLab

/// FedMoSWA: FedSWA's client cycle plus SCAFFOLD-style control variates whose global value moves as an
/// exponential moving average. Client i corrects every local gradient by c - c_i, then computes
/// c_i+ = c_i - c + (x - y_T) / (T * eta_bar), keeps it and sends d_i = c_i+ - c (minus the *global* c);
/// the server averages the deltas as FedAvg does and sets c <- c + a_c * mean d_i (weight 1 the first time).
/// c_i persists per client id across rounds (driver client state), c is server state; both cover the
/// trainable parameters only, not BatchNorm buffers.
public final class FedMoSWA: FederatedMethod {
    public static let descriptor = MethodDescriptor(
        name: "fedmoswa",
        title: "FedMoSWA: momentum-based stochastic controlled weight averaging",
        paper: FedSWACheck.paper,
        summary: "FedSWA's cyclic local learning rate with control-variate drift correction (c - c_i); the global control variate is an EMA (a_c) of the clients' fresh estimates.",
        options: FedSWACheck.cycleOptions + [
            .double("a_c", 0.4, in: 0...1, help: "EMA weight of the global control variate update"),
            .bool("swa_decay", true, help: "local cycle as FedSWA (paper); false: constant eta_r within the round (the official code's active path)"),
            .bool("zero_control_variates", false, help: "hold c and c_i at 0 (the correction is still applied): equals FedSWA; a test switch"),
            FedSWACheck.clip(default: 10),
        ],
        arms: [
            ComparisonArm("fedavg", method: "fedavg"),
            ComparisonArm("fedsam", method: "fedsam", settings: ["weight_decay": .number(0)]),
            ComparisonArm("fedswa", method: "fedswa"),
            ComparisonArm("fedmoswa", method: "fedmoswa"),
        ],
        referenceArm: "fedavg",
        metrics: FedSWACheck.metrics + ["control_norm"],
        runDefaults: FedSWACheck.runDefaults,
        comparisonSeeds: [0, 1],
        supportsResume: true,
        usesClients: true
    )

    static let control = "control"
    /// Server value: how many times c has been updated (the first update has weight 1).
    static let updates = "control_updates"

    let cycle: (Double) -> (Int, Int) -> Double
    let momentum: Double
    let decay: Bool
    let zeroVariates: Bool
    let clipping: [GradientTransform]

    public init(options: OptionValues) throws {
        cycle = try FedSWACheck.cycle(options)
        momentum = try options.double("a_c")
        decay = try options.bool("swa_decay")
        zeroVariates = try options.bool("zero_control_variates")
        clipping = try FedSWACheck.clipping(options)
    }

    public func initialize(_ server: FederatedServer) throws {
        server.vectors[FedMoSWA.control] = ParameterVector(zerosLike: try server.sharedVector().selecting(server.parameterNames))
        server.values = .object([(FedMoSWA.updates, .number(0))])
    }

    public func configure(_ round: FederatedRound, server: FederatedServer) throws -> [String: ParameterVector] {
        return [FedMoSWA.control: server.vectors[FedMoSWA.control]!]
    }

    public func localTraining(_ client: ClientContext) throws -> LocalTraining {
        var local = LocalTraining(client)
        if decay { local.learningRate = cycle(client.round.learningRate) }
        let (global, own) = try variates(client)
        // clip(g) + c - c_i: the correction comes after clipping, as in the spec's local step.
        local.gradientTransforms = clipping + [ControlVariateCorrection(global: global, local: own)]
        return local
    }

    public func finish(_ client: ClientContext, update: inout ClientUpdate) throws {
        guard !zeroVariates else { return }
        let (global, own) = try variates(client)
        let names = global.layout.names
        let estimate = try ControlVariates.clientEstimate(
            local: own, global: global, start: try client.broadcast.global.selecting(names),
            end: try ParameterVector(from: sharedState(of: client.model)).selecting(names),
            steps: client.steps, meanLearningRate: update.metrics["mean_lr"] ?? .nan)
        update.vectors[FedMoSWA.control] = try estimate.subtracting(global)
        update.state.vectors[FedMoSWA.control] = estimate
    }

    public func aggregate(_ round: FederatedRound, updates: [ClientUpdate], failures: [ClientFailure],
                          server: FederatedServer) throws -> [(String, JSONValue)] {
        try server.applyModelDelta(server.mean("model", of: updates))
        let c = server.vectors[FedMoSWA.control]!
        if !zeroVariates {
            let done = server.values[FedMoSWA.updates]?.doubleValue ?? 0
            try ControlVariates.serverStep(global: c, meanMessage: server.mean(FedMoSWA.control, of: updates), momentum: momentum, first: done == 0)
            server.values.set(FedMoSWA.updates, .number(done + 1))
        }
        return [("control_norm", .number(try c.norm()))]
    }

    public func report(_ server: FederatedServer) throws -> [(String, JSONValue)] {
        [("control_norm", .number(try server.vectors[FedMoSWA.control]!.norm()))]
    }

    /// The broadcast global c and this client's c_i (0 before its first aggregated round).
    private func variates(_ client: ClientContext) throws -> (global: ParameterVector, local: ParameterVector) {
        guard let global = client.broadcast.server[FedMoSWA.control] else { throw TrainingError("fedmoswa: the round's broadcast has no control variate") }
        return (global, client.task.state.vectors[FedMoSWA.control] ?? ParameterVector(zerosLike: global))
    }
}
