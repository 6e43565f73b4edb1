import Foundation

/// One axis of a chart: a domain widened to round numbers and the ticks inside it ("nice numbers": steps of
/// 1, 2 or 5 times a power of ten), with labels printed to the precision of the step, large ones with a
/// k, M or G suffix.
public struct ChartAxis: Equatable {
    public let lower: Double
    public let upper: Double
    public let ticks: [Double]
    /// Decimals of the tick labels, and the power of a thousand they are divided by (1, 1e3, 1e6, 1e9).
    public let decimals: Int
    public let unit: Double

    /// An axis over `values` (finite ones; none gives 0...1) with about `tickCount` ticks; `integral` keeps the
    /// step a whole number (epochs).
    public init(values: [Double], tickCount: Int = 5, integral: Bool = false) {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if low == high {
            // One value: a band around it, so the line sits in the middle rather than on an edge.
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        var step = ChartAxis.niceStep((high - low) / Double(max(tickCount, 1)))
        if integral { step = max(step.rounded(.up), 1) }
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        lower = first * step
        upper = last * step
        // Multiples of the step (not repeated sums) keep 0.1-steps free of accumulated rounding error.
        ticks = (Int(first)...Int(last)).map { Double($0) * step }
        let largest = max(abs(lower), abs(upper))
        // Plain numbers up to 9999; beyond, thousands, millions or billions.
        unit = largest < 1e4 ? 1 : [1e9, 1e6, 1e3].first { largest >= $0 } ?? 1
        decimals = max(0, min(12, Int((-log10(step / unit)).rounded(.up))))
    }

    /// The round number (1, 2 or 5 times a power of ten) nearest above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let residual = raw / magnitude
        return (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10) * magnitude
    }

    /// Where `value` falls from 0 (lower) to 1 (upper).
    public func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }

    public func label(_ value: Double) -> String {
        var text = String(format: "%.\(decimals)f", value / unit)
        if text.hasPrefix("-"), Double(text) == 0 { text.removeFirst() }
        return text + (unit == 1e9 ? "G" : unit == 1e6 ? "M" : unit == 1e3 ? "k" : "")
    }
}
