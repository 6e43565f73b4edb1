import Foundation

/// One run of one method (or of several in-loop methods combined, "a+b"): resolved by name from the
/// registry, configured (base defaults, then each method's run defaults, then the user's settings),
/// validated before anything runs, then executed into a report.
public final class RunPlan {
    public let entries: [PluginRegistry.Entry]
    public let options: [OptionValues]
    public let config: RunConfig
    public let outputDirectory: URL?
    /// The models the run can name (the core's and the plugins').
    public let models: ModelCatalog
    /// Registered evaluation metrics the methods and the run ask for.
    public let evaluationMetrics: [EvaluationMetric]
    /// Registered augmentations the run selected.
    public let augmentations: [BatchTransform]
    /// The run's dataset SPEC, parsed with the registry's derivations.
    public let dataset: DatasetSpec
    /// Continue from the checkpoint in the output folder, if there is one.
    public var resume = false
    /// Stop after this many epochs (the checkpoint allows resuming); nil runs to the end.
    public var stopAfterEpochs: Int?
    /// Write into an output folder that holds files already, removing the previous run's (without it, and without
    /// `resume`, such a folder is refused).
    public var overwrite = false
    /// Request from another thread (Ctrl-C, a C caller) to stop at the next step; the report then says how far it got.
    public var stopRequest = StopRequest()
    public private(set) var report: JSONValue?
    /// Why and where the run stopped early, if it did (`stopAfterEpochs`, `stopRequest`); nil once it completed.
    public private(set) var stopped: RunStopped?

    /// `name` is one method or several joined by "+". `settings` are run options (model, epochs, ...);
    /// `optionAssignments` are "option=value" (or "method.option=value" when methods are combined).
    public init(registry: PluginRegistry, name: String, settings: [(String, JSONValue)] = [],
                optionAssignments: [String] = [], outputDirectory: URL? = nil) throws {
        let names = name.split(separator: "+").map(String.init)
        guard !names.isEmpty else { throw ConfigError("no method name given; available: \(registry.names.joined(separator: ", "))") }
        entries = try names.map { try registry.entry(named: $0) }
        try RunPlan.checkCombination(entries)

        var config = RunConfig()
        for entry in entries { for (key, value) in entry.descriptor.runDefaults { try config.set(key, value) } }
        for (key, value) in settings { try config.set(key, value) }
        self.config = config
        models = registry.models
        dataset = try DatasetSpec(parsing: config.dataset, derivations: registry.datasetDerivations.items)
        if let clients = dataset.clients, !entries.contains(where: { $0.descriptor.usesClients }) {
            throw ConfigError("dataset '\(config.dataset)': clients=\(clients) splits the training set across federated clients, but '\(names.joined(separator: "+"))' trains no clients and would silently train on everything; remove clients=\(clients) or run a federated method")
        }
        if entries.contains(where: { $0.descriptor.usesClients }) {
            _ = try FederatedSettings(config)
        } else {
            let defaults = RunConfig().json
            let federated = RunConfig.federatedOptionNames.filter { config.json[$0] != defaults[$0] }
            if !federated.isEmpty {
                throw ConfigError("run options \(federated.joined(separator: ", ")) configure federated rounds, but '\(names.joined(separator: "+"))' trains no clients; remove them or run a federated method")
            }
        }
        _ = try models.resolve(config.model)
        evaluationMetrics = try (entries.flatMap(\.descriptor.evaluationMetrics) + config.evaluationMetrics).reduce(into: []) { chosen, name in
            let metric = try registry.metrics.item(named: name)
            if !chosen.contains(where: { $0.name == name }) { chosen.append(metric) }
        }
        augmentations = try config.augmentations.map { try registry.augmentations.item(named: $0) }

        var perMethod: [String: [String]] = [:]
        for assignment in optionAssignments {
            let key = String(assignment.prefix { $0 != "=" })
            if entries.count > 1 {
                guard let dot = key.firstIndex(of: "."), names.contains(String(key[..<dot])) else {
                    throw ConfigError("--set \(assignment): with several methods, name the option as method.option (methods: \(names.joined(separator: ", ")))")
                }
                perMethod[String(key[..<dot]), default: []].append(String(assignment[assignment.index(after: dot)...]))
            } else {
                perMethod[names[0], default: []].append(assignment)
            }
        }
        options = try entries.map { entry in
            try OptionValues(specs: entry.descriptor.options, assignments: perMethod[entry.descriptor.name] ?? [], owner: entry.descriptor.name)
        }
        self.outputDirectory = outputDirectory
        // Last: backend=mpi joins the MPI job, after which an error must end the job (`execute`) rather than the process.
        if entries.contains(where: { $0.descriptor.usesClients }) {
            try FederatedBackends.check(config.backend)
        } else {
            try RunPlan.checkDataParallel(entries, backend: config.backend)
        }
    }

