import TrainingLab

extension BenchSuites {
    /// Fused optimiser updates over 16M floats (64 MiB per array, far beyond the caches): memory-bound, so
    /// the rate is bytes actually read + written per call, judged against the STREAM triad of the same run.
    /// Every call updates the same buffers in place (values drift but stay finite and normal).
    static var optim: [BenchCase] {
        let n = 16 << 20
        let f = Double(MemoryLayout<Float>.stride)
        return [
            // reads w, grad, buf; writes w, buf
            BenchCase(name: "sgd_update", shape: "16M f32, momentum 0.9, wd 5e-4", work: .bytes(5 * f * Double(n))) {
                let w = BenchBuffer(count: n, seed: 1), g = BenchBuffer(count: n, seed: 2), buf = BenchBuffer(count: n, seed: 3)
                return BenchBodies(body: {
                    try tlCheck(tl_optim_sgd_step(w.pointer, buf.pointer, g.pointer, nil, n, 1e-3, 0.9, 5e-4, 0, 0))
                })
            },
            // reads w, grad, buf, mask; writes w, buf (frozen elements are written back unchanged)
            BenchCase(name: "sgd_masked_update", shape: "16M f32, 50% mask, momentum 0.9, wd 5e-4", work: .bytes(6 * f * Double(n))) {
                let w = BenchBuffer(count: n, seed: 1), g = BenchBuffer(count: n, seed: 2), buf = BenchBuffer(count: n, seed: 3)
                let mask = BenchBuffer(count: n, seed: 4, low: 0, high: 1)
                for i in 0..<n { mask.pointer[i] = mask.pointer[i] < 0.5 ? 0 : 1 }
                return BenchBodies(body: {
                    try tlCheck(tl_optim_sgd_step(w.pointer, buf.pointer, g.pointer, mask.pointer, n, 1e-3, 0.9, 5e-4, 0, 0))
                })
            },
            // reads w, grad, m, v; writes w, m, v
            BenchCase(name: "adamw_update", shape: "16M f32, wd 0.01", work: .bytes(7 * f * Double(n))) {
                let w = BenchBuffer(count: n, seed: 1), g = BenchBuffer(count: n, seed: 2)
                let m = BenchBuffer(count: n, seed: 3, low: -0.1, high: 0.1), v = BenchBuffer(count: n, seed: 4, low: 0, high: 0.01)
                var step: Int64 = 0
                return BenchBodies(body: {
                    step += 1
                    try tlCheck(tl_optim_adamw_step(w.pointer, m.pointer, v.pointer, g.pointer, nil, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, step))
                })
            },
            // reads the gradients once (deterministic chunked sum in double)
            BenchCase(name: "grad_global_norm", shape: "16M f32 in 4 arrays", work: .bytes(f * Double(n))) {
                let parts = (0..<4).map { BenchBuffer(count: n / 4, seed: UInt64(10 + $0)) }
                let pointers: [UnsafePointer<Float>?] = parts.map { UnsafePointer($0.pointer) }
                let counts = [Int](repeating: n / 4, count: 4)
                var norm: Float = 0
                return BenchBodies(body: {
                    try withExtendedLifetime(parts) { try tlCheck(tl_optim_global_norm(&norm, pointers, counts, 4)) }
                    if !norm.isFinite { throw CoreError(status: 8, message: "grad_global_norm: norm \(norm)") }
                })
            },
        ]
    }
}
