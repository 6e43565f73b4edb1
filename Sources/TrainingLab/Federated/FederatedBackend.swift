/// Where a round's clients train. The driver hands a backend the round's tasks (ascending client id), the
/// broadcast and the runner; the backend returns one outcome per task in the same order, a failed client
/// (an error, a non-finite loss or update, a lost process) as a `ClientFailure` rather than a thrown error.
///
/// The results must not depend on placement: a client's update is a function of (run seed, round, client
/// id, broadcast, client state) (`FederatedClientRunner`), and the strategy sums updates in client id order
/// on the server. So an MPI backend (a separately loaded library that registers itself under "mpi") can run
/// the driver on rank 0, ship the broadcast and tasks to the other ranks, which build the same runner from
/// the same command line and data, and return their updates (`FederatedWire` encodes all three exactly), and
/// give bit-identical global models and reports to `in-process`.
public protocol FederatedBackend: AnyObject {
    func train(_ tasks: [ClientTask], broadcast: RoundBroadcast, runner: FederatedClientRunner) throws -> [ClientOutcome]
}

/// The default backend: the round's clients one after another in this process.
public final class InProcessBackend: FederatedBackend {
    public init() {}

    public func train(_ tasks: [ClientTask], broadcast: RoundBroadcast, runner: FederatedClientRunner) throws -> [ClientOutcome] {
        tasks.map { task in
            do {
                return .success(try runner.train(task, broadcast))
            } catch {
                return .failure(ClientFailure(client: task.client, reason: "\(error)"))
            }
        }
    }
}

/// The backends a run can name with `backend=NAME`: "in-process" is built in; others register themselves.
public enum FederatedBackends {
    nonisolated(unsafe) private static var makers: [String: () throws -> FederatedBackend] = ["in-process": { InProcessBackend() }]

    public static var names: [String] { makers.keys.sorted() }

    /// Makes `name` available to runs (a backend library calls this when it is loaded; tests register their own).
    public static func register(_ name: String, _ make: @escaping () throws -> FederatedBackend) { makers[name] = make }

    /// Refuses a backend that is not available, saying why.
    public static func check(_ name: String) throws {
        guard makers[name] == nil else { return }
        if name == "mpi" {
            throw ConfigError("backend=mpi is not available: the MPI backend (a separately loaded library) is not built yet; use backend=in-process")
        }
        throw ConfigError("unknown backend '\(name)'; available: \(names.joined(separator: ", "))")
    }

    public static func make(_ name: String) throws -> FederatedBackend {
        try check(name)
        return try makers[name]!()
    }
}
