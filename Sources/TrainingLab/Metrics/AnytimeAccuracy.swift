/// Accuracy after each timestep of a model that runs T steps (spiking networks, AOI-SNN): `instantaneous[t]`
/// uses the step's own logits z_t, `cumulative[t]` the accumulated output z_0 + ... + z_t (the argmax of the
/// running mean), what an early-exit ("anytime") reader would predict if it stopped after step t.
public struct AnytimeAccuracy: Equatable, Sendable {
    public var instantaneous: [Double]
    public var cumulative: [Double]

    /// From the per-step logits, one (N, C) row-major array per timestep.
    public init(steps: [[Float]], labels: [Int32], classes: Int) throws {
        guard !steps.isEmpty else { throw DataError(.invalidArgument, "AnytimeAccuracy: no timesteps") }
        var running = [Float](repeating: 0, count: steps[0].count)
        instantaneous = []
        cumulative = []
        for (t, logits) in steps.enumerated() {
            guard logits.count == running.count else {
                throw DataError(.shapeMismatch, "AnytimeAccuracy: timestep \(t) has \(logits.count) logits, timestep 0 has \(running.count)")
            }
            for k in running.indices { running[k] += logits[k] }
            instantaneous.append(try top1Accuracy(logits: logits, labels: labels, classes: classes))
            cumulative.append(try top1Accuracy(logits: running, labels: labels, classes: classes))
        }
    }

    public var json: JSONValue {
        .object([("instantaneous", .array(instantaneous.map(JSONValue.number))),
                 ("cumulative", .array(cumulative.map(JSONValue.number)))])
    }
}
