/// A published training method, loaded from a plugin and run by name.
///
/// Two kinds, one family (the Composer / Flower pattern): an `InLoopMethod` reacts to the trainer's events
/// (see `TrainingEvent` for the loop) and leaves the loop to the trainer; a `LoopOwningMethod` drives its
/// own loop with the same building blocks (`MethodContext`: models, trainers, loaders, metrics). How each
/// of the fourteen specs in shared/methods maps onto this design (kind; events or loop; claims):
///
/// | spec | kind | where it enters |
/// |---|---|---|
/// | InfoBatch | in-loop | epochStart (prunes the order), loss (scores from per-sample losses by index, sampleWeights); claims sampleOrder, lossWeights |
/// | SCoRe | loop-owning | stage 1: two-view loader, encoder + head, set loss over the batch kernel; stage 2: linear probe |
/// | LTD (+ TRADES, PGD-AT) | in-loop | fitStart (teacher via context.makeTrainer), batchStart (attack, needs input gradients), loss (soft targets, KL); claims inputs, loss |
/// | OTOv2 | in-loop | fitStart (zero-invariant groups from the module tree), beforeStep/afterStep (DHSPG replaces the update: skipUpdate + own step), fitEnd (compressed model); claims optimizerStep, model |
/// | FedLoGe | loop-owning | rounds over clients (context.data.clients), each a trainer run on a client subset; server aggregation of named parameters |
/// | FedSWA / FedMoSWA | loop-owning | rounds; client trainers with a per-step lr callback and an afterBackward gradient correction |
/// | STAtten | in-loop (model) | a model from the zoo built of LIF layers and chunked spiking attention; loss on time-averaged logits |
/// | DataDAM | loop-owning | optimises synthetic pixels (input gradients, frozen re-initialised networks), then trains on them |
/// | FlowAug + MacroStd | in-loop | batchStart (replaces inputs by flow-augmented ones), evaluate (MacroStd over subgroups); claims inputs |
/// | AdaPT | in-loop | afterForward/afterBackward (quantised gradients), beforeStep (precision controller); claims optimizerStep |
/// | DεpS | loop-owning | supernet schedule: several forward/backward passes per step with weights, BN recalibration |
/// | Hallucinator | loop-owning | self-supervised two-view loss with extra feature-space positives, then a linear probe |
/// | SDDE | loop-owning | an ensemble trained jointly with a saliency-diversity term; ensemble metrics (ECE, OOD AUROC) |
/// | AOI-SNN | in-loop | loss (regulariser from per-layer spikes), evaluate (timestep cutoff) |
///
/// Methods that take over the same thing (`MethodClaim`) cannot be combined in one run; the rest can
/// ("infobatch+flowaug"), with "after" events unwinding in reverse registration order.
public protocol TrainingMethod: AnyObject {
    static var descriptor: MethodDescriptor { get }
    /// A method instance for one run, with validated options.
    init(options: OptionValues) throws
}

/// A method made of reactions to trainer events.
public protocol InLoopMethod: TrainingMethod, TrainerCallback {}

/// A method that runs its own loop. It returns its own report keys; the host adds the common ones.
public protocol LoopOwningMethod: TrainingMethod {
    func run(_ context: MethodContext) throws -> MethodOutcome
}

/// What a loop-owning method hands back: its final model, or the members of its ensemble, which the host
/// evaluates with the run's `Evaluator` (unless the method's last loop already did: `evaluation`), and the
/// keys it adds to the report. Sample passes and FLOPs are not report keys: the method counts them in
/// `MethodContext.cost` (its loops do so by themselves).
public struct MethodOutcome {
    /// The model written to model.safetensors (for an ensemble, whatever the method deploys).
    public var model: Module?
    /// Ensemble members, evaluated together (mean of softmax probabilities) and one by one.
    public var members: [Module]?
    public var report: [(String, JSONValue)]
    /// The final model's evaluation, when the method's last loop made it (the host then does not evaluate
    /// the test set a second time).
    public var evaluation: EvaluationReport?

    public init(model: Module?, members: [Module]? = nil, report: [(String, JSONValue)] = [], evaluation: EvaluationReport? = nil) {
        self.model = model
        self.members = members
        self.report = report
        self.evaluation = evaluation
    }
}

extension TrainingMethod {
    /// The method's name as typed by users.
    public static var name: String { descriptor.name }
}
