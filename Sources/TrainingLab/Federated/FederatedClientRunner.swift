import Foundation

/// Trains one client for one round: a fresh copy of the architecture holding the broadcast global state,
/// the strategy's local training run on the one training loop (`Trainer`, an unrecorded loop) over the
/// client's data, then the client's update. Everything random is seeded from (run seed, round, client id),
/// so the result depends only on the task and the broadcast, wherever and in whatever order it runs.
public final class FederatedClientRunner {
    public let context: MethodContext
    public let strategy: FederatedStrategy
    /// The client datasets, by client id.
    public let clients: [Dataset]
    public let settings: FederatedSettings
    /// The architecture clients copy (its state is overwritten by the broadcast).
    let template: Module
    /// Events every client's local loop gets before the strategy's (an MPI training rank's heartbeat).
    public var loopCallbacks: [TrainerCallback] = []

    public init(context: MethodContext, strategy: FederatedStrategy, clients: [Dataset], template: Module, settings: FederatedSettings) {
        self.context = context
        self.strategy = strategy
        self.clients = clients
        self.template = template
        self.settings = settings
    }

    /// Trains `task`'s client from the broadcast. Throws when local training fails (the backend turns that
    /// into a `ClientFailure`), including a non-finite update.
    public func train(_ task: ClientTask, _ broadcast: RoundBroadcast) throws -> ClientUpdate {
        let round = broadcast.round
        let seed = SeededGenerator(seed: context.seed("federated-client")).split(UInt64(round.index)).split(UInt64(task.client)).seed
        // Built under the client's seed: layers that draw at construction (dropout streams) do not depend on history.
        let model = try ParameterInit.withSeed(seed) { try template.clone() }
        try broadcast.global.write(to: strategy.sharedState(of: model))
        let data = clients[task.client]
        let batchSize = context.config.batchSize
        let steps = settings.steps(samples: data.count, batchSize: batchSize)
        let client = ClientContext(task: ClientTask(client: task.client, samples: task.samples, state: task.state.copy()),
                                   broadcast: broadcast, model: model, steps: steps, config: context.config)
        let local = try strategy.localTraining(client)

        var config = context.config
        config.epochs = settings.localSteps > 0 ? 1 : settings.localEpochs
        let sampler: any Sampler = settings.localSteps > 0
            ? StepBudgetSampler(steps: settings.localSteps, batchSize: batchSize, seed: seed) : ShuffleSampler(seed: seed)
        let loader = DataLoader(dataset: data, batchSize: batchSize, sampler: sampler, augmentation: context.trainingAugmentation(), seed: seed)
        var callbacks: [TrainerCallback] = [LocalLearningRate(local.learningRate, steps: steps)]
        for failure in settings.failures where failure.client == task.client && failure.round == round.index {
            callbacks.append(InjectedFailureCallback(failure))
        }
        let trainer = context.makeTrainer(model: model, callbacks: callbacks + loopCallbacks + local.callbacks, config: config, test: .some(nil),
                                          optimizer: local.optimizer, label: "\(context.label) round \(round.index) client \(task.client)",
                                          objective: local.objective, loader: loader)
        trainer.gradientTransforms = local.gradientTransforms
        try trainer.fit()
        guard trainer.loop.globalStep == steps else {
            throw TrainingError("client \(task.client): local training took \(trainer.loop.globalStep) steps, expected \(steps)")
        }

        let trained = try ParameterVector(from: strategy.sharedState(of: model))
        let meanRate = (0..<steps).reduce(0.0) { $0 + local.learningRate($1, steps) } / Double(steps)
        // The loop's passes travel with the update: a backend that trains the client in another process adds them to the run's cost.
        var metrics: [String: Double] = ["steps": Double(steps), "first_lr": local.learningRate(0, steps), "mean_lr": meanRate,
                                         "sample_passes": Double(trainer.loop.samplePasses)]
        for key in ["train_loss", "train_accuracy"] { metrics[key] = trainer.history.last?[key]?.doubleValue }
        var update = ClientUpdate(client: task.client, samples: task.samples, vectors: ["model": try trained.subtracting(broadcast.global)],
                                  state: client.task.state, metrics: metrics)
        try strategy.finish(client, update: &update)
        if let bad = update.vectors.keys.sorted().first(where: { !update.vectors[$0]!.isFinite }) {
            throw TrainingError("client \(task.client): non-finite values in its update '\(bad)'")
        }
        return update
    }
}

/// Sets every local step's learning rate from the strategy's rule (step k of T).
final class LocalLearningRate: TrainerCallback {
    let rate: (Int, Int) -> Double
    let steps: Int

    init(_ rate: @escaping (Int, Int) -> Double, steps: Int) {
        self.rate = rate
        self.steps = steps
    }

    func beforeStep(_ loop: LoopState, _ step: StepState) throws { step.learningRate = rate(loop.globalStep, steps) }
}

/// Makes a client fail inside its local loop (`fail_clients`): an error at the first step, a NaN loss
/// term that the loop's non-finite check stops, or the end of the process that trains it (a lost MPI rank).
final class InjectedFailureCallback: TrainerCallback {
    let failure: InjectedFailure

    init(_ failure: InjectedFailure) { self.failure = failure }

    func batchStart(_ loop: LoopState, _ step: StepState) throws {
        switch failure.kind {
        case .error: throw TrainingError("injected failure (fail_clients=\(failure))")
        case .exit:
            FileHandle.standardError.write(Data("injected failure (fail_clients=\(failure)): this process exits while it trains client \(failure.client)\n".utf8))
            _exit(1)  // no exit handlers: the process vanishes as a crashed one does
        case .nonFiniteLoss: break
        }
    }

    func loss(_ loop: LoopState, _ step: StepState) throws {
        if failure.kind == .nonFiniteLoss { step.extraTerms.append(("injected_nan", Tensor(scalar: .nan))) }
    }
}
