import ArgumentParser
import Foundation
import KernelTable
import TrainingLab

/// `tlab bench`: times every kernel and train-step case and prints rates and ratios against
/// references measured in the same run. The kernel table's cases first check their results against the
/// row's reference at the bench shape; a case that does not match is reported instead of timed, and the
/// command then fails. Use a release build.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmark the kernels and train steps.")

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    @Option(help: "Only cases whose name contains this string.")
    var filter: String?

    @Option(help: "Timed repeats per case; the median is reported.")
    var repeats = 5

    @Option(help: "OpenMP threads for the kernels.")
    var threads: Int?

    @Option(help: "wall (default) or cpu: process CPU time of all threads, steadier on a shared machine at 1 thread.")
    var clock = "wall"

    func run() throws {
        if let threads { try tlCheck(tl_set_num_threads(Int32(threads))) }
        guard let chosen = BenchClock(rawValue: clock) else { throw ValidationError("--clock must be wall or cpu, got '\(clock)'") }
        benchClock = chosen
        #if DEBUG
        FileHandle.standardError.write(Data("warning: debug build; benchmark with `swift build -c release`\n".utf8))
        #endif
        let cases = BenchSuites.all.filter { filter == nil || $0.name.contains(filter!) }
        // The bandwidth reference costs seconds; measure it only when a memory-bound case needs it.
        let needsBandwidth = cases.contains { if case .bytes = $0.work { return true }; return false }
        let bandwidth = needsBandwidth ? try measureBandwidth() : .nan
        let reporter = BenchReporter(json: json, bandwidthGBps: bandwidth)
        let machine = try MachineReport()
        if let warning = machine.blasWarning { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
        reporter.header(machine: machine)
        var invalid: [String] = []
        for benchCase in cases {
            let bodies: BenchBodies
            do {
                bodies = try benchCase.prepare()
            } catch let error as KernelValidationError {
                reportInvalid(benchCase, error)
                invalid.append(benchCase.name)
                continue
            }
            let seconds = try medianSeconds(repeats: repeats, bodies.body)
            let reference = try bodies.reference.map { try medianSeconds(repeats: repeats, $0) }
            reporter.report(benchCase, seconds: seconds, referenceSeconds: reference)
        }
        if !invalid.isEmpty { throw ValidationError("results differ from the reference, not timed: \(invalid.joined(separator: ", "))") }
    }

    /// A case whose results disagree with its reference: the failure in place of a time.
    private func reportInvalid(_ benchCase: BenchCase, _ error: KernelValidationError) {
        if json {
            print(JSONValue.object([("name", .string(benchCase.name)), ("shape", .string(benchCase.shape)),
                                    ("error", .string(error.description))]).serialized())
        } else {
            print("\(benchCase.name)  \(benchCase.shape)  NOT TIMED: \(error)")
        }
        fflush(stdout)
    }

    /// STREAM triad over 3 x 64 MiB: the bandwidth that memory-bound kernels are judged against.
    private func measureBandwidth() throws -> Double {
        let n = 16 << 20
        let a = BenchBuffer(count: n), b = BenchBuffer(count: n), c = BenchBuffer(count: n)
        let seconds = try medianSeconds(repeats: repeats) { try tlCheck(tl_bench_triad(a.pointer, b.pointer, c.pointer, 3, n)) }
        return 12.0 * Double(n) / seconds / 1e9
    }
}
