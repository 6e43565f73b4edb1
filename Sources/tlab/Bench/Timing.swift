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

private func elapsed(calls: Int, _ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<calls { try body() }
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}
