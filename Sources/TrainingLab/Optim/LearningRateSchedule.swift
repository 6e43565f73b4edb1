import Foundation

/// A learning-rate multiplier as a function of training progress in [0, 1] (fraction of the run), so
/// epochs of different lengths (pruned epochs, federated rounds) follow the same curve.
public struct LearningRateSchedule: Equatable, Sendable {
    public enum Shape: Equatable, Sendable {
        case constant
        /// Multiply by `gamma` at each milestone (fractions of the run).
        case step(milestones: [Double], gamma: Double)
        /// Cosine from 1 down to `floor`.
        case cosine(floor: Double)
        /// PyTorch OneCycleLR (cosine annealing): from 1/divFactor up to 1 over `pctStart`, then down to
        /// 1/(divFactor * finalDivFactor).
        case oneCycle(pctStart: Double, divFactor: Double, finalDivFactor: Double)
    }

    public var shape: Shape
    /// Linear warm-up over this fraction of the run, from `warmupStart` times the scheduled value.
    public var warmup: Double
    public var warmupStart: Double

    public init(_ shape: Shape, warmup: Double = 0, warmupStart: Double = 0) {
        self.shape = shape
        self.warmup = warmup
        self.warmupStart = warmupStart
    }

    public static let constant = LearningRateSchedule(.constant)

    /// The multiplier of the base learning rate at `progress` (clamped to [0, 1]).
    public func multiplier(at progress: Double) -> Double {
        let p = min(max(progress, 0), 1)
        var m: Double
        switch shape {
        case .constant:
            m = 1
        case let .step(milestones, gamma):
            m = pow(gamma, Double(milestones.filter { p >= $0 - 1e-12 }.count))
        case let .cosine(floor):
            m = floor + (1 - floor) * 0.5 * (1 + cos(Double.pi * p))
        case let .oneCycle(pctStart, divFactor, finalDivFactor):
            let initial = 1 / divFactor, final = initial / finalDivFactor
            if p < pctStart {
                m = anneal(from: initial, to: 1, fraction: p / pctStart)
            } else {
                m = anneal(from: 1, to: final, fraction: (p - pctStart) / (1 - pctStart))
            }
        }
        if warmup > 0 && p < warmup { m *= warmupStart + (1 - warmupStart) * p / warmup }
        return m
    }

    private func anneal(from a: Double, to b: Double, fraction: Double) -> Double {
        b + (a - b) * 0.5 * (1 + cos(Double.pi * min(max(fraction, 0), 1)))
    }

    /// Parses `constant`, `step:0.5,0.75[:gamma]`, `cosine[:floor]`, `onecycle[:pct_start]`, each optionally
    /// followed by `+warmup:FRACTION`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "+").map(String.init)
        let fields = parts[0].split(separator: ":").map(String.init)
        func number(_ s: String) throws -> Double {
            guard let v = Double(s) else { throw ConfigError("schedule '\(text)': '\(s)' is not a number") }
            return v
        }
        switch fields[0] {
        case "constant": self.init(.constant)
        case "step":
            guard fields.count >= 2 else { throw ConfigError("schedule '\(text)': step needs milestones, e.g. step:0.5,0.75") }
            let milestones = try fields[1].split(separator: ",").map { try number(String($0)) }
            self.init(.step(milestones: milestones, gamma: fields.count > 2 ? try number(fields[2]) : 0.1))
        case "cosine": self.init(.cosine(floor: fields.count > 1 ? try number(fields[1]) : 0))
        case "onecycle":
            self.init(.oneCycle(pctStart: fields.count > 1 ? try number(fields[1]) : 0.3, divFactor: 25, finalDivFactor: 1e4))
        default:
            throw ConfigError("schedule '\(text)': expected constant, step:M1,M2[:gamma], cosine[:floor] or onecycle[:pct]")
        }
        if parts.count > 1 {
            let w = parts[1].split(separator: ":").map(String.init)
            guard w.count == 2, w[0] == "warmup" else { throw ConfigError("schedule '\(text)': expected +warmup:FRACTION") }
            warmup = try number(w[1])
        }
    }
}
