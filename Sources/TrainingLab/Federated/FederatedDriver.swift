import Foundation

/// The round loop every federated method shares (a loop-owning method's `run` is
/// `FederatedDriver(context:strategy:model:).run()`):
///
///     restore the checkpoint if the run resumes, else strategy.initialize(server)
///     for round r in next round ..< R:                                  // R = the run's epochs
///         clients = S distinct of N, seeded by (run seed, r), ascending
///         eta_r = lr * schedule(r / R)
///         broadcast = (x^r over the shared state, strategy.configure(round))          // configure_fit
///         outcomes = backend.train(tasks, broadcast)   // each client: FederatedClientRunner on the Trainer
///         failures: reported with id and reason; successes in client id order
///         if successes >= min_clients: strategy.aggregate(successes, failures); keep their client states
///         else: keep the previous global model and client states
///         every eval_every rounds and at the end: global test metrics, each client's personal model
///             (strategy.personalModel) on its local test set, absent classes masked
///         metrics.jsonl line of the round, checkpoint, stop if the --stop-after budget (in rounds) is used
///
/// A round's outcome depends only on the run seed, the round, the global model and the server and client
/// states, all of which the checkpoint holds, so a resumed run equals an uninterrupted one bit for bit.
public final class FederatedDriver {
    public let context: MethodContext
    public let strategy: FederatedStrategy
    public let settings: FederatedSettings
    public let server: FederatedServer
    /// Client datasets by client id (the run's client split).
    public let clients: [Dataset]
    public let runner: FederatedClientRunner
    /// State the server keeps per client id (clients aggregated at least once).
    public internal(set) var clientStates: [Int: ClientState] = [:]
    let backend: FederatedBackend
    let histograms: [[Int]]
    /// Per-client local test sets (`local_test` images each), or nil.
    let localTests: [Dataset]?
    var nextRound = 0
    var evaluations: [(round: Int, accuracy: Double)] = []
    /// Mean local accuracy of the last evaluation (with local test sets).
    var localAccuracy: Double?
    var failedClients = 0
    var skippedRounds = 0

    /// `model` is the global model x^0 (its builder's recipe lets clients copy it).
    public init(context: MethodContext, strategy: FederatedStrategy, model: Module) throws {
        let data = context.data
        settings = try FederatedSettings(context.config)
        guard let parts = data.clients else {
            throw ConfigError("dataset '\(context.config.dataset)': a federated run needs a client split; add clients=K[,alpha=A][,client-size=n] to the dataset SPEC")
        }
        guard settings.clientsPerRound <= parts.count else {
            throw ConfigError("run option 'clients_per_round' = \(settings.clientsPerRound) exceeds the \(parts.count) clients of dataset '\(context.config.dataset)'")
        }
        if let bad = settings.failures.first(where: { $0.client >= parts.count }) {
            throw ConfigError("run option 'fail_clients': \(bad) names client \(bad.client), but the split has clients 0..<\(parts.count)")
        }
        if let empty = parts.firstIndex(where: \.isEmpty) { throw ConfigError("dataset '\(context.config.dataset)': client \(empty) holds no samples") }
        self.context = context
        self.strategy = strategy
        clients = try data.train.clientDatasets(parts)
        histograms = FederatedSplit.classHistograms(parts, labels: data.train.labels, classCount: data.classCount)
        server = FederatedServer(model: model, sharedNames: strategy.sharedState(of: model).map(\.0), settings: settings)
        runner = FederatedClientRunner(context: context, strategy: strategy, clients: clients, template: model, settings: settings)
        backend = try FederatedBackends.make(settings.backend)
        if settings.localTestSize > 0 {
            let sets = try FederatedSplit.proportionalTestSets(testLabels: data.test.labels, classCount: data.classCount, histograms: histograms,
                                                               size: settings.localTestSize, seed: data.spec.dataSeed)
            localTests = try sets.enumerated().map { try data.test.subset($1, name: "\(data.test.name)-client\($0)") }
        } else {
            localTests = nil
        }
    }

