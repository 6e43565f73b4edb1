/// The server side of a federated run: the global model, the strategy's server vectors and values (control
/// variates, counters), and the aggregation every strategy uses. All of it is checkpointed after each round.
public final class FederatedServer {
    /// x: the global model.
    public let model: Module
    /// Names of the global model's shared state (what clients receive and "model" aggregates), in order.
    public let sharedNames: [String]
    public let settings: FederatedSettings
    /// The strategy's server vectors by name (e.g. "control": the global control variate c).
    public var vectors: [String: ParameterVector] = [:]
    /// The strategy's server numbers and flags.
    public var values: JSONValue = .object([])

    public init(model: Module, sharedNames: [String], settings: FederatedSettings) {
        self.model = model
        self.sharedNames = sharedNames
        self.settings = settings
    }

    /// The global model's shared state as one vector (a copy).
    public func sharedVector() throws -> ParameterVector {
        let state = Dictionary(model.namedState(), uniquingKeysWith: { first, _ in first })
        return try ParameterVector(from: sharedNames.map { ($0, state[$0]!) })
    }

    /// Names of the global model's trainable parameters among the shared state (the layout of control variates).
    public var parameterNames: [String] {
        let trainable = Set(model.namedParameters().map(\.0))
        return sharedNames.filter(trainable.contains)
    }

    /// sum_i w_i v_i of the vector `name` of `updates`, accumulated in the order given (ascending client id),
    /// with w_i = n_i / sum n (client_weighting=samples) or 1 / count (equal). The fixed order makes the
    /// sum independent of where and in which order the clients were trained.
    public func mean(_ name: String, of updates: [ClientUpdate]) throws -> ParameterVector {
        guard let first = updates.first?.vectors[name] else {
            throw TrainingError("federated aggregation: no client sent '\(name)'")
        }
        let total = Double(updates.reduce(0) { $0 + $1.samples })
        let sum = ParameterVector(zerosLike: first)
        for update in updates {
            guard let v = update.vectors[name] else { throw TrainingError("federated aggregation: client \(update.client) sent no '\(name)'") }
            let weight = settings.weighting == .samples ? Double(update.samples) / total : 1 / Double(updates.count)
            try sum.add(v, scaledBy: Float(weight))
        }
        return sum
    }

    /// x <- x + eta_g * delta over the shared state (eta_g = server_lr).
    public func applyModelDelta(_ delta: ParameterVector) throws {
        let x = try sharedVector()
        try x.add(delta, scaledBy: Float(settings.serverLearningRate))
        let state = Dictionary(model.namedState(), uniquingKeysWith: { first, _ in first })
        try x.write(to: sharedNames.map { ($0, state[$0]!) })
    }
}
