import TrainingLab

extension BenchSuites {
    /// LIF over T = 8 steps of 128 x 64 x 16 x 16 neurons, decay 0.9, subtracting reset (detached), fast sigmoid
    /// slope 25. Forward saves h; backward reads ds and h: 24 bytes per element for both. bench/torch_side.py times
    /// these equations in PyTorch, and snnTorch's Leaky, whose reset differs (`make bench-peer`).
    static var lif: [BenchCase] {
        let T = 8, N = 128 * 64 * 16 * 16
        let elements = Double(T * N)
        var params = tl_lif_params(charge: Int32(TL_LIF_DECAY.rawValue), decay: 0.9, tau: 2, v_threshold: 1, v_reset: 0,
                                   reset: Int32(TL_LIF_RESET_SOFT.rawValue), detach_reset: 1,
                                   surrogate: Int32(TL_SURROGATE_FAST_SIGMOID.rawValue), alpha: 25)
        let shape = "T 8 x 128x64x16x16"
        func buffers() -> (x: BenchBuffer, s: BenchBuffer, h: BenchBuffer, ds: BenchBuffer, dx: BenchBuffer) {
            (BenchBuffer(count: T * N, seed: 1, low: 0, high: 0.5), BenchBuffer(count: T * N, seed: 2), BenchBuffer(count: T * N, seed: 3),
             BenchBuffer(count: T * N, seed: 4), BenchBuffer(count: T * N, seed: 5))
        }
        return [
            BenchCase(name: "lif_forward_backward", shape: shape + ", fast-sigmoid", work: .elements(elements)) {
                let b = buffers()
                return BenchBodies(body: {
                    try tlCheck(tl_lif_forward(b.s.pointer, b.h.pointer, nil, nil, nil, b.x.pointer, T, N, &params))
                    try tlCheck(tl_lif_backward(b.dx.pointer, nil, b.ds.pointer, nil, nil, b.h.pointer, T, N, &params))
                })
            },
            BenchCase(name: "lif_forward", shape: shape + ", saves h", work: .bytes(12 * elements)) {
                let b = buffers()
                return BenchBodies(body: { try tlCheck(tl_lif_forward(b.s.pointer, b.h.pointer, nil, nil, nil, b.x.pointer, T, N, &params)) })
            },
            BenchCase(name: "lif_backward", shape: shape + ", fast-sigmoid", work: .bytes(12 * elements)) {
                let b = buffers()
                return BenchBodies(body: { try tlCheck(tl_lif_backward(b.dx.pointer, nil, b.ds.pointer, nil, nil, b.h.pointer, T, N, &params)) })
            },
        ]
    }
}