    /// A run without clients trains alone (backend=in-process) or data-parallel over the ranks of an MPI job
    /// (backend=mpi): only its main loop, so only in-loop methods that leave order, loss and step to the loop.
    static func checkDataParallel(_ entries: [PluginRegistry.Entry], backend: String) throws {
        guard backend != "in-process" else { return }
        let names = entries.map(\.descriptor.name).joined(separator: "+")
        guard backend == "mpi" else {
            throw ConfigError("run option 'backend' = '\(backend)' is invalid for '\(names)'; a run without clients knows in-process and mpi (data-parallel training)")
        }
        if let owner = entries.first(where: { $0.type is any LoopOwningMethod.Type }) {
            throw ConfigError("backend=mpi trains a run's main loop data-parallel, but '\(owner.descriptor.name)' runs its own loops")
        }
        if let claiming = entries.first(where: { !$0.descriptor.claims.isEmpty }) {
            let claims = claiming.descriptor.claims.map(\.rawValue).sorted().joined(separator: ", ")
            throw ConfigError("backend=mpi (data-parallel) needs methods that leave the step to the loop, so that the replicas' shards make one batch; '\(claiming.descriptor.name)' takes over \(claims)")
        }
        _ = try MPITransport.joined()
    }

    /// Loop-owning methods run alone; in-loop methods combine unless they claim the same thing.
    static func checkCombination(_ entries: [PluginRegistry.Entry]) throws {
        guard entries.count > 1 else { return }
        if let owner = entries.first(where: { $0.type is any LoopOwningMethod.Type }) {
            throw ConfigError("method '\(owner.descriptor.name)' runs its own loop and cannot be combined with others")
        }
        for (i, a) in entries.enumerated() {
            for b in entries[(i + 1)...] {
                let shared = a.descriptor.claims.intersection(b.descriptor.claims)
                if !shared.isEmpty {
                    throw ConfigError("methods '\(a.descriptor.name)' and '\(b.descriptor.name)' conflict: both take over \(shared.map(\.rawValue).sorted().joined(separator: ", "))")
                }
            }
        }
    }

    public var methodName: String { entries.map(\.descriptor.name).joined(separator: "+") }

    /// Whether this process writes the run's outputs and reports progress: always, except on MPI ranks > 0
    /// (known once `execute` ran).
    public private(set) var writesOutputs = true

    /// Loads the data, trains, evaluates the final model once, writes the output files and returns
    /// report.json's content. A run stopped by `stopAfterEpochs` returns (and writes) a report with
    /// "complete": false; its checkpoints let `resume` continue it. Under backend=mpi every rank executes the
    /// plan; rank 0 writes the outputs, and an error on any rank ends the whole job.
    @discardableResult
    public func execute(progress: ProgressSink? = nil) throws -> JSONValue {
        guard config.backend == "mpi" else { return try execute(progress: progress, transport: nil) }
        let transport = try MPITransport.joined()
        do {
            return try execute(progress: progress, transport: transport)
        } catch {
            transport.abort("\(error)")
        }
    }

