import Foundation
import TrainingLab

extension BenchSuites {
    /// Cross-entropy forward + backward (per-sample losses, mean upstream, label smoothing 0.1) on a batch
    /// of logits that fits in cache: the rate is logits per second. The reference is the same loss as
    /// plain single-threaded loops with libm exp/log (the straightforward implementation), in the same run.
    static var loss: [BenchCase] {
        [(128, 10), (128, 1000)].map { (n, c) in
            BenchCase(name: "ce_forward_backward_\(n)x\(c)", shape: "(\(n),\(c)) smoothing 0.1", work: .elements(Double(n * c))) {
                let logits = BenchBuffer(count: n * c, seed: 1, low: -4, high: 4)
                let dlogits = BenchBuffer(count: n * c, seed: 2)
                let loss = BenchBuffer(count: n, seed: 3)
                let labels = (0..<n).map { Int32(($0 * 7919) % c) }
                let dloss = [Float](repeating: 1 / Float(n), count: n)
                return BenchBodies(
                    body: {
                        try tlCheck(tl_loss_ce_forward(loss.pointer, logits.pointer, labels, n, c, 0.1, 1))
                        try tlCheck(tl_loss_ce_backward(dlogits.pointer, dloss, logits.pointer, labels, n, c, 0.1, 1))
                    },
                    reference: {
                        plainCrossEntropy(loss.pointer, dlogits.pointer, logits.pointer, labels, dloss, n, c, smoothing: 0.1)
                    })
            }
        }
    }
}

/// Label-smoothed cross-entropy forward and backward written plainly: max, exp, sum, log per row.
private func plainCrossEntropy(_ loss: UnsafeMutablePointer<Float>, _ dlogits: UnsafeMutablePointer<Float>,
                               _ logits: UnsafeMutablePointer<Float>, _ labels: [Int32], _ dloss: [Float],
                               _ n: Int, _ c: Int, smoothing: Float) {
    for i in 0..<n {
        let z = logits + i * c, g = dlogits + i * c
        var m = -Float.infinity
        for j in 0..<c { m = max(m, z[j]) }
        var s: Float = 0, zsum: Float = 0
        for j in 0..<c { s += expf(z[j] - m); zsum += z[j] }
        let lse = m + logf(s), y = Int(labels[i])
        loss[i] = lse - ((1 - smoothing) * z[y] + smoothing / Float(c) * zsum)
        for j in 0..<c {
            let t = (j == y ? 1 - smoothing : 0) + smoothing / Float(c)
            g[j] = dloss[i] * (expf(z[j] - lse) - t)
        }
    }
}
