import Foundation

/// Round-boundary checkpoints of a federated run (checkpoint.safetensors, written atomically after every
/// round): the global model ("global.NAME"), the strategy's server vectors ("server.NAME") and every
/// client's state ("clientK.NAME"), and in the "federated" metadata the next round, the server values, the
/// vectors' layouts, the evaluations and failure counts so far, and the run's cost and metrics lines; in the "run"
/// metadata the run's configuration, which `ResumeCheck` compares.
extension FederatedDriver {
    func saveCheckpoint(to url: URL) throws {
        var tensors = try ModelFile.tensors(of: server.model.namedState().map { ("global.\($0.0)", $0.1) })
        let (serverTensors, serverLayouts) = try FederatedWire.entries(server.vectors, prefix: "server")
        tensors += serverTensors
        var states: [(String, JSONValue)] = []
        for id in clientStates.keys.sorted() {
            let (stateTensors, json) = try FederatedWire.entries(clientStates[id]!, prefix: "client\(id)")
            tensors += stateTensors
            states.append((String(id), json))
        }
        let state: JSONValue = .object([
            ("next_round", .number(Double(nextRound))),
            ("server_values", server.values), ("server_vectors", serverLayouts), ("clients", .object(states)),
            ("evaluations", .array(evaluations.map { .array([.number(Double($0.round)), .number($0.accuracy)]) })),
            ("failed_clients", .number(Double(failedClients))), ("skipped_rounds", .number(Double(skippedRounds))),
            ("run_cost", context.cost.json), ("run_metrics", .array(context.metrics.lines)),
        ])
        try SafeTensors.write(tensors, metadata: ["federated": state.serialized(), ResumeCheck.metadataKey: context.runConfiguration.serialized()],
                              to: url)
    }

    func loadCheckpoint(from url: URL) throws {
        let file = try SafeTensors.read(from: url)
        guard let text = file.metadata["federated"] else { throw ConfigError("\(url.path): not a federated checkpoint (no \"federated\" metadata)") }
        try ResumeCheck.verify(stored: file.metadata[ResumeCheck.metadataKey], current: context.runConfiguration, checkpoint: url.path)
        let state = try JSONValue.parse(text, source: url.path)
        guard let round = state["next_round"]?.doubleValue, let clients = state["clients"]?.objectValue,
              let evaluations = state["evaluations"]?.arrayValue else {
            throw ConfigError("\(url.path): checkpoint state is incomplete")
        }
        try ModelFile.restore(server.model.namedState(), from: file, path: url.path, prefix: "global.")
        server.vectors = try FederatedWire.vectors(layouts: state["server_vectors"], file: file, prefix: "server", source: url.path)
        server.values = state["server_values"] ?? .object([])
        clientStates = [:]
        for (id, json) in clients {
            guard let k = Int(id) else { throw ConfigError("\(url.path): client id '\(id)' is not an integer") }
            clientStates[k] = try FederatedWire.state(json, file: file, prefix: "client\(k)", source: url.path)
        }
        self.evaluations = evaluations.compactMap { pair in
            guard let r = pair.arrayValue?.first?.doubleValue, let a = pair.arrayValue?.last?.doubleValue else { return nil }
            return (Int(r), a)
        }
        nextRound = Int(round)
        failedClients = Int(state["failed_clients"]?.doubleValue ?? 0)
        skippedRounds = Int(state["skipped_rounds"]?.doubleValue ?? 0)
        context.cost.restore(state["run_cost"])
        try context.metrics.restore(state["run_metrics"]?.arrayValue ?? [])
    }
}
