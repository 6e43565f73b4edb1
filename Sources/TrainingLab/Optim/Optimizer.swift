/// Updates parameters from their gradients. Implementations keep per-parameter state (momentum,
/// moments) keyed by parameter name, which checkpoints save and restore.
public protocol Optimizer: AnyObject {
    /// The parameters it updates, by name (the groups' parameters in order).
    var parameters: [(String, Tensor)] { get }
    /// The parameters with their learning-rate multiplier and weight decay.
    var groups: [ParameterGroup] { get }
    /// The learning rate of the next step (the trainer sets it from the schedule); groups scale it.
    var learningRate: Double { get set }
    /// One update from each parameter's `grad` (parameters without a gradient are left alone).
    func step() throws
    /// Per-parameter state tensors by "<parameter>.<slot>" name, for checkpoints.
    var state: [(String, Tensor)] { get }
    /// Restores state saved from `state` (same names and shapes).
    func loadState(_ state: [String: Tensor]) throws
    /// Steps taken (AdamW bias correction needs it), for checkpoints.
    var stepCount: Int { get set }
    /// Switches to new parameter tensors after model surgery (pruning, growing, replacing layers). The
    /// state of a parameter whose name persists is kept: unchanged if its shape is, restricted to `kept`
    /// indices if given for its name, reset otherwise; the report says which happened to each.
    @discardableResult
    func rebind(to groups: [ParameterGroup], kept: [String: KeptIndices]) throws -> RebindReport
}

extension Optimizer {
    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }
}
