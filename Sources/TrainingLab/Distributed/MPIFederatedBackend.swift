import Foundation

/// backend=mpi for federated runs: every rank runs the same command; rank 0 runs the rounds, aggregates and
/// writes the run's outputs, ranks 1..<P train clients (`serve`).
///
/// A round on rank 0: the round's clients (ascending) go to the live training ranks in turn (client i of the
/// round to live[i mod |live|]); each rank gets one `round` message (the broadcast and its tasks, in
/// `FederatedWire`'s exact encoding; empty when it has no client this round), trains its clients in order and sends each client's outcome as soon as it
/// has it, with the sample passes its loop made (added to rank 0's cost). Rank 0 returns the outcomes in client
/// order, so aggregation sums them in client-id order, as in-process does: the global model and the report are
/// bit-identical to backend=in-process.
///
/// A lost rank is a failed client: a training rank sends a heartbeat at least every second while it trains;
/// one that rank 0 hears nothing from for `timeout` seconds (its process died or hangs) fails the clients it
/// still owed this round, gets no further clients, and its late messages are ignored. With no training rank
/// left, rank 0 trains the clients itself. Whether the job survives a dead rank at all is mpirun's decision:
/// OpenMPI 4.1 ends the whole job unless it runs with --enable-recovery (README, "MPI").
final class MPIFederatedBackend: FederatedProcessBackend {
    let transport: MPITransport
    /// Training ranks not lost so far, ascending.
    private var live: [Int]
    private var warnedAlone = false

    init(transport: MPITransport) {
        self.transport = transport
        live = Array(1..<max(1, transport.ranks))
    }

    var runsRounds: Bool { transport.rank == 0 }

    func train(_ tasks: [ClientTask], broadcast: RoundBroadcast, runner: FederatedClientRunner) throws -> [ClientOutcome] {
        let context = runner.context
        guard !live.isEmpty else {
            if !warnedAlone { context.log("backend=mpi: no training rank \(transport.ranks > 1 ? "is left" : "was started"); rank 0 trains the clients itself") }
            warnedAlone = true
            return tasks.map { runner.outcome($0, broadcast) }
        }
        let round = broadcast.round.index
        var assigned: [Int: [ClientTask]] = [:]
        for (i, task) in tasks.enumerated() { assigned[live[i % live.count], default: []].append(task) }

        var outcomes: [Int: ClientOutcome] = [:]
        var owed: [Int: Set<Int>] = [:]
        var lastHeard: [Int: Date] = [:]
        func lose(_ rank: Int, _ clients: [Int], _ why: String) {
            live.removeAll { $0 == rank }
            owed[rank] = nil
            context.log("round \(round): rank \(rank) is lost (\(why)); its clients \(clients) fail, and it gets no further clients")
            for client in clients {
                outcomes[client] = .failure(ClientFailure(client: client, reason: "rank \(rank) was lost: \(why)"))
            }
        }

        let shipped = try FederatedWire.encode(broadcast)
        // Every live rank hears from rank 0 each round (an empty message when it has no client this round).
        for rank in live {
            let its = assigned[rank] ?? []
            let message = MPITransport.pack(its.isEmpty ? [] : [shipped] + (try its.map(FederatedWire.encode)))
            do {
                try transport.send(message, to: rank, tag: .round)
                if !its.isEmpty { owed[rank] = Set(its.map(\.client)) }
                lastHeard[rank] = Date()
            } catch let failure as MPITransport.Failure where failure.timedOut {
                lose(rank, its.map(\.client), "it took no round message for \(transport.timeout) s")
            }
        }
        while !owed.isEmpty {
            if let message = try transport.receive(from: nil, wait: 1) {
                guard owed[message.source] != nil else {
                    context.log("round \(round): ignored a late message from rank \(message.source), which was lost")
                    continue
                }
                lastHeard[message.source] = Date()
                switch message.tag {
                case .heartbeat: continue
                case .outcome:
                    let (client, passes, outcome) = try MPIFederatedBackend.decodeOutcome(message.bytes, round: round, from: message.source)
                    guard owed[message.source]!.remove(client) != nil else {
                        throw TrainingError("backend=mpi: rank \(message.source) sent an outcome for client \(client), which it was not given in round \(round)")
                    }
                    if owed[message.source]!.isEmpty { owed[message.source] = nil }
                    context.cost.add(samplePasses: passes)
                    outcomes[client] = outcome
                default:
                    throw TrainingError("backend=mpi: rank \(message.source) sent a \(message.tag) message during round \(round)")
                }
            }
            for (rank, clients) in owed where Date().timeIntervalSince(lastHeard[rank]!) > transport.timeout {
                lose(rank, clients.sorted(), "nothing heard from it for \(transport.timeout) s: its process died or hangs")
            }
        }
        return tasks.map { outcomes[$0.client]! }
    }