    /// Runs the remaining rounds and returns the global model with the federated report keys. In a process that
    /// only serves a multi-process backend (an MPI rank > 0), trains the clients it is sent and returns no model.
    public func run() throws -> MethodOutcome {
        let processes = backend as? FederatedProcessBackend
        if let processes, !processes.runsRounds {
            try processes.serve(runner)
            return MethodOutcome(model: nil)
        }
        defer { processes?.endRun() }
        let schedule = try LearningRateSchedule(parsing: context.config.schedule)
        let checkpoint = context.checkpointURL(stage: "")
        try strategy.initialize(server)
        if let checkpoint, context.resume, FileManager.default.fileExists(atPath: checkpoint.path) {
            try loadCheckpoint(from: checkpoint)
            context.epochsCompleted += nextRound
        }
        if nextRound == 0 { logSplit() }
        var lastEvaluation: EvaluationReport?
        while nextRound < settings.rounds {
            lastEvaluation = try runRound(nextRound, schedule: schedule)
            nextRound += 1
            if let checkpoint { try saveCheckpoint(to: checkpoint) }
            context.epochsCompleted += 1
            if let stop = context.stopAfterEpochs, context.epochsCompleted >= stop, nextRound < settings.rounds {
                throw RunStopped(epochsCompleted: context.epochsCompleted)
            }
            if context.stopRequest.isRequested, nextRound < settings.rounds {
                throw RunStopped(epochsCompleted: context.epochsCompleted, cause: .interrupt)
            }
        }
        let lastThree = evaluations.suffix(3).map(\.accuracy)
        var report: [(String, JSONValue)] = [
            ("rounds", .number(Double(settings.rounds))), ("clients", .number(Double(clients.count))),
            ("clients_per_round", .number(Double(settings.clientsPerRound))),
            ("failed_clients", .number(Double(failedClients))), ("skipped_rounds", .number(Double(skippedRounds))),
            ("accuracy_last3", .number(lastThree.reduce(0, +) / Double(max(1, lastThree.count)))),
            ("evaluations", .array(evaluations.map { .object([("round", .number(Double($0.round))), ("accuracy", .number($0.accuracy))]) })),
            ("split", .object([("samples", .array(clients.map { .number(Double($0.count)) })),
                               ("class_histograms", .array(histograms.map { .array($0.map { .number(Double($0)) }) }))])),
        ]
        if let localAccuracy { report.append(("local_accuracy", .number(localAccuracy))) }
        return MethodOutcome(model: server.model, report: report + (try strategy.report(server)), evaluation: lastEvaluation)
    }

    /// The clients of round `r`: S distinct ids drawn by (run seed, r), ascending.
    public func sampledClients(round r: Int) -> [Int] {
        var generator = SeededGenerator(seed: context.seed("federated-sampling")).split(UInt64(r))
        return generator.sample(settings.clientsPerRound, from: clients.count).sorted()
    }

