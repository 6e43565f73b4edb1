import Foundation
import TrainingLab

/// The checks every row gets, shared by the kernel tests and by `tlab bench`'s validation. Each returns
/// failure messages (empty = passed) that name what failed, the worst element and its two values; the
/// callers add the row, the shape and the ISA.
public enum KernelChecks {
    /// Every check of a row at every test shape under every ISA path it lists: forward against the
    /// reference, backward against the reference backward, 1 vs 2 threads bitwise, and finite differences
    /// at the row's gradient shapes. Messages start with "row [shape] isa X:".
    public static func run(_ row: KernelRow) -> [String] {
        var failures: [String] = []
        for isa in KernelISA.passes(row.isas) {
            KernelISA.with(isa) {
                for shape in row.shapes {
                    failures += prefixed(row, shape, isa) {
                        let c = try row.make(shape)
                        return try forward(row, c, shape) + backward(row, c, shape) + threads(c)
                    }
                }
                if let fd = row.finiteDifferences {
                    for shape in fd.shapes {
                        failures += prefixed(row, shape, isa) { try finiteDifferences(fd, try row.make(shape), shape, samples: nil) }
                    }
                }
            }
        }
        return failures
    }

    /// The outputs of one forward call against the reference (computed first, from the inputs as the call sees them).
    public static func forward(_ row: KernelRow, _ c: KernelCase, _ shape: KernelShape) throws -> [String] {
        c.reset()
        let expected = c.expectedOutputs()
        try c.runForward()
        return compare(c.outputs, expected, what: "output", slack: c.slackBodies) { (c.toleranceOverrides[$0] ?? row.tolerance).at(shape) }
    }

    /// The gradients of one backward call against the reference backward, when the case has one.
    public static func backward(_ row: KernelRow, _ c: KernelCase, _ shape: KernelShape) throws -> [String] {
        guard c.hasBackward else { return [] }
        c.reset()
        guard let expected = c.expectedGradients() else { return [] }
        try c.runForward()
        try c.runBackward()
        let fallback = row.backwardTolerance ?? row.tolerance
        return compare(c.gradients, expected, what: "gradient", slack: c.slackBodies) { (c.toleranceOverrides[$0] ?? fallback).at(shape) }
    }

    /// Forward (and backward) outputs with 1 and 2 threads, bitwise.
    public static func threads(_ c: KernelCase) throws -> [String] {
        func run(_ threads: Int32) throws -> [[UInt8]] {
            let previous = tl_get_num_threads()
            _ = tl_set_num_threads(threads)
            defer { _ = tl_set_num_threads(previous) }
            c.reset()
            try c.runForward()
            var out = c.outputs.map { $0.bytes }
            if c.hasBackward {
                try c.runBackward()
                out += c.gradients.map { $0.bytes }
            }
            return out
        }
        let one = try run(1), two = try run(2)
        let buffers = c.outputs + (c.hasBackward ? c.gradients : [])
        var failures: [String] = []
        for (k, b) in buffers.enumerated() where one[k] != two[k] {
            let width = KernelBuffer.stride(b.element)
            let first = zip(one[k], two[k]).enumerated().first { $0.element.0 != $0.element.1 }!.offset / width
            failures.append("\(b.name) differs between 1 and 2 threads, first at [\(first)]: \(value(one[k], b, first)) vs \(value(two[k], b, first))")
        }
        return failures
    }

    /// Central differences of L = sum over differentiable outputs of output · upstream against the backward,
    /// for every element of every differentiable input, or `samples` elements of each spread over it.
    public static func finiteDifferences(_ fd: FiniteDifferences, _ c: KernelCase, _ shape: KernelShape, samples: Int?) throws -> [String] {
        guard c.hasBackward else { return ["the row lists finite differences but the case has no backward"] }
        c.reset()
        try c.runForward()
        try c.runBackward()
        let analytic = c.gradients.map { $0.floats }
        func loss() -> Double {
            var total = 0.0
            for o in c.differentiableOutputs {
                let up = o.up
                for i in 0..<o.count where o[i].isFinite { total += o[i] * up[i] }
            }
            return total
        }
        var failures: [String] = []
        let tolerance = fd.tolerance.at(shape)
        for (k, input) in c.differentiableInputs.enumerated() {
            let indices = samples.map { s in Array(Set((0..<min(s, input.count)).map { $0 * input.count / min(s, input.count) })).sorted() }
                ?? Array(0..<input.count)
            var numeric: [Double] = []
            for i in indices {
                c.reset()
                let x = input.f[i], up = x + fd.step, down = x - fd.step
                input.f[i] = up
                try c.runForward()
                let lossUp = loss()
                c.reset()
                input.f[i] = down
                try c.runForward()
                numeric.append((lossUp - loss()) / (Double(up) - Double(down)))
            }
            let probed = KernelBuffer(name: input.grad.name, count: indices.count, element: .f32)
            for (j, i) in indices.enumerated() { probed.f[j] = analytic[k][i] }
            if let message = compareOne(probed, .all(numeric), tolerance: tolerance, slack: nil, what: "finite differences of") {
                failures.append(message + (samples == nil ? "" : " (sampled elements \(indices.prefix(8))...)"))
            }
        }
        return failures
    }

