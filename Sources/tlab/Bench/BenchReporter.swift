import Foundation
import TrainingLab

/// Prints benchmark results as an aligned table or as JSON lines (`name`, `shape`, `seconds`, a rate,
/// and `ref_ratio` = reference time / ours, > 1 when we are faster). Only references timed in the same run are
/// reported; the comparison with PyTorch is `make bench-peer` (bench/), measured side by side on the same machine.
struct BenchReporter {
    let json: Bool
    let bandwidthGBps: Double

    /// The machine first (a {"machine": ...} line in JSON mode), so that every result can be read against it.
    func header(machine: MachineReport) {
        let fields: [(String, Any)] = [("name", "stream_triad"), ("shape", "3x16M f32"), ("gbps", bandwidthGBps), ("threads", machine.openMPThreads)]
        if json {
            print(JSONValue.object([("machine", machine.json)]).serialized())
            if bandwidthGBps.isFinite { print(jsonLine(fields)) }
        } else {
            machine.summary.forEach { print($0) }
            if bandwidthGBps.isFinite { print("memory bandwidth (STREAM triad) \(format(bandwidthGBps)) GB/s") }
            print(pad("case", 34) + pad("shape", 34) + pad("ms", 10) + pad("rate", 18) + "ratios")
        }
    }

    func report(_ benchCase: BenchCase, seconds: Double, referenceSeconds: Double?) {
        var fields: [(String, Any)] = [("name", benchCase.name), ("shape", benchCase.shape), ("seconds", seconds)]
        var rate: String
        switch benchCase.work {
        case .flops(let f):
            fields.append(("gflops", f / seconds / 1e9)); rate = "\(format(f / seconds / 1e9)) GFLOP/s"
        case .bytes(let b):
            let gbps = b / seconds / 1e9
            fields.append(("gbps", gbps)); fields.append(("bandwidth_fraction", gbps / bandwidthGBps))
            rate = "\(format(gbps)) GB/s (\(format(100 * gbps / bandwidthGBps))%)"
        case .elements(let e):
            fields.append(("melems_per_s", e / seconds / 1e6)); rate = "\(format(e / seconds / 1e6)) Melem/s"
        case .images(let i):
            fields.append(("images_per_s", i / seconds)); rate = "\(format(i / seconds)) img/s"
        }
        var ratios: [String] = []
        if let referenceSeconds {
            fields.append(("ref_seconds", referenceSeconds)); fields.append(("ref_ratio", referenceSeconds / seconds))
            ratios.append("ref \(format(referenceSeconds / seconds))x")
        }
        if json { print(jsonLine(fields)) } else {
            print(pad(benchCase.name, 34) + pad(benchCase.shape, 34) + pad(format(seconds * 1e3), 10) + pad(rate, 18) + ratios.joined(separator: ", "))
        }
        fflush(stdout)
    }

    private func format(_ x: Double) -> String { String(format: x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.3g", x) }

    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

    private func jsonLine(_ fields: [(String, Any)]) -> String {
        let body = fields.map { key, value -> String in
            switch value {
            case let s as String: return "\"\(key)\":\"\(s)\""
            case let d as Double: return "\"\(key)\":\(d.isFinite ? String(format: "%.6g", d) : "null")"
            default: return "\"\(key)\":\(value)"
            }
        }
        return "{" + body.joined(separator: ",") + "}"
    }
}