    /// One round; returns the global evaluation when the round evaluates.
    private func runRound(_ r: Int, schedule: LearningRateSchedule) throws -> EvaluationReport? {
        let started = Stopwatch()
        let sampled = sampledClients(round: r)
        let round = FederatedRound(index: r, count: settings.rounds,
                                   learningRate: context.config.lr * schedule.multiplier(at: Double(r) / Double(settings.rounds)), clients: sampled)
        let broadcast = RoundBroadcast(round: round, global: try server.sharedVector(), server: try strategy.configure(round, server: server))
        let tasks = sampled.map { ClientTask(client: $0, samples: clients[$0].count, state: clientStates[$0] ?? ClientState()) }
        let outcomes = try backend.train(tasks, broadcast: broadcast, runner: runner)
        guard outcomes.map(\.client) == sampled else {
            throw TrainingError("backend '\(settings.backend)' returned outcomes for clients \(outcomes.map(\.client)) in round \(r), expected \(sampled)")
        }
        var updates: [ClientUpdate] = [], failures: [ClientFailure] = []
        for outcome in outcomes {
            switch outcome {
            case .success(let update): updates.append(update)
            case .failure(let failure):
                failures.append(failure)
                context.log("round \(r): client \(failure.client) failed: \(failure.reason)")
            }
        }
        failedClients += failures.count

        var line: JSONValue = .object([("round", .number(Double(r))), ("rounds", .number(Double(settings.rounds))),
                                       ("lr", .number(round.learningRate)), ("clients", .array(sampled.map { .number(Double($0)) }))])
        line.set("succeeded", .array(updates.map { .number(Double($0.client)) }))
        line.set("failed", .array(failures.map { .object([("client", .number(Double($0.client))), ("reason", .string($0.reason))]) }))
        if updates.count >= settings.minClients {
            let metrics = try strategy.aggregate(round, updates: updates, failures: failures, server: server)
            for update in updates { clientStates[update.client] = update.state }
            line.set("aggregated", .bool(true))
            line.set("status", .string("aggregated \(updates.count) of \(sampled.count) clients" + (failures.isEmpty ? "" : "; left out the \(failures.count) that failed")))
            for (key, value) in metrics { line.set(key, value) }
        } else {
            skippedRounds += 1
            let status = "kept the previous global model: \(updates.count) of \(sampled.count) clients succeeded, min_clients is \(settings.minClients)"
            line.set("aggregated", .bool(false))
            line.set("status", .string(status))
            context.log("round \(r): \(status)")
        }
        // The local loops' figures, weighted by the clients' sample counts.
        let samples = Double(updates.reduce(0) { $0 + $1.samples })
        for key in ["train_loss", "train_accuracy"] where samples > 0 {
            line.set(key, .number(updates.reduce(0.0) { $0 + Double($1.samples) * ($1.metrics[key] ?? .nan) } / samples))
        }
        if let first = updates.first {
            line.set("local_lr_first", .number(first.metrics["first_lr"] ?? .nan))
            line.set("local_lr_mean", .number(first.metrics["mean_lr"] ?? .nan))
        }
        line.set("local_steps", .number(updates.reduce(0.0) { $0 + ($1.metrics["steps"] ?? 0) }))
        line.set("sample_passes", .number(Double(context.cost.samplePasses)))

        var evaluation: EvaluationReport?
        if (r + 1) % context.config.evalEvery == 0 || r == settings.rounds - 1 {
            var evaluator = context.evaluator
            evaluator.normalization = context.config.inputNormalization
            let report = try evaluator.evaluate([server.model], on: context.data)
            evaluation = report
            evaluations.append((r, report.test.accuracy))
            line.set("test_accuracy", .number(report.test.accuracy))
            line.set("test_nll", .number(report.test.nll))
            if localTests != nil {
                let accuracies = try localAccuracies { try strategy.personalModel($0, state: clientStates[$0], server: server) }
                localAccuracy = accuracies.reduce(0, +) / Double(accuracies.count)
                line.set("local_accuracy", .number(localAccuracy!))
                line.set("local_accuracies", .array(accuracies.map(JSONValue.number)))
            }
        }
        line.set("seconds", .number(started.seconds))
        line.set("label", .string(context.label))
        try context.metrics.append(line)
        return evaluation
    }

    /// Accuracy of `model(k)` on client k's local test set, for every client k: predictions are restricted to
    /// the classes of the client's training data (the others' logits count as -infinity; FedLoGe's protocol,
    /// with absence decided from the training histogram, not the test labels). Needs `local_test`.
    public func localAccuracies(_ model: (Int) throws -> Module) throws -> [Double] {
        guard let localTests else { throw ConfigError("local accuracies need local test sets: set the run option local_test=N") }
        return try localTests.enumerated().map { k, test in
            let logits = try Evaluation.logits(of: model(k), on: test, normalization: context.config.inputNormalization)
            return try top1Accuracy(logits: logits, labels: test.labels, classes: test.classCount, allowed: histograms[k].map { $0 > 0 })
        }
    }

    /// Prints the class histograms of the first three clients (the whole split goes to report.json).
    private func logSplit() {
        for (k, h) in histograms.prefix(3).enumerated() {
            context.log("client \(k): \(clients[k].count) samples, per class \(h.map(String.init).joined(separator: " "))")
        }
    }
}
