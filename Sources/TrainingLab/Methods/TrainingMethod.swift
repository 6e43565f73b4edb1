/// A published training method, loaded from a plugin and run by name.
///
/// Two kinds, one family (the Composer / Flower pattern):
/// - `InLoopMethod`: reacts to the trainer's events (see `TrainingEvent` for the loop) and leaves the loop
///   to the trainer. InfoBatch (epochStart, loss), SCoRe-style objectives (loss), LTD (batchStart, loss),
///   AdaPT (afterBackward, beforeStep), OTOv2 (beforeStep/afterStep with its own optimiser step),
///   Hallucinator (loss), FlowAug (batchStart), AOI-SNN (loss, evaluate), STAtten (model choice only).
/// - `LoopOwningMethod`: drives its own loop with the same building blocks (trainer, models, metrics):
///   FedLoGe and FedSWA/FedMoSWA (federated rounds over clients, each a trainer run), DataDAM (pixel
///   optimisation of a synthetic set, then training on it), SDDE (an ensemble with a joint loss),
///   DεpS (a supernet schedule), SCoRe (two stages: representation, then linear probe).
public protocol TrainingMethod: AnyObject {
    static var descriptor: MethodDescriptor { get }
    /// A method instance for one run, with validated options.
    init(options: MethodOptions) throws
}

/// A method made of reactions to trainer events.
public protocol InLoopMethod: TrainingMethod, TrainerCallback {}

/// A method that runs its own loop. It returns its own report keys; the host adds the common ones.
public protocol LoopOwningMethod: TrainingMethod {
    func run(_ context: RunContext) throws -> MethodOutcome
}

/// What a loop-owning method hands back: its final model (evaluated by the host like any run, if
/// given) and the keys it adds to the report.
public struct MethodOutcome {
    public var model: Module?
    public var report: [(String, JSONValue)]

    public init(model: Module?, report: [(String, JSONValue)] = []) {
        self.model = model
        self.report = report
    }
}

extension TrainingMethod {
    /// The method's name as typed by users.
    public static var name: String { descriptor.name }
}
