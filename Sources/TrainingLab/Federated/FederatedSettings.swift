import Foundation

/// The protocol of a federated run, read from its run options. An epoch of a federated run is one
/// communication round: `epochs` rounds, `lr` the peak of the round schedule (eta_r = lr * schedule(r / R)),
/// `batch_size` the clients' local mini-batch, `eval_every` the rounds between global evaluations.
public struct FederatedSettings: Equatable, Sendable {
    public enum Weighting: String, Sendable {
        /// w_i = n_i / sum_j n_j over the round's successful clients.
        case samples
        /// w_i = 1 / (successful clients).
        case equal
    }

    public var rounds: Int
    public var clientsPerRound: Int
    /// Local steps per client and round; 0 means `localEpochs` full passes over the client's data.
    public var localSteps: Int
    public var localEpochs: Int
    public var minClients: Int
    public var serverLearningRate: Double
    public var weighting: Weighting
    public var failures: [InjectedFailure]
    public var localTestSize: Int
    public var backend: String

    /// Reads and checks the federated run options of `config`.
    public init(_ config: RunConfig) throws {
        rounds = config.epochs
        clientsPerRound = config.clientsPerRound
        localSteps = config.localSteps
        localEpochs = config.localEpochs
        minClients = config.minClients
        serverLearningRate = config.serverLR
        guard let weighting = Weighting(rawValue: config.clientWeighting) else {
            throw ConfigError("run option 'client_weighting' = '\(config.clientWeighting)' is invalid; expected samples or equal")
        }
        self.weighting = weighting
        failures = try InjectedFailure.parse(config.failClients)
        localTestSize = config.localTest
        backend = config.backend
        guard minClients <= clientsPerRound else {
            throw ConfigError("run option 'min_clients' = \(minClients) exceeds 'clients_per_round' = \(clientsPerRound): no round could be aggregated")
        }
        if let late = failures.first(where: { $0.round >= rounds }) {
            throw ConfigError("run option 'fail_clients': \(late) names round \(late.round), but the run has rounds 0..<\(rounds)")
        }
        if backend != "mpi", let exit = failures.first(where: { $0.kind == .exit }) {
            throw ConfigError("run option 'fail_clients': \(exit) ends the process that trains client \(exit.client), which only a run whose clients train in other processes survives (backend=mpi); backend=\(backend) trains them in this one")
        }
    }

    /// Local steps of a client holding `samples` samples: `localSteps`, or `localEpochs` passes of batches.
    public func steps(samples: Int, batchSize: Int) -> Int {
        localSteps > 0 ? localSteps : localEpochs * ((samples + batchSize - 1) / batchSize)
    }
}

/// A client made to fail in a round on purpose (`fail_clients=3@2,5@4:nan,6@1:exit`), to exercise and test how
/// the driver treats failures. The failure happens inside the client's local training loop: `.error` throws at
/// the first step, `.nonFiniteLoss` makes the loss NaN so that the loop's own non-finite check stops it, `.exit`
/// ends the process that trains the client (a lost MPI rank; refused for backends that train in the run's process).
public struct InjectedFailure: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case error
        case nonFiniteLoss = "nan"
        case exit
    }

    public var client: Int
    public var round: Int
    public var kind: Kind

    public init(client: Int, round: Int, kind: Kind = .error) {
        self.client = client
        self.round = round
        self.kind = kind
    }

    public var description: String { "\(client)@\(round)" + (kind == .error ? "" : ":\(kind.rawValue)") }

    /// Parses "CLIENT@ROUND[:nan],..." ("" is none).
    public static func parse(_ text: String) throws -> [InjectedFailure] {
        try text.split(separator: ",").map { item in
            let part = item.trimmingCharacters(in: .whitespaces)
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            let at = fields[0].split(separator: "@", omittingEmptySubsequences: false)
            guard fields.count <= 2, at.count == 2, let client = Int(at[0]), let round = Int(at[1]), client >= 0, round >= 0,
                  let kind = fields.count == 2 ? Kind(rawValue: String(fields[1])) : .error else {
                throw ConfigError("run option 'fail_clients': '\(part)' is invalid; expected CLIENT@ROUND, CLIENT@ROUND:nan or CLIENT@ROUND:exit with 0-based integers, e.g. 3@2,5@4:nan")
            }
            return InjectedFailure(client: client, round: round, kind: kind)
        }
    }
}
