import CTrainingLab

/// Multi-step leaky integrate-and-fire neurons over time-major input (T, ...): membrane
/// v[t] = decay v[t-1] + x[t] (or the tau form), spike s[t] = H(v[t] - threshold), hard or soft reset;
/// backward through time with a surrogate derivative of H. The membrane starts from the carried state
/// (zero after `resetState()`) and the final membrane is kept, so a caller can run step by step.
public final class LIF: Module {
    public var neuron: tl_lif_params
    /// Membrane carried between calls (nil: start from 0).
    public private(set) var state: Tensor?
    /// Keep the final membrane for the next call (stateful single-step inference).
    public var carriesState: Bool
    /// When set, each forward inside `ForwardCapture.run` publishes "<name>.spikes" (the spikes, with their
    /// gradient history, for spike-rate regularisers) and "<name>.membrane" (post-reset potentials, no history).
    public var publishedName: String?

    public init(decay: Float = 0.5, threshold: Float = 1, softReset: Bool = false, detachReset: Bool = false,
                surrogate: tl_lif_surrogate = TL_SURROGATE_FAST_SIGMOID, alpha: Float = 25, carriesState: Bool = false) {
        neuron = tl_lif_params(charge: Int32(TL_LIF_DECAY.rawValue), decay: decay, tau: 2, v_threshold: threshold, v_reset: 0,
                                   reset: Int32((softReset ? TL_LIF_RESET_SOFT : TL_LIF_RESET_HARD).rawValue),
                                   detach_reset: detachReset ? 1 : 0, surrogate: Int32(surrogate.rawValue), alpha: alpha)
        self.carriesState = carriesState
    }

    /// Forgets the carried membrane (between samples).
    public func resetState() { state = nil }

    /// x (T, ...) -> spikes (T, ...).
    override public func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 2 else { throw TensorError("LIF: needs time-major input (T, ...), got \(x.shape)") }
        let steps = x.shape[0], n = x.count / max(steps, 1)
        let spikes = Tensor(uninitializedShape: x.shape)
        let saved = Tensor(uninitializedShape: x.shape)
        var membrane: Tensor? = nil
        if carriesState {
            let carried = state.flatMap { $0.count == n ? $0 : nil } ?? Tensor(zeros: [n])
            membrane = carried.copy()
        }
        var p = neuron
        // The membrane trace costs a write of (T, N) floats: only when someone listens.
        let name = ForwardCapture.isCapturing ? publishedName : nil
        let potentials = name.map { _ in Tensor(uninitializedShape: x.shape) }
        try tlCheck(tl_lif_forward(spikes.pointer, saved.pointer, potentials?.pointer, nil, membrane?.pointer, x.pointer, steps, n, &p))
        if carriesState { state = membrane }
        let output = spikes.recording("lif", inputs: [x]) { g, _, _ in
            let dx = Tensor(uninitializedShape: x.shape)
            var p = p
            try tlCheck(tl_lif_backward(dx.pointer, nil, g.pointer, nil, nil, saved.pointer, steps, n, &p))
            return [dx]
        }
        if let name, let potentials {
            ForwardCapture.record("\(name).spikes", output)
            ForwardCapture.record("\(name).membrane", potentials)
        }
        return output
    }
}
