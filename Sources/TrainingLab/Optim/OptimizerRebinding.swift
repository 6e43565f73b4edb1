import CTrainingLab

/// The indices of a parameter that survived structured pruning: rows (output channels) along axis 0 and/or
/// columns (input channels) along axis 1, in the order they appear in the new tensor. nil keeps the axis whole.
public struct KeptIndices: Equatable, Sendable {
    public var axis0: [Int]?
    public var axis1: [Int]?

    public init(axis0: [Int]? = nil, axis1: [Int]? = nil) {
        self.axis0 = axis0
        self.axis1 = axis1
    }

    /// The elements of `t` at the kept indices, which must give `newShape` (copied exactly).
    func slice(_ t: Tensor, to newShape: [Int], name: String) throws -> Tensor {
        let old = t.shape
        let rows = axis0 ?? Array(0..<(old.first ?? 0))
        let columns = axis1 ?? (old.count > 1 ? Array(0..<old[1]) : [])
        var expected = old
        if !old.isEmpty { expected[0] = rows.count }
        if old.count > 1 { expected[1] = columns.count }
        guard !old.isEmpty, axis1 == nil || old.count > 1, expected == newShape else {
            throw TensorError("rebind: kept indices of '\(name)' (\(rows.count) along axis 0\(axis1.map { ", \($0.count) along axis 1" } ?? "")) "
                              + "turn its old shape \(old) into \(expected), but the new parameter has \(newShape)")
        }
        let inner = old.dropFirst().reduce(1, *)
        let byRows = Tensor(uninitializedShape: [rows.count, inner])
        try tlCheck(tl_gather_rows(byRows.pointer, t.pointer, rows.map(Int64.init), rows.count, old[0], inner))
        guard axis1 != nil else { return byRows.reshapedStorage(newShape) }
        let out = Tensor(uninitializedShape: newShape)
        let innermost = old.dropFirst(2).reduce(1, *), columnIndex = columns.map(Int64.init)
        for r in 0..<rows.count {
            try tlCheck(tl_gather_rows(out.pointer + r * columns.count * innermost, byRows.pointer + r * inner, columnIndex,
                                       columns.count, old[1], innermost))
        }
        return out
    }
}

/// What `rebind` did with the optimiser state of each parameter.
public struct RebindReport: Equatable, Sendable, CustomStringConvertible {
    /// Same name and shape: state carried over as it was.
    public var carried: [String] = []
    /// State (and mask) restricted to the kept indices.
    public var sliced: [String] = []
    /// Parameters that start with fresh state, with the reason.
    public var reset: [String: String] = [:]
    /// Old parameters that are gone, with their state.
    public var dropped: [String] = []

    public var description: String {
        var lines = ["rebind: \(carried.count) carried, \(sliced.count) sliced, \(reset.count) reset, \(dropped.count) dropped"]
        lines += reset.keys.sorted().map { "  reset \($0): \(reset[$0]!)" }
        lines += dropped.map { "  dropped \($0)" }
        return lines.joined(separator: "\n")
    }
}

extension OptimizerSlots {
    /// Moves to `newGroups` after model surgery, keeping the state (and the masks) of parameters whose
    /// name persists: as is when the shape is unchanged, sliced by `kept` when given, reset otherwise.
    mutating func rebind(to newGroups: [ParameterGroup], kept: [String: KeptIndices], masks: inout [String: Tensor]) throws -> RebindReport {
        let newNames = Set(newGroups.flatMap { $0.parameters.map(\.0) })
        if let unknown = kept.keys.sorted().first(where: { !newNames.contains($0) }) {
            throw TensorError("\(optimizer).rebind: kept indices given for '\(unknown)', which is not among the new parameters")
        }
        let old = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Built aside and committed at the end, so that a failed rebind leaves the optimiser as it was.
        var next = try OptimizerSlots(optimizer: optimizer, slotNames: slotNames, groups: newGroups)
        var nextMasks: [String: Tensor] = [:]
        var report = RebindReport()
        for i in next.entries.indices {
            let (name, shape) = (next.entries[i].name, next.entries[i].tensor.shape)
            guard let previous = old[name] else { report.reset[name] = "new parameter"; continue }
            let mask = masks[name]
            if let k = kept[name] {
                next.entries[i].slots = try previous.slots?.map { try k.slice($0, to: shape, name: name) }
                nextMasks[name] = try mask.map { try k.slice($0, to: shape, name: name) }
                report.sliced.append(name)
            } else if previous.tensor.shape == shape {
                next.entries[i].slots = previous.slots
                nextMasks[name] = mask
                report.carried.append(name)
            } else {
                report.reset[name] = "shape changed from \(previous.tensor.shape) to \(shape) and no kept indices were given"
                    + (mask == nil ? "" : "; its mask was dropped")
            }
        }
        report.dropped = old.keys.filter { !newNames.contains($0) }.sorted()
        self = next
        masks = nextMasks
        return report
    }
}

extension Optimizer {
    /// `rebind(to:kept:)` with each parameter in the group that held its name (new names join the first group).
    @discardableResult
    public func rebind(to parameters: [(String, Tensor)], kept: [String: KeptIndices] = [:]) throws -> RebindReport {
        let groupOf = Dictionary(groups.enumerated().flatMap { g, group in group.parameters.map { ($0.0, g) } },
                                 uniquingKeysWith: { first, _ in first })
        var regrouped = groups.map { ParameterGroup($0.name, [], learningRateScale: $0.learningRateScale, weightDecay: $0.weightDecay) }
        if regrouped.isEmpty { regrouped = [ParameterGroup("default", [])] }
        for (name, t) in parameters { regrouped[groupOf[name] ?? 0].parameters.append((name, t)) }
        return try rebind(to: regrouped, kept: kept)
    }
}