    private func execute(progress: ProgressSink?, transport: MPITransport?) throws -> JSONValue {
        let started = Stopwatch()
        let usesClients = entries.contains { $0.descriptor.usesClients }
        writesOutputs = (transport?.rank ?? 0) == 0
        if transport != nil, !usesClients, resume {
            throw ConfigError("--resume of a data-parallel run (backend=mpi) is not supported: its checkpoint holds the one model every rank trained; resume it without mpirun and backend=mpi")
        }
        let directory = writesOutputs ? outputDirectory : nil
        let outputs = RunOutputs(directory: directory)
        try outputs.claim(resume: resume, overwrite: overwrite, configuration: configuration)
        let data = try dataset.load()
        try outputs.writeConfiguration(configuration)
        let context = MethodContext(config: config, options: options[0], data: data, outputDirectory: directory,
                                    progress: writesOutputs ? progress : nil, label: "\(methodName) seed \(config.seed)", models: models)
        context.resume = resume
        context.stopAfterEpochs = stopAfterEpochs
        context.stopRequest = stopRequest
        context.runConfiguration = configuration
        context.evaluator.metrics = evaluationMetrics
        context.augmentations = augmentations
        if let transport, !usesClients { context.replicas = MPIReplicaGroup(transport: transport) }

        var report: JSONValue = .object([
            ("method", .string(methodName)), ("model", .string(config.model)), ("dataset", .string(config.dataset)),
            ("epochs", .number(Double(config.epochs))), ("seed", .number(Double(config.seed))), ("options", optionsJSON),
            ("train_samples", .number(Double(data.train.count))),
        ])
        let outcome: MethodOutcome?
        do {
            outcome = try dispatch(context)
            RunStopped.markCompletion(of: &report, stopped: nil)
        } catch let stop as RunStopped {
            outcome = nil
            stopped = stop
            RunStopped.markCompletion(of: &report, stopped: stop)
        }
        report.set("sample_passes", .number(Double(context.cost.samplePasses)))
        if let outcome, writesOutputs {
            if context.cost.flops > 0 { report.set("flops", .number(Double(context.cost.flops))) }
            if let models = outcome.members ?? outcome.model.map({ [$0] }) {
                report.set("test", try finalEvaluation(of: models, reusing: outcome.members == nil ? outcome.evaluation : nil,
                                                       context: context, report: &report).json)
            }
            for (key, value) in outcome.report { report.set(key, value) }
        }
        report.set("wall_seconds", .number(started.seconds))
        if let model = outcome?.model {
            try outputs.writeModel(model, card: ModelCard(model: model, data: data, normalization: config.inputNormalization))
        }
        try outputs.writeReport(report)
        self.report = report
        return report
    }

    /// The final models' evaluation on the test set: the last epoch's, unless BatchNorm recalibration
    /// (`bn_recalibration`) changed the models, which are then evaluated after it.
    private func finalEvaluation(of models: [Module], reusing last: EvaluationReport?, context: MethodContext,
                                 report: inout JSONValue) throws -> EvaluationReport {
        guard config.bnRecalibration > 0 else { return try last ?? context.evaluator.evaluate(models, on: context.data) }
        let loader = DataLoader(dataset: context.data.train, batchSize: config.batchSize, augmentation: context.trainingAugmentation(),
                                seed: context.seed("recalibration"))
        let fed = try models.map { try BatchNormRecalibration.run($0, loader: loader, batches: config.bnRecalibration) }
        report.set("bn_recalibration_batches", .number(Double(fed.max() ?? 0)))
        return try context.evaluator.evaluate(models, on: context.data)
    }

    /// The method options of every method in the run, as config.json and report.json show them.
    private var optionsJSON: JSONValue {
        .object(zip(entries, options).map { entry, opts in (entry.descriptor.name, opts.json) })
    }

    /// The resolved configuration, defaults included: the method, every run option, every method option. config.json
    /// holds it (with the machine), `tlab run --print-config` prints it, `--config` reads it back
    /// (`ConfigurationDocument`), and checkpoints carry it for `--resume` to compare (`ResumeCheck`).
    public var configuration: JSONValue {
        .object([("method", .string(methodName)), ("config", config.json), ("options", optionsJSON)])
    }

    /// Runs a loop-owning method, or the run's main training loop with the in-loop methods as its callbacks.
    private func dispatch(_ context: MethodContext) throws -> MethodOutcome {
        if entries.count == 1, let owner = entries[0].type as? any LoopOwningMethod.Type {
            return try owner.init(options: options[0]).run(context)
        }
        let callbacks: [InLoopMethod] = try zip(entries, options).map { entry, opts in
            guard let type = entry.type as? any InLoopMethod.Type else {
                throw ConfigError("method '\(entry.descriptor.name)' is neither an in-loop nor a loop-owning method")
            }
            return try type.init(options: opts)
        }
        let model = try context.makeModel()
        let trainer = context.makeTrainer(model: model, callbacks: callbacks, stage: "")
        trainer.callbacksProvideLoss = entries.contains { $0.descriptor.claims.contains(.loss) }
        try trainer.fit()
        return MethodOutcome(model: model, report: trainer.fitReport.objectValue ?? [], evaluation: trainer.lastReport)
    }
}