    /// What `tlab bench` runs before timing a row at a bench shape: the forward against the reference and,
    /// when there is a backward, its gradients against the reference backward or, without one, finite
    /// differences at `samples` elements of each input. Throws the failures as one error.
    public static func validate(_ row: KernelRow, _ c: KernelCase, _ shape: KernelShape, samples: Int = 4) throws {
        var failures = try forward(row, c, shape)
        if c.hasBackward {
            if c.hasReferenceBackward {
                failures += try backward(row, c, shape)
            } else if let fd = row.finiteDifferences {
                failures += try finiteDifferences(fd, c, shape, samples: samples)
            }
        }
        if !failures.isEmpty { throw KernelValidationError(row: row.name, shape: shape, failures: failures) }
    }

    // MARK: Helpers

    private static func prefixed(_ row: KernelRow, _ shape: KernelShape, _ isa: String, _ body: () throws -> [String]) -> [String] {
        let head = "\(row.name) [\(shape)] isa \(isa): "
        do { return try body().map { head + $0 } } catch { return [head + "kernel call failed: \(error)"] }
    }

    private static func compare(_ buffers: [KernelBuffer], _ expected: [String: Expected], what: String,
                                slack: [String: () -> [Double]], tolerance: (String) -> Tolerance) -> [String] {
        var failures = expected.keys.filter { key in !buffers.contains { $0.name == key } }.sorted()
            .map { "the reference gives '\($0)', which is not a \(what) of the case" }
        for b in buffers {
            guard let e = expected[b.name] else {
                failures.append("the reference gives no value for \(what) \(b.name)")
                continue
            }
            if let message = compareOne(b, e, tolerance: tolerance(b.name), slack: slack[b.name]?(), what: what) { failures.append(message) }
        }
        return failures
    }

    /// One buffer against its expected values: nil when every element is within the tolerance (plus its slack).
    static func compareOne(_ b: KernelBuffer, _ e: Expected, tolerance: Tolerance, slack: [Double]?, what: String) -> String? {
        let n = e.indices?.count ?? b.count
        guard e.values.count == n else { return "\(what) \(b.name): the reference gives \(e.values.count) values for \(n) elements" }
        var bad = 0, worst = -1, worstExcess = -Double.infinity
        for k in 0..<n {
            let i = e.indices?[k] ?? k
            let a = b[i], x = e.values[k], extra = slack?[i] ?? 0
            let bound = extra == 0 ? tolerance : Tolerance(abs: tolerance.abs + extra, rel: tolerance.rel)
            if bound.accepts(a, x) { continue }
            bad += 1
            let excess = (a - x).isNaN ? Double.infinity : abs(a - x) - bound.abs - bound.rel * abs(x)
            if excess > worstExcess || worst < 0 { (worst, worstExcess) = (k, excess) }
        }
        guard bad > 0 else { return nil }
        let at = e.indices?[worst] ?? worst
        return "\(what) \(b.name): \(bad)/\(n) elements outside \(tolerance); worst [\(at)] \(b[at]) vs expected \(e.values[worst])"
    }

    private static func value(_ bytes: [UInt8], _ b: KernelBuffer, _ i: Int) -> String {
        bytes.withUnsafeBytes { raw -> String in
            switch b.element {
            case .f32: return "\(raw.load(fromByteOffset: 4 * i, as: Float.self))"
            case .f64: return "\(raw.load(fromByteOffset: 8 * i, as: Double.self))"
            case .i32: return "\(raw.load(fromByteOffset: 4 * i, as: Int32.self))"
            case .i64, .size: return "\(raw.load(fromByteOffset: 8 * i, as: Int64.self))"
            case .u8: return "\(raw.load(fromByteOffset: i, as: UInt8.self))"
            case .i8: return "\(raw.load(fromByteOffset: i, as: Int8.self))"
            }
        }
    }
}

/// A row whose results at a bench shape disagree with its reference: `tlab bench` prints it instead of a time.
public struct KernelValidationError: Error, CustomStringConvertible {
    public let row: String
    public let shape: KernelShape
    public let failures: [String]

    public init(row: String, shape: KernelShape, failures: [String]) { (self.row, self.shape, self.failures) = (row, shape, failures) }

    public var description: String { "\(row) [\(shape)] does not match its reference: " + failures.joined(separator: "; ") }
}

/// The instruction-set paths of the kernels, selected per call by the environment variable TL_ISA.
public enum KernelISA {
    /// The paths of the kernels with AVX-512 variants (the AVX2 baseline is the build's).
    public static let vectorPaths = ["avx512", "avx2"]
    /// GEMM also has a portable path.
    public static let gemmPaths = ["avx512", "avx2", "portable"]

    public static let cpuHasAVX512: Bool = {
        var info = tl_cpu_info()
        guard tl_cpu_info_get(&info) == 0 else { return false }
        return info.avx512f != 0 && info.avx512dq != 0 && info.avx512bw != 0 && info.avx512vl != 0
    }()

    /// The paths this CPU can run.
    public static func passes(_ isas: [String]) -> [String] { isas.filter { $0 != "avx512" || cpuHasAVX512 } }

    /// Runs `body` with TL_ISA set to `isa`, restoring the previous value.
    public static func with<T>(_ isa: String, _ body: () throws -> T) rethrows -> T {
        let previous = getenv("TL_ISA").map { String(cString: $0) }
        setenv("TL_ISA", isa, 1)
        defer { if let previous { setenv("TL_ISA", previous, 1) } else { unsetenv("TL_ISA") } }
        return try body()
    }
}
