import TrainingLab

extension BenchSuites {
    /// Fixed-point fake-quant of 16M floats (AdaPT quantises weights, activations and gradients every step):
    /// memory-bound, 4 bytes read + 4 written per element. Stochastic rounding draws a fresh offset per call.
    static var quant: [BenchCase] {
        let n = 16 << 20
        func fixed(_ name: String, _ rounding: tl_round_mode) -> BenchCase {
            BenchCase(name: name, shape: "16M f32, WL 8 FL 4", work: .bytes(8 * Double(n))) {
                let x = BenchBuffer(count: n, seed: 1, low: -10, high: 10), y = BenchBuffer(count: n, seed: 2)
                var offset: UInt64 = 0
                return BenchBodies(body: {
                    try tlCheck(tl_quant_fixed_forward(y.pointer, x.pointer, n, 8, 4, Int32(rounding.rawValue), 7, offset, nil))
                    offset &+= UInt64(n)
                })
            }
        }
        return [
            fixed("quant_fixed_nearest", TL_ROUND_NEAREST),
            fixed("quant_fixed_stochastic", TL_ROUND_STOCHASTIC),
            BenchCase(name: "quant_int8_fake_per_channel", shape: "256 x 64K f32", work: .bytes(12 * Double(n))) {
                // Two passes: max|x| per channel (read), then quantise (read + write).
                let x = BenchBuffer(count: n, seed: 3), y = BenchBuffer(count: n, seed: 4)
                return BenchBodies(body: { try tlCheck(tl_quant_int8_fake_forward(y.pointer, nil, x.pointer, 256, n / 256)) })
            },
            BenchCase(name: "quant_fixed_kl", shape: "1M f32, 150 bins, stochastic", work: .elements(Double(1 << 20))) {
                // AdaPT's push-down evaluates this a few times per layer and precision switch.
                let x = BenchBuffer(count: 1 << 20, seed: 5)
                return BenchBodies(body: {
                    var kl = 0.0
                    try tlCheck(tl_quant_fixed_kl(&kl, nil, x.pointer, 1 << 20, 150, 12, 8, Int32(TL_ROUND_STOCHASTIC.rawValue), 1, 0, 1e-10, 0))
                })
            },
        ]
    }
}
