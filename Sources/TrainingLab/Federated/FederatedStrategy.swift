/// A federated method, in the shape of Flower's strategies: the server configures each round (what the
/// clients receive beside the global model), every sampled client trains locally on the one training loop
/// (`Trainer`) with the strategy's learning rate, gradient transforms, callbacks and objective, reports
/// what it sends, and the server aggregates the successful clients' messages, knowing which clients failed.
/// `FederatedDriver` runs the rounds; a backend decides where clients train.
///
/// The client half (`localTraining`, `finish`) must depend only on its arguments (run seed, round, client
/// id, the broadcast, the client's state), never on what another client or an earlier call left behind: an
/// MPI backend trains clients on other processes and must give bit-identical results. Treat the broadcast
/// as read-only and keep per-client memory in `ClientState`.
public protocol FederatedStrategy: AnyObject {
    /// The state tensors the server shares with clients and aggregates as "model": by default every state
    /// tensor (weights and BatchNorm buffers). Tensors left out (personal heads) are the client's private
    /// state: a strategy loads them from `ClientState` in `localTraining` and stores them back in `finish`.
    func sharedState(of model: Module) -> [(String, Tensor)]
    /// Server side, once before the first round: the strategy's server vectors (e.g. a zero global control
    /// variate) in `server.vectors`. A resumed run restores them instead.
    func initialize(_ server: FederatedServer) throws
    /// Server side (configure_fit): the server vectors the round's clients receive beside the global model.
    func configure(_ round: FederatedRound, server: FederatedServer) throws -> [String: ParameterVector]
    /// Client side: how this client trains this round. `client.model` holds the broadcast global state.
    func localTraining(_ client: ClientContext) throws -> LocalTraining
    /// Client side, after local training: adds what the client sends to `update.vectors` (which already
    /// holds "model" = y - x over the shared state) and sets the state it keeps in `update.state`.
    func finish(_ client: ClientContext, update: inout ClientUpdate) throws
    /// Server side (aggregate_fit): the successful clients' updates in ascending client id (sum them in
    /// this order, whatever process computed them) and the failed clients. Updates `server` and returns
    /// keys for the round's metrics line. Called only when enough clients succeeded (`min_clients`).
    func aggregate(_ round: FederatedRound, updates: [ClientUpdate], failures: [ClientFailure],
                   server: FederatedServer) throws -> [(String, JSONValue)]
    /// Keys the strategy adds to report.json after the last round (from the final server state).
    func report(_ server: FederatedServer) throws -> [(String, JSONValue)]
    /// Server side, at evaluation rounds with local test sets (`local_test`): the model client `client` is
    /// evaluated with, built from its kept state (nil before its first aggregated round). Default: the global
    /// model (FedAvg's "personalised" accuracy); a method with personal heads returns the client's model.
    func personalModel(_ client: Int, state: ClientState?, server: FederatedServer) throws -> Module
}

extension FederatedStrategy {
    public func sharedState(of model: Module) -> [(String, Tensor)] { model.namedState() }
    public func initialize(_ server: FederatedServer) throws {}
    public func configure(_ round: FederatedRound, server: FederatedServer) throws -> [String: ParameterVector] { [:] }
    public func localTraining(_ client: ClientContext) throws -> LocalTraining { LocalTraining(client) }
    public func finish(_ client: ClientContext, update: inout ClientUpdate) throws {}
    /// FedAvg: x <- x + eta_g * sum_i w_i (y_i - x).
    public func aggregate(_ round: FederatedRound, updates: [ClientUpdate], failures: [ClientFailure],
                          server: FederatedServer) throws -> [(String, JSONValue)] {
        try server.applyModelDelta(server.mean("model", of: updates))
        return []
    }
    public func report(_ server: FederatedServer) throws -> [(String, JSONValue)] { [] }
    public func personalModel(_ client: Int, state: ClientState?, server: FederatedServer) throws -> Module { server.model }
}

/// A federated method whose run is the round driver over the run's model with itself as the strategy (FedAvg,
/// FedSWA ...). A method that builds its own model or post-processes the result implements `run` itself.
public protocol FederatedMethod: LoopOwningMethod, FederatedStrategy {}

extension FederatedMethod {
    public func run(_ context: MethodContext) throws -> MethodOutcome {
        try FederatedDriver(context: context, strategy: self, model: try context.makeModel()).run()
    }
}

