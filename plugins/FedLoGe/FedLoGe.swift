import TrainingLab

/// FedLoGe: one federated run gives a generic model and a personal model per client on long-tailed,
/// non-IID data. The run's classifier (smallcnn) is split into a backbone trained only through a frozen
/// sparse ETF classifier (SSE-C, `SparseETF`) and two heads on its detached features
/// (`DecoupledHeadNetwork`): the auxiliary head, averaged by the server with the backbone, and a local head
/// that stays with its client (`ClientState`). After training, GLA-FR (`HeadRealignment`) equalises the
/// auxiliary head's row norms for the generic model and gives each client the auxiliary rows scaled by its
/// local head's row norms, plus its local head's logits. The maths live in the core; this is the strategy.
public final class FedLoGe: FederatedMethod {
    public static let descriptor = MethodDescriptor(
        name: "fedloge",
        title: "FedLoGe: joint local and generic federated learning under long-tailed data",
        paper: "Z. Xiao et al., FedLoGe: Joint Local and Generic Federated Learning under Long-tailed Data, ICLR 2024",
        summary: "Backbone trained against a frozen sparse ETF classifier (SSE-C); auxiliary (averaged) and local (private) heads on detached features; GLA-FR realigns them after training.",
        options: [
            .bool("gla_fr", true, help: "realign after training: generic = GA-FR head, personal = local head + LA-FR auxiliary head; false: the raw auxiliary head and local + raw auxiliary (the ablation)"),
            .double("scale", 1.7, in: 1e-3...1e3, help: "s of GA-FR: the common row norm of the realigned auxiliary head"),
            .double("sparsity", 0.6, in: 0...0.99, help: "beta: fraction of SSE-C's entries set to zero"),
            .int("etf_steps", 10_000, in: 0...1_000_000, help: "Adam steps refining SSE-C's nonzero entries"),
            .double("etf_lr", 1e-4, in: 0...1, help: "Adam learning rate of the SSE-C refinement"),
            .double("etf_norm", 0.1, in: 1e-6...1e3, help: "class-vector norm the SSE-C refinement pulls every column to"),
        ],
        arms: [
            ComparisonArm("fedavg", method: "fedavg", options: ["clip": .double(0)]),
            ComparisonArm("fedloge", method: "fedloge"),
            ComparisonArm("no-gla-fr", method: "fedloge", options: ["gla_fr": .bool(false)]),
        ],
        referenceArm: "fedavg",
        metrics: ["test.shots.many", "test.shots.medium", "test.shots.few", "test.shots.rare3", "local_accuracy",
                  "heads.auxiliary.accuracy", "heads.frozen.accuracy", "heads.realigned.accuracy", "heads.auxiliary.shots.rare3",
                  "local_accuracy_generic", "sse_c.smallest_angle_degrees"],
        runDefaults: [
            ("dataset", "fashion-mnist,imbalance=100,clients=20,alpha=0.5,data-seed=3407"), ("model", "smallcnn"), ("epochs", 40),
            ("batch_size", 32), ("optimizer", "sgd"), ("lr", 0.03), ("momentum", 0.5), ("weight_decay", 0), ("schedule", "constant"),
            ("crop_padding", 0), ("flip", false), ("eval_every", 5), ("clients_per_round", 10), ("local_steps", 0), ("local_epochs", 1),
            ("local_test", 500), ("shot_split", "cumulative"),
        ],
        comparisonSeeds: [0, 1, 2],
        supportsResume: true,
        usesClients: true
    )

    /// Client state: the local head (W_l, b_l).
    static let localHead = "local_head"
    /// What a client reports of its local head after training: the smallest and largest row norm.
    static let localNormKeys = ["local_row_norm_min", "local_row_norm_max"]
    /// The global heads the evaluations score (one pass publishes all three).
    static let globalHeads: [DecoupledHeadNetwork.Head] = [.frozen, .auxiliary, .realigned]

    let realign: Bool
    let scale: Double
    let etf: SparseETF.Settings
    /// The run (server side: evaluations of the heads, personal models).
    private var context: MethodContext?

    public init(options: OptionValues) throws {
        realign = try options.bool("gla_fr")
        scale = try options.double("scale")
        etf = SparseETF.Settings(sparsity: try options.double("sparsity"), steps: try options.int("etf_steps"),
                                 learningRate: try options.double("etf_lr"), norm: try options.double("etf_norm"))
    }

    public func run(_ context: MethodContext) throws -> MethodOutcome {
        self.context = context
        var sse: SparseETF?
        let construction = Stopwatch()
        // The heads the split adds (the frozen classifier's placeholder, the server's local head) draw from the run seed too.
        let network = try ParameterInit.withSeed(context.seed("fedloge-heads")) {
            try DecoupledHeadNetwork(splitting: context.makeModel()) { classes, features in
                sse = try SparseETF(features: features, classes: classes, seed: context.seed("sse-c"), settings: self.etf)
                return sse!.weight
            }
        }
        let constructionSeconds = construction.seconds
        configure(network, head: realign ? .realigned : .auxiliary)
        let geometry = try SparseETF.Geometry(rows: network.frozen.weight)
        context.log("SSE-C: \(geometry.json.serialized()), refinement objective \(sse!.initialLoss) -> \(sse!.finalLoss)")

        let driver = try FederatedDriver(context: context, strategy: self, model: network)
        var outcome = try driver.run()
        var frozen = try SparseETF.Geometry(rows: network.frozen.weight).json
        frozen.set("unchanged", .bool(network.frozen.weight.scalars == sse!.weight.scalars && network.frozen.bias!.scalars.allSatisfy { $0 == 0 }))
        frozen.set("initial_objective", .number(sse!.initialLoss))
        frozen.set("final_objective", .number(sse!.finalLoss))
        frozen.set("seconds", .number(constructionSeconds))
        let generic = try driver.localAccuracies { _ in network }
        outcome.report += [
            ("heads", .object(try headMetrics(network).map { ($0.0.rawValue, $0.1.json) })),
            ("local_accuracy_generic", .number(generic.reduce(0, +) / Double(generic.count))),
            ("sse_c", frozen),
        ]
        return outcome
    }

