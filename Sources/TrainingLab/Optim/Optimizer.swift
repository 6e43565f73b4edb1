/// Updates parameters from their gradients. Implementations keep per-parameter state (momentum,
/// moments) keyed by parameter name, which checkpoints save and restore.
public protocol Optimizer: AnyObject {
    /// The parameters it updates, by name.
    var parameters: [(String, Tensor)] { get }
    /// The learning rate of the next step (the trainer sets it from the schedule).
    var learningRate: Double { get set }
    /// One update from each parameter's `grad` (parameters without a gradient are left alone).
    func step() throws
    /// Per-parameter state tensors by "<parameter>.<slot>" name, for checkpoints.
    var state: [(String, Tensor)] { get }
    /// Restores state saved from `state` (same names and shapes).
    func loadState(_ state: [String: Tensor]) throws
    /// Steps taken (AdamW bias correction needs it), for checkpoints.
    var stepCount: Int { get set }
}

extension Optimizer {
    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }
}