/// One communication round as the server planned it.
public struct FederatedRound: Sendable, Equatable {
    /// 0-based round index and the number of rounds R.
    public let index: Int
    public let count: Int
    /// eta_r = lr * schedule(index / count): the round's base local learning rate.
    public let learningRate: Double
    /// The sampled clients, ascending.
    public let clients: [Int]

    public init(index: Int, count: Int, learningRate: Double, clients: [Int]) {
        self.index = index
        self.count = count
        self.learningRate = learningRate
        self.clients = clients
    }
}

/// What a round's clients receive: the global model's shared state and the strategy's server vectors.
/// Read-only for clients.
public struct RoundBroadcast {
    public let round: FederatedRound
    /// x^r over `FederatedStrategy.sharedState`, by tensor name.
    public let global: ParameterVector
    public let server: [String: ParameterVector]

    public init(round: FederatedRound, global: ParameterVector, server: [String: ParameterVector]) {
        self.round = round
        self.global = global
        self.server = server
    }
}

/// What the server keeps for one client between the rounds it takes part in (control variates, a
/// personal head). Empty until the client's first aggregated round.
public struct ClientState {
    public var vectors: [String: ParameterVector]
    public var values: JSONValue

    public init(vectors: [String: ParameterVector] = [:], values: JSONValue = .object([])) {
        self.vectors = vectors
        self.values = values
    }

    /// An independent copy (vectors are reference types), so a client cannot change the server's copy.
    public func copy() -> ClientState { ClientState(vectors: vectors.mapValues { $0.copy() }, values: values) }
}

/// One sampled client's job in a round.
public struct ClientTask {
    public let client: Int
    public let samples: Int
    public let state: ClientState

    public init(client: Int, samples: Int, state: ClientState) {
        self.client = client
        self.samples = samples
        self.state = state
    }
}

/// Everything the client half of a strategy sees while one client trains.
public struct ClientContext {
    public let task: ClientTask
    public let broadcast: RoundBroadcast
    /// The client's model: the broadcast global state loaded into a fresh copy of the architecture.
    public let model: Module
    /// T: the local steps this client takes this round.
    public let steps: Int
    public let config: RunConfig

    public var client: Int { task.client }
    public var round: FederatedRound { broadcast.round }
}

/// How a client trains in a round, on the run's training loop (`Trainer`) over its own data.
public struct LocalTraining {
    /// The learning rate of local step k (0-based) of T; by default the round's rate at every step.
    public var learningRate: (_ step: Int, _ steps: Int) -> Double
    /// Applied after backward, in order (clipping, control-variate corrections).
    public var gradientTransforms: [GradientTransform] = []
    /// Trainer events of the local loop (a SAM step, a method's own hooks).
    public var callbacks: [TrainerCallback] = []
    /// Replaces supervised cross-entropy.
    public var objective: TrainingObjective?
    /// A fresh optimiser per client and round; nil: the run's optimiser settings (`MethodContext.makeOptimizer`).
    public var optimizer: Optimizer?

    /// The defaults for a client: the round's learning rate at every step, plain loop.
    public init(_ client: ClientContext) {
        let rate = client.round.learningRate
        learningRate = { _, _ in rate }
    }
}

/// What a successful client sends back and keeps.
public struct ClientUpdate {
    public let client: Int
    /// n_i, the weight of `client_weighting=samples`.
    public let samples: Int
    /// Named vectors the server aggregates: "model" = y_T - x^r over the shared state, plus the strategy's.
    public var vectors: [String: ParameterVector]
    /// The client's state after this round; the server keeps it only if the round is aggregated.
    public var state: ClientState
    /// Numbers of the local training for the round log (train_loss, train_accuracy, steps, first_lr, mean_lr).
    public var metrics: [String: Double]

    public init(client: Int, samples: Int, vectors: [String: ParameterVector], state: ClientState, metrics: [String: Double]) {
        self.client = client
        self.samples = samples
        self.vectors = vectors
        self.state = state
        self.metrics = metrics
    }
}

/// A client that did not deliver an update, and why (a thrown error, a non-finite loss or update, a lost process).
public struct ClientFailure: Equatable, Sendable {
    public let client: Int
    public let reason: String

    public init(client: Int, reason: String) {
        self.client = client
        self.reason = reason
    }
}

/// One client's result in a round.
public enum ClientOutcome {
    case success(ClientUpdate)
    case failure(ClientFailure)

    public var client: Int {
        switch self {
        case .success(let update): return update.client
        case .failure(let failure): return failure.client
        }
    }
}
