/// A published training method, loaded from a plugin and run by name.
///
/// Two kinds, one family (the Composer / Flower pattern): an `InLoopMethod` reacts to the training loop's
/// events (see `TrainingEvent` for the loop) and leaves the loop to the host; a `LoopOwningMethod` runs
/// its stages on the same loop (`MethodContext.makeTrainer(model:stage:objective:loader:)`) with the same
/// building blocks. How each of the fourteen papers maps onto this design, and which pieces of the core it
/// uses (implemented: InfoBatch, SCoRe, LTD, FedSWA / FedMoSWA; the others are planned on these pieces):
///
/// | paper | kind | where it enters |
/// |---|---|---|
/// | InfoBatch | in-loop | epochStart (prunes the order), loss (scores from per-sample losses by index, sampleWeights); claims sampleOrder, lossWeights |
/// | SCoRe | loop-owning | stage "representation": two-view loader, an objective setting batchLoss (set loss), NonFiniteLossPolicy.skipStep; stage "probe": LinearProbe on a float-valued features dataset |
/// | LTD (+ TRADES, PGD-AT) | in-loop | fitStart (teacher on an unrecorded loop), batchStart (attack; LoopState.count(samplePasses:)), loss (soft targets, KL); claims inputs, loss |
/// | OTOv2 | in-loop | fitStart (groups from the module tree), beforeStep (DHSPG: skipUpdate + its own step), fitEnd (compressed model; Optimizer.rebind after surgery); claims optimizerStep, model |
/// | FedLoGe | loop-owning | a FederatedStrategy on FederatedDriver: personal heads as private state (sharedState, ClientState), an objective of three losses on detached features, local test sets, GLA-FR after the rounds |
/// | FedSWA / FedMoSWA (+ FedAvg, FedSAM) | loop-owning | FederatedStrategy on FederatedDriver: LocalTraining's per-step learning rate (ClientLearningRate.swaCycle), ControlVariateCorrection and GlobalNormClip, SharpnessAwareStep, control variates in ClientState and server vectors |
/// | STAtten | in-loop (model) | a plugin ModelBuilder of LIF layers and chunked spiking attention (permute, batched matmul); timestep_logits for anytime accuracy |
/// | DataDAM | loop-owning | synthetic images as a float-valued Dataset (replaceValues), attention maps via ForwardCapture, then a stage on the synthetic set |
/// | FlowAug + MacroStd | in-loop | a registered BatchTransform or batchStart (grid-sample), a DatasetDerivation with subgroup metadata, the Evaluator's MacroStd; claims inputs |
/// | AdaPT | in-loop | afterForward/afterBackward (quantised tensors), beforeStep (precision controller), parameter groups; claims optimizerStep |
/// | DεpS | loop-owning | StepState.accumulateGradients (several weighted subnet passes per step), BatchNormRecalibration before evaluation, RunCost |
/// | Hallucinator | loop-owning | two-view loader, an objective with extra feature-space positives, then a LinearProbe stage |
/// | SDDE | loop-owning | ensemble members trained in one loop, saliency from input gradients, MethodOutcome.members, an OOD set from a derivation |
/// | AOI-SNN | in-loop | a plugin event-SNN model on event frames (float-valued Dataset), a regulariser from published spikes (step.outputs), anytime accuracy for the cutoff |
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