    public func sharedState(of model: Module) -> [(String, Tensor)] {
        (model as? DecoupledHeadNetwork)?.sharedState() ?? model.namedState()
    }

    public func localTraining(_ client: ClientContext) throws -> LocalTraining {
        let network = try FedLoGe.network(client.model)
        try loadLocalHead(into: network, client: client.client, state: client.task.state, runSeed: client.config.seed)
        var local = LocalTraining(client)
        local.objective = network.objective()
        return local
    }

    public func finish(_ client: ClientContext, update: inout ClientUpdate) throws {
        let network = try FedLoGe.network(client.model)
        update.state.vectors[FedLoGe.localHead] = try ParameterVector(from: network.local.namedState())
        for (key, value) in network.statistics.means { update.metrics[key] = value }
        let norms = try HeadRealignment.rowNorms(network.local.weight)
        for (key, value) in zip(FedLoGe.localNormKeys, [norms.min()!, norms.max()!]) { update.metrics[key] = value }
    }

    /// FedAvg of the backbone and the auxiliary head (the shared state), then what the round log shows of the
    /// heads: the clients' feature norms, logit ranges and local-head row norms (sample-weighted), the
    /// auxiliary head's row norms, and at evaluation rounds every global head's test accuracy.
    public func aggregate(_ round: FederatedRound, updates: [ClientUpdate], failures: [ClientFailure],
                          server: FederatedServer) throws -> [(String, JSONValue)] {
        try server.applyModelDelta(server.mean("model", of: updates))
        let samples = Double(updates.reduce(0) { $0 + $1.samples })
        var keys: [(String, JSONValue)] = (HeadStatistics.keys + FedLoGe.localNormKeys).map { key in
            (key, .number(updates.reduce(0.0) { $0 + Double($1.samples) * ($1.metrics[key] ?? .nan) } / samples))
        }
        let network = try FedLoGe.network(server.model)
        let norms = try HeadRealignment.rowNorms(network.auxiliary.weight)
        keys += [("auxiliary_row_norm_min", .number(norms.min()!)), ("auxiliary_row_norm_max", .number(norms.max()!))]
        if (round.index + 1) % (try runContext().config.evalEvery) == 0 || round.index == round.count - 1 {
            for (head, metrics) in try headMetrics(network) {
                keys.append(("\(head.rawValue)_accuracy", .number(metrics.accuracy)))
                if let rare = metrics.shots?.rare { keys.append(("\(head.rawValue)_rare3", .number(rare))) }
            }
        }
        return keys
    }

    /// Client k's personal model: the global network with k's local head, predicting with
    /// local + LA-FR auxiliary logits (local + raw auxiliary without GLA-FR).
    public func personalModel(_ client: Int, state: ClientState?, server: FederatedServer) throws -> Module {
        let network = try FedLoGe.network(server.model.clone())
        try loadLocalHead(into: network, client: client, state: state, runSeed: try runContext().config.seed)
        configure(network, head: realign ? .personalRealigned : .personal)
        return network
    }

    private func configure(_ network: DecoupledHeadNetwork, head: DecoupledHeadNetwork.Head) {
        network.head = head
        network.scale = scale
    }

    /// The client's kept local head, or before its first aggregated round a fresh one seeded by (run seed,
    /// client id), as every client of the official code starts from its own freshly initialised head.
    private func loadLocalHead(into network: DecoupledHeadNetwork, client: Int, state: ClientState?, runSeed: Int) throws {
        if let head = state?.vectors[FedLoGe.localHead] {
            try head.write(to: network.local.namedState())
        } else {
            try network.resetLocalHead(seed: SeededGenerator(seed: UInt64(runSeed)).split("fedloge-local-head").split(UInt64(client)).seed)
        }
    }

    /// The test metrics of every global head from one evaluation pass (the network publishes their logits).
    private func headMetrics(_ network: DecoupledHeadNetwork) throws -> [(DecoupledHeadNetwork.Head, ClassificationMetrics)] {
        let context = try runContext()
        var evaluator = context.evaluator
        evaluator.normalization = context.config.inputNormalization
        let outputs = try evaluator.outputs(of: network, on: context.data.test, collecting: FedLoGe.globalHeads.map(\.outputName))
        return try FedLoGe.globalHeads.map { head in
            (head, try evaluator.metrics(logits: outputs.records(head.outputName)[0].scalars, on: context.data.test))
        }
    }

    private func runContext() throws -> MethodContext {
        guard let context else { throw TrainingError("fedloge: the server side runs inside a run (run(_:) sets the context)") }
        return context
    }

    static func network(_ model: Module) throws -> DecoupledHeadNetwork {
        guard let network = model as? DecoupledHeadNetwork else {
            throw TrainingError("fedloge: expected its decoupled-head network, got a \(type(of: model))")
        }
        return network
    }
}
