import Foundation

/// Federated state as bytes: named parameter vectors as F32 safetensors entries, their layouts and every
/// other field as JSON in the metadata. Encoding is exact (floats bit for bit, JSON numbers as shortest
/// round-trip text), so checkpoints restore server and client state exactly, and a transport between
/// processes (the MPI backend) ships a round's broadcast, tasks and outcomes without changing a bit.
public enum FederatedWire {
    /// Safetensors entries "PREFIX.NAME" (flat values) of `vectors` and their layouts as JSON, by name.
    static func entries(_ vectors: [String: ParameterVector], prefix: String) throws -> (tensors: [(String, SafeTensor)], layouts: JSONValue) {
        var tensors: [(String, SafeTensor)] = []
        var layouts: [(String, JSONValue)] = []
        for name in vectors.keys.sorted() {
            let v = vectors[name]!
            tensors.append(("\(prefix).\(name)", try SafeTensor(floats: v.values.scalars, shape: [v.layout.count])))
            layouts.append((name, .object([("names", .array(v.layout.names.map(JSONValue.string))),
                                           ("shapes", .array(v.layout.shapes.map { .array($0.map { .number(Double($0)) }) }))])))
        }
        return (tensors, .object(layouts))
    }

    /// The vectors `entries` wrote, read back from `file`.
    static func vectors(layouts: JSONValue?, file: SafeTensorsFile, prefix: String, source: String) throws -> [String: ParameterVector] {
        var out: [String: ParameterVector] = [:]
        for (name, layout) in layouts?.objectValue ?? [] {
            guard let names = layout["names"]?.arrayValue?.compactMap(\.stringValue),
                  let shapes = layout["shapes"]?.arrayValue?.map({ $0.arrayValue?.compactMap { $0.doubleValue.map(Int.init) } ?? [] }),
                  names.count == shapes.count, let stored = file["\(prefix).\(name)"] else {
                throw ConfigError("\(source): vector '\(prefix).\(name)' or its layout is missing or malformed")
            }
            let layoutValue = try ParameterVector.Layout(Array(zip(names, shapes)))
            let values = try stored.floats()
            guard values.count == layoutValue.count else {
                throw ConfigError("\(source): vector '\(prefix).\(name)' holds \(values.count) values, its layout \(layoutValue.count)")
            }
            out[name] = ParameterVector(layout: layoutValue, values: try Tensor(values, shape: [values.count]))
        }
        return out
    }

    /// A client state's vectors as entries "PREFIX.NAME", its layouts and values as JSON.
    static func entries(_ state: ClientState, prefix: String) throws -> (tensors: [(String, SafeTensor)], json: JSONValue) {
        let (tensors, layouts) = try entries(state.vectors, prefix: prefix)
        return (tensors, .object([("vectors", layouts), ("values", state.values)]))
    }

    /// The client state `entries(_:prefix:)` wrote.
    static func state(_ json: JSONValue?, file: SafeTensorsFile, prefix: String, source: String) throws -> ClientState {
        ClientState(vectors: try vectors(layouts: json?["vectors"], file: file, prefix: prefix, source: source),
                    values: json?["values"] ?? .object([]))
    }

    private static func pack(_ tensors: [(String, SafeTensor)], _ json: JSONValue) throws -> Data {
        try SafeTensors.encode(tensors, metadata: ["federated": json.serialized()])
    }

    private static func unpack(_ data: Data, _ what: String) throws -> (SafeTensorsFile, JSONValue) {
        let file = try SafeTensors.decode(data, path: what)
        guard let text = file.metadata["federated"] else { throw ConfigError("\(what): no \"federated\" metadata") }
        return (file, try JSONValue.parse(text, source: what))
    }

    public static func encode(_ broadcast: RoundBroadcast) throws -> Data {
        let (global, globalLayout) = try entries(["global": broadcast.global], prefix: "g")
        let (server, layouts) = try entries(broadcast.server, prefix: "b")
        let round = broadcast.round
        return try pack(global + server, .object([
            ("round", .number(Double(round.index))), ("rounds", .number(Double(round.count))),
            ("lr", .number(round.learningRate)), ("clients", .array(round.clients.map { .number(Double($0)) })), ("global", globalLayout), ("vectors", layouts),
        ]))
    }

    public static func decodeBroadcast(_ data: Data) throws -> RoundBroadcast {
        let (file, json) = try unpack(data, "round broadcast")
        let server = try vectors(layouts: json["vectors"], file: file, prefix: "b", source: "round broadcast")
        guard let global = try vectors(layouts: json["global"], file: file, prefix: "g", source: "round broadcast")["global"], let index = json["round"]?.doubleValue, let count = json["rounds"]?.doubleValue,
              let rate = json["lr"]?.doubleValue, let clients = json["clients"]?.arrayValue?.compactMap(\.doubleValue) else {
            throw ConfigError("round broadcast: incomplete")
        }
        return RoundBroadcast(round: FederatedRound(index: Int(index), count: Int(count), learningRate: rate, clients: clients.map { Int($0) }),
                              global: global, server: server)
    }

    public static func encode(_ task: ClientTask) throws -> Data {
        let (tensors, state) = try entries(task.state, prefix: "s")
        return try pack(tensors, .object([("client", .number(Double(task.client))), ("samples", .number(Double(task.samples))), ("state", state)]))
    }

    public static func decodeTask(_ data: Data) throws -> ClientTask {
        let (file, json) = try unpack(data, "client task")
        guard let client = json["client"]?.doubleValue, let samples = json["samples"]?.doubleValue else { throw ConfigError("client task: incomplete") }
        return ClientTask(client: Int(client), samples: Int(samples),
                          state: try state(json["state"], file: file, prefix: "s", source: "client task"))
    }

    public static func encode(_ outcome: ClientOutcome) throws -> Data {
        switch outcome {
        case .failure(let failure):
            return try pack([], .object([("client", .number(Double(failure.client))), ("failure", .string(failure.reason))]))
        case .success(let update):
            let (sent, layouts) = try entries(update.vectors, prefix: "u")
            let (kept, state) = try entries(update.state, prefix: "s")
            return try pack(sent + kept, .object([
                ("client", .number(Double(update.client))), ("samples", .number(Double(update.samples))), ("vectors", layouts),
                ("state", state), ("metrics", .object(update.metrics.keys.sorted().map { ($0, .number(update.metrics[$0]!)) })),
            ]))
        }
    }

    public static func decodeOutcome(_ data: Data) throws -> ClientOutcome {
        let (file, json) = try unpack(data, "client outcome")
        guard let client = json["client"]?.doubleValue.map({ Int($0) }) else { throw ConfigError("client outcome: no client id") }
        if let reason = json["failure"]?.stringValue { return .failure(ClientFailure(client: client, reason: reason)) }
        guard let samples = json["samples"]?.doubleValue else { throw ConfigError("client outcome: incomplete") }
        var metrics: [String: Double] = [:]
        for (key, value) in json["metrics"]?.objectValue ?? [] { metrics[key] = value.doubleValue ?? .nan }
        return .success(ClientUpdate(client: client, samples: Int(samples),
                                     vectors: try vectors(layouts: json["vectors"], file: file, prefix: "u", source: "client outcome"),
                                     state: try state(json["state"], file: file, prefix: "s", source: "client outcome"),
                                     metrics: metrics))
    }
}