    func serve(_ runner: FederatedClientRunner) throws {
        let heartbeat = MPIHeartbeat(transport)
        runner.loopCallbacks.append(heartbeat)
        // Rank 0 evaluates and checkpoints between rounds without a sign of life: allow it ten time limits. A rank
        // that hears nothing for that long (rank 0 died, or counted this rank as lost) leaves the run quietly
        // rather than aborting a job that may still be running without it.
        let patience = 10 * transport.timeout
        while true {
            guard let message = try transport.receive(from: 0, wait: patience) else {
                FileHandle.standardError.write(Data("backend=mpi: rank \(transport.rank) heard nothing from rank 0 for \(patience) s (10 x TRAININGLAB_MPI_TIMEOUT) and leaves the run\n".utf8))
                return
            }
            switch message.tag {
            case .stop: return
            case .round:
                let parts = try MPITransport.unpack(message.bytes)
                guard let shipped = parts.first else { continue }  // no client for this rank this round
                let broadcast = try FederatedWire.decodeBroadcast(shipped)
                for part in parts.dropFirst() {
                    let task = try FederatedWire.decodeTask(part)
                    let before = runner.context.cost.samplePasses
                    let outcome = runner.outcome(task, broadcast)
                    let header: JSONValue = .object([("round", .number(Double(broadcast.round.index))), ("client", .number(Double(task.client))),
                                                     ("sample_passes", .number(Double(runner.context.cost.samplePasses - before)))])
                    try transport.send(MPITransport.pack([Data(header.serialized().utf8), try FederatedWire.encode(outcome)]), to: 0, tag: .outcome)
                    heartbeat.sent()
                }
            default:
                throw TrainingError("backend=mpi: rank 0 sent a \(message.tag) message to a training rank")
            }
        }
    }

    func endRun() {
        for rank in live {
            do {
                try transport.send(Data(), to: rank, tag: .stop)
            } catch {
                FileHandle.standardError.write(Data("backend=mpi: could not tell rank \(rank) that the run is over: \(error)\n".utf8))
            }
        }
    }

    /// The client, its loop's sample passes and its outcome from an `outcome` message of `round`.
    static func decodeOutcome(_ bytes: Data, round: Int, from rank: Int) throws -> (client: Int, passes: Int, outcome: ClientOutcome) {
        let parts = try MPITransport.unpack(bytes)
        guard parts.count == 2 else { throw TrainingError("backend=mpi: an outcome message from rank \(rank) has \(parts.count) parts, expected 2") }
        let header = try JSONValue.parse(String(decoding: parts[0], as: UTF8.self), source: "outcome header from rank \(rank)")
        guard let client = header["client"]?.doubleValue.map({ Int($0) }), let passes = header["sample_passes"]?.doubleValue,
              header["round"]?.doubleValue == Double(round) else {
            throw TrainingError("backend=mpi: rank \(rank) sent an outcome header \(header.serialized()) that is not for a client of round \(round)")
        }
        let outcome = try FederatedWire.decodeOutcome(parts[1])
        guard outcome.client == client else { throw TrainingError("backend=mpi: rank \(rank) sent client \(outcome.client)'s outcome under client \(client)") }
        return (client, Int(passes), outcome)
    }
}

/// A training rank's sign of life while it trains: a heartbeat to rank 0 after a step when a second has
/// passed since its last message.
final class MPIHeartbeat: TrainerCallback {
    let transport: MPITransport
    private var last = Date()

    init(_ transport: MPITransport) { self.transport = transport }

    /// Records that a message just went to rank 0.
    func sent() { last = Date() }

    func afterStep(_ loop: LoopState, _ step: StepState) throws {
        guard Date().timeIntervalSince(last) >= 1 else { return }
        try transport.send(Data(), to: 0, tag: .heartbeat)
        sent()
    }
}
