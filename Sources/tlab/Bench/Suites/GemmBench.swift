import Foundation
import TrainingLab

extension BenchSuites {
    /// Square sgemm through tl_sgemm (OpenMP split over single-threaded OpenBLAS) against one direct
    /// cblas_sgemm call with OpenBLAS's own threads (same count) in the same run: ref_ratio = theirs / ours.
    static var gemm: [BenchCase] {
        [256, 512, 1024, 2048].map { n in
            BenchCase(name: "sgemm_\(n)", shape: "\(n)x\(n)x\(n) NN", work: .flops(2 * Double(n) * Double(n) * Double(n))) {
                let a = BenchBuffer(count: n * n, seed: 1), b = BenchBuffer(count: n * n, seed: 2)
                let c = BenchBuffer(count: n * n, seed: 3)
                return BenchBodies(
                    body: idleBeforeFirstCall { try tlCheck(tl_sgemm(0, 0, n, n, n, 1, a.pointer, n, b.pointer, n, 0, c.pointer, n)) },
                    reference: idleBeforeFirstCall {
                        try tlCheck(tl_sgemm_openblas_direct(0, 0, n, n, n, 1, a.pointer, n, b.pointer, n, 0, c.pointer, n))
                    })
            }
        }
    }
}

/// Wraps a body so that its first (untimed warm-up) call first waits 0.3 s. OpenMP's workers spin for
/// 200 ms after a parallel region and OpenBLAS's for about 0.1 s after a call; without the pause the
/// implementation timed second would share the cores with the spinning threads of the one timed first.
func idleBeforeFirstCall(_ body: @escaping () throws -> Void) -> () throws -> Void {
    var first = true
    return {
        if first { first = false; usleep(300_000) }
        try body()
    }
}
