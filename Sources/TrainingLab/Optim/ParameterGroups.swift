/// Parameters an optimiser updates with their own learning-rate multiplier and weight decay (PyTorch's
/// param groups): no weight decay on biases and normalisation parameters, a smaller rate for a pretrained
/// backbone, and so on. An optimiser built from a plain parameter list has one group.
public struct ParameterGroup {
    public var name: String
    public var parameters: [(String, Tensor)]
    /// Multiplies the optimiser's `learningRate` (which the trainer's schedule sets) for this group.
    public var learningRateScale: Double
    /// This group's weight decay; nil takes the optimiser's `weightDecay`.
    public var weightDecay: Double?

    public init(_ name: String, _ parameters: [(String, Tensor)], learningRateScale: Double = 1, weightDecay: Double? = nil) {
        self.name = name
        self.parameters = parameters
        self.learningRateScale = learningRateScale
        self.weightDecay = weightDecay
    }

    /// Two groups: "decay" (the optimiser's weight decay) and "no_decay" (none) holding the tensors of rank
    /// 0 or 1, that is every bias and the scale and shift of normalisation layers, which weight decay
    /// would only pull towards zero without regularising anything.
    public static func decayAndNoDecay(_ parameters: [(String, Tensor)]) -> [ParameterGroup] {
        [ParameterGroup("decay", parameters.filter { $0.1.rank > 1 }),
         ParameterGroup("no_decay", parameters.filter { $0.1.rank <= 1 }, weightDecay: 0)]
    }
}

/// The parameters of an optimiser in groups, and the state tensors its update keeps per parameter
/// ("slots": SGD's momentum, AdamW's two moments), named "<parameter>.<slot>" in checkpoints. SGD and AdamW
/// share it so that grouping, checkpoint state and rebinding after model surgery behave the same in both.
struct OptimizerSlots {
    struct Entry {
        let name: String
        let tensor: Tensor
        let group: Int
        /// One tensor per slot name, or nil before the first update (and after a reset).
        var slots: [Tensor]?
    }

    /// Used in error messages.
    let optimizer: String
    let slotNames: [String]
    let groups: [ParameterGroup]
    var entries: [Entry]

    /// Checks that the groups are disjoint by name and have non-negative scales and decays.
    init(optimizer: String, slotNames: [String], groups: [ParameterGroup]) throws {
        var seen = Set<String>()
        for group in groups {
            guard group.learningRateScale >= 0, (group.weightDecay ?? 0) >= 0 else {
                throw TensorError("\(optimizer): group '\(group.name)' needs learningRateScale >= 0 and weightDecay >= 0")
            }
            let names = Set(group.parameters.map(\.0))
            if let shared = names.intersection(seen).sorted().first {
                throw TensorError("\(optimizer): parameter '\(shared)' is in more than one group")
            }
            seen.formUnion(names)
        }
        self.init(optimizer: optimizer, slotNames: slotNames, unchecked: groups)
    }

    /// Groups known to be valid (one group with the optimiser's rate and decay).
    init(optimizer: String, slotNames: [String], unchecked groups: [ParameterGroup]) {
        self.optimizer = optimizer
        self.slotNames = slotNames
        self.groups = groups
        entries = groups.enumerated().flatMap { g, group in
            group.parameters.map { Entry(name: $0.0, tensor: $0.1, group: g, slots: nil) }
        }
    }

    var parameters: [(String, Tensor)] { entries.map { ($0.name, $0.tensor) } }

    /// The learning rate and weight decay of entry `i` given the optimiser's values.
    func hyperparameters(of i: Int, learningRate: Double, weightDecay: Double) -> (learningRate: Float, weightDecay: Float) {
        let group = groups[entries[i].group]
        return (Float(learningRate * group.learningRateScale), Float(group.weightDecay ?? weightDecay))
    }

    var state: [(String, Tensor)] {
        entries.flatMap { entry -> [(String, Tensor)] in
            guard let slots = entry.slots else { return [] }
            return zip(slotNames, slots).map { ("\(entry.name).\($0)", $1) }
        }
    }

    /// Restores `state`; a parameter missing any of its slots starts afresh.
    mutating func loadState(_ state: [String: Tensor]) throws {
        for i in entries.indices {
            let p = entries[i].tensor
            let saved = slotNames.compactMap { state["\(entries[i].name).\($0)"] }
            guard saved.count == slotNames.count else { entries[i].slots = nil; continue }
            for (slot, t) in zip(slotNames, saved) where t.count != p.count {
                throw TensorError("\(optimizer) state \(entries[i].name).\(slot) has \(t.shape), parameter has \(p.shape)")
            }
            entries[i].slots = saved.map { $0.copy().reshapedStorage(p.shape) }
        }
    }
}
