import Foundation

/// Median seconds per call of `body`: warm up, then time `repeats` batches of calls, each batch
/// long enough (>= 20 ms) for the clock's resolution not to matter.
func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var calls = 1
    while true {
        let t = try elapsed(calls: calls, body)
        if t >= 0.02 || calls >= 1 << 16 { break }
        calls *= 2
    }
    var samples: [Double] = []
    for _ in 0..<max(1, repeats) { samples.append(try elapsed(calls: calls, body) / Double(calls)) }
    samples.sort()
    let mid = samples.count / 2
    return samples.count % 2 == 1 ? samples[mid] : 0.5 * (samples[mid - 1] + samples[mid])
}

/// What `medianSeconds` measures: wall-clock time (default), or the CPU time of the whole process
/// (all threads), which on a machine shared with other jobs is far steadier than the wall clock at
/// one thread (time spent waiting for a core is not counted).
enum BenchClock: String { case wall, cpu }
nonisolated(unsafe) var benchClock = BenchClock.wall

private func now() -> Double {
    switch benchClock {
    case .wall: return Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
    case .cpu:
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

private func elapsed(calls: Int, _ body: () throws -> Void) rethrows -> Double {
    let start = now()
    for _ in 0..<calls { try body() }
    return now() - start
}
