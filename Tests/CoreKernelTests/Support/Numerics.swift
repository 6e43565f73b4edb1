import XCTest
import KernelTable
import TrainingLab

/// Shared helpers of the hand-written kernel tests: seeded inputs, closeness with a useful failure message,
/// finite differences, thread-count control and bad-argument checks.

/// `n` uniform floats in [low, high) from the core's counter-based generator (the kernel table's inputs).
func randomFloats(_ n: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
    kernelRandom(n, seed: seed, low: low, high: high)
}

/// Asserts |a - e| <= atol + rtol * |e| elementwise; on failure prints the worst and the first mismatches.
func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-4, atol: Float = 1e-5,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("count \(actual.count) != expected \(expected.count) \(message())", file: file, line: line)
        return
    }
    var bad: [Int] = []
    var worst = (index: -1, excess: Float(0))
    for i in actual.indices {
        let limit = atol + rtol * abs(expected[i])
        let err = abs(actual[i] - expected[i])
        if !(err <= limit) {
            bad.append(i)
            let excess = err.isNaN ? .infinity : err - limit
            if excess > worst.excess || worst.index < 0 { worst = (i, excess) }
        }
    }
    if !bad.isEmpty {
        let first = bad.prefix(5).map { "[\($0)] \(actual[$0]) vs \(expected[$0])" }.joined(separator: ", ")
        XCTFail("\(bad.count)/\(actual.count) mismatches; worst [\(worst.index)] \(actual[worst.index]) vs \(expected[worst.index]); first: \(first) \(message())",
                file: file, line: line)
    }
}

/// Asserts bitwise equality (thread-count independence of deterministic kernels).
func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ message: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message(), file: file, line: line)
    if let i = a.indices.first(where: { i in i < b.count && a[i].bitPattern != b[i].bitPattern }) {
        XCTFail("first bitwise difference at [\(i)]: \(a[i]) vs \(b[i]) \(message())", file: file, line: line)
    }
}

/// Central finite differences of a scalar function, evaluated in Double around float inputs.
func numericalGradient(at x: [Float], eps: Float = 1e-2, _ f: ([Float]) throws -> Double) rethrows -> [Float] {
    var probe = x
    var grad = [Float](repeating: 0, count: x.count)
    for i in x.indices {
        probe[i] = x[i] + eps
        let up = try f(probe)
        probe[i] = x[i] - eps
        let down = try f(probe)
        probe[i] = x[i]
        grad[i] = Float((up - down) / Double(2 * eps))
    }
    return grad
}

/// Runs `body` with the kernels limited to `n` OpenMP threads, restoring the previous count.
func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
    let previous = tl_get_num_threads()
    XCTAssertEqual(tl_set_num_threads(Int32(n)), 0)
    defer { _ = tl_set_num_threads(previous) }
    return try body()
}

/// Asserts that a core call failed with `expected` and left a message naming the function.
func assertFails(_ status: Int32, _ expected: tl_status, mentioning fragment: String? = nil,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(status, Int32(expected.rawValue), "status", file: file, line: line)
    let message = String(cString: tl_last_error())
    XCTAssertFalse(message.isEmpty, "tl_last_error is empty", file: file, line: line)
    if let fragment { XCTAssertTrue(message.contains(fragment), "'\(message)' does not mention '\(fragment)'", file: file, line: line) }
}
