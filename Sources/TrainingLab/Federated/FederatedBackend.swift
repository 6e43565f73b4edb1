/// Where a round's clients train. The driver hands a backend the round's tasks (ascending client id), the
/// broadcast and the runner; the backend returns one outcome per task in the same order, a failed client
/// (an error, a non-finite loss or update, a lost process) as a `ClientFailure` rather than a thrown error.
///
/// The results must not depend on placement: a client's update is a function of (run seed, round, client
/// id, broadcast, client state) (`FederatedClientRunner`), and the strategy sums updates in client id order
/// on the server. So the MPI backend runs the driver on rank 0, ships the broadcast and tasks to the other
/// ranks, which build the same runner from the same command line and data, and returns their updates
/// (`FederatedWire` encodes all three exactly), giving bit-identical global models and reports to `in-process`.
public protocol FederatedBackend: AnyObject {
    func train(_ tasks: [ClientTask], broadcast: RoundBroadcast, runner: FederatedClientRunner) throws -> [ClientOutcome]
}

/// A backend whose clients train in other processes that run the same command (every process builds the same
/// driver): one process runs the rounds, the others `serve` until it calls `endRun`.
public protocol FederatedProcessBackend: FederatedBackend {
    /// Whether this process runs the rounds and writes the run's outputs (MPI rank 0).
    var runsRounds: Bool { get }
    /// Trains the clients the round-running process sends, until it ends the run.
    func serve(_ runner: FederatedClientRunner) throws
    /// Tells the serving processes that the run is over (after the last round, a `--stop-after` stop or an error).
    func endRun()
}

extension FederatedClientRunner {
    /// `task`'s outcome: its update, or a failure with the error's text when local training fails.
    public func outcome(_ task: ClientTask, _ broadcast: RoundBroadcast) -> ClientOutcome {
        do {
            return .success(try train(task, broadcast))
        } catch {
            return .failure(ClientFailure(client: task.client, reason: "\(error)"))
        }
    }
}

/// The default backend: the round's clients one after another in this process.
public final class InProcessBackend: FederatedBackend {
    public init() {}

    public func train(_ tasks: [ClientTask], broadcast: RoundBroadcast, runner: FederatedClientRunner) throws -> [ClientOutcome] {
        tasks.map { runner.outcome($0, broadcast) }
    }
}

/// The backends a run can name with `backend=NAME`: "in-process" and "mpi" are built in (the MPI backend loads
/// its transport library when made); tests register their own.
public enum FederatedBackends {
    nonisolated(unsafe) private static var makers: [String: () throws -> FederatedBackend] = [
        "in-process": { InProcessBackend() },
        "mpi": { MPIFederatedBackend(transport: try MPITransport.joined()) },
    ]

    public static var names: [String] { makers.keys.sorted() }

    /// Makes `name` available to runs (tests register their own).
    public static func register(_ name: String, _ make: @escaping () throws -> FederatedBackend) { makers[name] = make }

    /// Refuses a backend that is not available, saying why (making it is how the MPI backend finds out).
    public static func check(_ name: String) throws { _ = try make(name) }

    public static func make(_ name: String) throws -> FederatedBackend {
        guard let make = makers[name] else { throw ConfigError("unknown backend '\(name)'; available: \(names.joined(separator: ", "))") }
        return try make()
    }
}
