import Foundation

/// One line of a chart: its points (x ascending), how it is drawn and the name its tooltip shows.
public struct ChartSeries: Equatable {
    public struct Point: Equatable {
        public let x: Double
        public let y: Double
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    public let label: String
    /// A CSS colour ("#1f77b4").
    public let color: String
    /// stroke-dasharray ("6 3"), nil for a solid line.
    public let dash: String?
    public let opacity: Double
    public let points: [Point]

    public init(label: String, color: String, dash: String? = nil, opacity: Double = 1, points: [Point]) {
        self.label = label
        self.color = color
        self.dash = dash
        self.opacity = opacity
        self.points = points
    }
}

/// A line chart as an inline SVG element: axes with nice ticks and grid lines, one path per series (with
/// point markers while there are few points, so a one-epoch run still shows), each with its label as tooltip.
/// Pure: the same series give the same text.
public struct SVGChart {
    public let series: [ChartSeries]
    public let xLabel: String
    public let width: Double
    public let height: Double
    public let xAxis: ChartAxis
    public let yAxis: ChartAxis
    /// The plot area inside the margins that hold the tick labels.
    public let plot: (left: Double, top: Double, right: Double, bottom: Double)
    /// Series with at most this many points get a marker on every point.
    static let markerLimit = 40

    /// `xSpan`: x values the axis covers even without points there (the run's first and last epoch, so that a
    /// metric measured once sits where it belongs).
    public init(series: [ChartSeries], xLabel: String, width: Double = 360, height: Double = 200, integralX: Bool = true,
                xSpan: [Double] = []) {
        self.series = series
        self.xLabel = xLabel
        self.width = width
        self.height = height
        let points = series.flatMap(\.points)
        xAxis = ChartAxis(values: points.map(\.x) + xSpan, tickCount: max(2, Int(width / 80)), integral: integralX)
        yAxis = ChartAxis(values: points.map(\.y), tickCount: max(2, Int(height / 45)))
        plot = (left: 54, top: 8, right: width - 12, bottom: height - 34)
    }

    /// Pixel coordinates of a data point.
    public func position(_ p: ChartSeries.Point) -> (x: Double, y: Double) {
        (plot.left + xAxis.fraction(p.x) * (plot.right - plot.left), plot.bottom - yAxis.fraction(p.y) * (plot.bottom - plot.top))
    }

    /// The path data of a series: a move to the first point, lines to the rest.
    public func pathData(_ s: ChartSeries) -> String {
        s.points.enumerated().map { i, p in
            let (x, y) = position(p)
            return (i == 0 ? "M" : "L") + SVGChart.coordinate(x) + " " + SVGChart.coordinate(y)
        }.joined(separator: " ")
    }

    public var svg: String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" font-family=\"sans-serif\" font-size=\"10\" fill=\"#333\" viewBox=\"0 0 \(SVGChart.coordinate(width)) \(SVGChart.coordinate(height))\">"
        out += "<rect x=\"\(c(plot.left))\" y=\"\(c(plot.top))\" width=\"\(c(plot.right - plot.left))\" height=\"\(c(plot.bottom - plot.top))\" fill=\"#fafafa\" stroke=\"#bbb\"/>"
        for tick in yAxis.ticks {
            let y = position(.init(x: xAxis.lower, y: tick)).y
            out += "<line x1=\"\(c(plot.left))\" x2=\"\(c(plot.right))\" y1=\"\(c(y))\" y2=\"\(c(y))\" stroke=\"#e6e6e6\"/>"
            out += "<text x=\"\(c(plot.left - 5))\" y=\"\(c(y + 3.5))\" text-anchor=\"end\">\(HTMLText.escape(yAxis.label(tick)))</text>"
        }
        for tick in xAxis.ticks {
            let x = position(.init(x: tick, y: yAxis.lower)).x
            out += "<line x1=\"\(c(x))\" x2=\"\(c(x))\" y1=\"\(c(plot.top))\" y2=\"\(c(plot.bottom))\" stroke=\"#e6e6e6\"/>"
            out += "<text x=\"\(c(x))\" y=\"\(c(plot.bottom + 14))\" text-anchor=\"middle\">\(HTMLText.escape(xAxis.label(tick)))</text>"
        }
        out += "<text x=\"\(c((plot.left + plot.right) / 2))\" y=\"\(c(height - 4))\" text-anchor=\"middle\" font-size=\"11\">\(HTMLText.escape(xLabel))</text>"
        for s in series where !s.points.isEmpty {
            let style = "stroke=\"\(HTMLText.escape(s.color))\"" + (s.dash.map { " stroke-dasharray=\"\(HTMLText.escape($0))\"" } ?? "")
                + (s.opacity < 1 ? " opacity=\"\(c(s.opacity))\"" : "")
            out += "<g \(style)><title>\(HTMLText.escape(s.label))</title><path d=\"\(pathData(s))\" fill=\"none\" stroke-width=\"1.6\"/>"
            if s.points.count <= SVGChart.markerLimit {
                for p in s.points {
                    let (x, y) = position(p)
                    out += "<circle cx=\"\(c(x))\" cy=\"\(c(y))\" r=\"2.2\" fill=\"\(HTMLText.escape(s.color))\"/>"
                }
            }
            out += "</g>"
        }
        return out + "</svg>"
    }

    private func c(_ v: Double) -> String { SVGChart.coordinate(v) }

    /// A coordinate with at most two decimals and no trailing zeros ("12.5", "40").
    static func coordinate(_ v: Double) -> String {
        var text = String(format: "%.2f", v)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}
