import Foundation

/// The self-contained report.html of `tlab report`: a table of the runs, each comparison's table (mean ± std per
/// arm, difference and ratio against the reference arm), loss and accuracy curves per epoch with every run
/// overlaid, and a small chart for every other number the metrics lines carry (pruned samples, learning rate,
/// per-layer or per-client arrays ...). Inline SVG and CSS only: no scripts, fonts or files beside it.
public enum HTMLReport {
    /// Colours of runs (arms of a comparison share one), dash patterns of seeds.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    public static let dashes: [String?] = [nil, "6 3", "2 2", "9 3 2 3", "1 3"]
    /// The keys drawn large, in this order, before all others.
    static let mainKeys = ["train_loss", "test_nll", "train_accuracy", "test_accuracy"]

    /// What one chart shows: a metric of one stage ("" for the main loop) over epochs or rounds.
    public struct Chart {
        public let stage: String
        public let key: String
        public let xLabel: String
        public let series: [ChartSeries]
        /// The first and last x of the stage's lines over all runs.
        public let xSpan: [Double]

        public var title: String { stage.isEmpty ? key : "\(stage) / \(key)" }
        var isMain: Bool { HTMLReport.mainKeys.contains(key) }
    }

    /// One chart per (stage, key) that any run has numbers for: the main keys first, then the others in the order
    /// they first appear. A series per run (and per element of an array-valued key), x the 1-based epoch or round.
    public static func charts(_ runs: [ReportRun]) -> [Chart] {
        var order: [String] = [], keys: [String: (stage: String, key: String, round: Bool)] = [:]
        for run in runs {
            for line in run.lines {
                let stage = MetricScalars.stage(of: line)
                for scalar in MetricScalars.scalars(of: line) {
                    let id = stage + "\u{0}" + scalar.key
                    if keys[id] == nil { order.append(id) }
                    keys[id] = (stage, scalar.key, (keys[id]?.round ?? false) || line["round"] != nil)
                }
            }
        }
        let rank = { (id: String) in mainKeys.firstIndex(of: keys[id]!.key) ?? mainKeys.count }
        let sorted = order.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        return sorted.map { id in
            let (stage, key, round) = keys[id]!
            let xs = runs.flatMap { run in positions(run.lines.filter { MetricScalars.stage(of: $0) == stage }) }
            return Chart(stage: stage, key: key, xLabel: round ? "round" : "epoch", series: runs.flatMap { series(of: $0, stage: stage, key: key) },
                         xSpan: xs.isEmpty ? [] : [xs.min()!, xs.max()!])
        }
    }

    /// The x of each of a stage's lines: the 1-based epoch or round, else the line's place among them.
    static func positions(_ lines: [JSONValue]) -> [Double] {
        lines.enumerated().map { Double((MetricScalars.step(of: $1) ?? $0) + 1) }
    }

    /// The series of one run for a chart: one for a numeric key, one per element for an array-valued key.
    static func series(of run: ReportRun, stage: String, key: String) -> [ChartSeries] {
        var points: [Int?: [ChartSeries.Point]] = [:]
        let lines = run.lines.filter { MetricScalars.stage(of: $0) == stage }
        for (x, line) in zip(positions(lines), lines) {
            for scalar in MetricScalars.scalars(of: line) where scalar.key == key {
                points[scalar.index, default: []].append(.init(x: x, y: scalar.value))
            }
        }
        return points.keys.sorted { ($0 ?? -1) < ($1 ?? -1) }.map { index in
            ChartSeries(label: run.label + (index.map { " [\($0)]" } ?? ""), color: color(run), dash: dash(run),
                        opacity: index == nil ? 1 : 0.75, points: points[index]!.sorted { $0.x < $1.x })
        }
    }

    static func color(_ run: ReportRun) -> String { palette[run.colorIndex % palette.count] }
    static func dash(_ run: ReportRun) -> String? { dashes[run.dashIndex % dashes.count] }

    /// The whole document. `generated` is shown as is (a date), so the same content renders the same bytes.
    public static func render(_ content: ReportContent, title: String = "TrainingLab report", generated: String) -> String {
        let charts = charts(content.runs)
        var body = "<h1>\(HTMLText.escape(title))</h1>\n<p class=\"meta\">Generated \(HTMLText.escape(generated)) from "
            + (content.comparisons.map(\.path) + content.runs.filter { $0.comparison == nil }.map(\.path)).map { "<code>\(HTMLText.escape($0))</code>" }.joined(separator: ", ")
            + ".</p>\n"
        body += "<div class=\"legend sticky\">" + content.runs.map(legendEntry).joined() + "</div>\n"
        body += "<h2>Runs</h2>\n" + runsTable(content.runs)
        for comparison in content.comparisons { body += comparisonTable(comparison) }
        let main = charts.filter(\.isMain), others = charts.filter { !$0.isMain }
        if !main.isEmpty {
            body += "<h2>Loss and accuracy</h2>\n<div class=\"grid main\">" + main.map { figure($0, width: 560, height: 300, legend: true) }.joined() + "</div>\n"
        }
        if !others.isEmpty {
            body += "<h2>Other metrics</h2>\n<div class=\"grid small\">" + others.map { figure($0, width: 360, height: 210, legend: false) }.joined() + "</div>\n"
        }
        if charts.isEmpty { body += "<p>No numbers per epoch in these runs.</p>\n" }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTMLText.escape(title))</title>
        <style>\(style)</style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }

    static let style = """
    body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
    h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.4em 0 .5em;border-bottom:1px solid #ddd}
    .meta{color:#666;margin:0 0 1em}code{font-size:.9em}
    table{border-collapse:collapse;font-size:.9em;margin:.5em 0 1em}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
    th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:600;padding:.3em 0}
    .legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:.85em}.legend span{white-space:nowrap}
    .sticky{position:sticky;top:0;background:#fffe;padding:.4em 0;border-bottom:1px solid #eee;z-index:1}
    .grid{display:grid;gap:1em}.main{grid-template-columns:repeat(auto-fill,minmax(420px,1fr))}
    .small{grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
    figure{margin:0}figcaption{font-weight:600;font-size:.9em;margin-bottom:.2em}svg.chart{width:100%;height:auto;display:block}
    """

    static func figure(_ chart: Chart, width: Double, height: Double, legend: Bool) -> String {
        let svg = SVGChart(series: chart.series, xLabel: chart.xLabel, width: width, height: height, xSpan: chart.xSpan).svg
        let entries = legend ? "<div class=\"legend\">" + chart.series.map { legendEntry(label: $0.label, color: $0.color, dash: $0.dash) }.joined() + "</div>" : ""
        return "<figure><figcaption>\(HTMLText.escape(chart.title))</figcaption>\(svg)\(entries)</figure>\n"
    }

    static func legendEntry(_ run: ReportRun) -> String { legendEntry(label: run.label, color: color(run), dash: dash(run)) }

    static func legendEntry(label: String, color: String, dash: String?) -> String {
        let dashAttribute = dash.map { " stroke-dasharray=\"\(HTMLText.escape($0))\"" } ?? ""
        return "<span><svg width=\"26\" height=\"10\" viewBox=\"0 0 26 10\"><line x1=\"1\" y1=\"5\" x2=\"25\" y2=\"5\" stroke=\"\(HTMLText.escape(color))\" stroke-width=\"2\"\(dashAttribute)/></svg> \(HTMLText.escape(label))</span>"
    }

    /// A table with a header row; cells are escaped here.
    static func table(caption: String? = nil, header: [String], rows: [[String]]) -> String {
        var out = "<table>" + (caption.map { "<caption>\(HTMLText.escape($0))</caption>" } ?? "")
        out += "<tr>" + header.map { "<th>\(HTMLText.escape($0))</th>" }.joined() + "</tr>"
        for row in rows { out += "<tr>" + row.map { "<td>\(HTMLText.escape($0))</td>" }.joined() + "</tr>" }
        return out + "</table>\n"
    }

    /// One row per run: what ran and how it ended (report.json; config.json when the run left no report).
    static func runsTable(_ runs: [ReportRun]) -> String {
        func text(_ v: JSONValue?) -> String {
            switch v {
            case .string(let s)?: return s
            case .number(let x)?: return number(x)
            case .bool(let b)?: return b ? "yes" : "no"
            default: return ""
            }
        }
        let rows = runs.map { run -> [String] in
            let report = run.report, config = run.config?["config"]
            let epochs = MetricScalars.step(of: run.lines.last(where: { MetricScalars.stage(of: $0).isEmpty }) ?? .null).map { "\($0 + 1)" } ?? ""
            let planned = text(report?["epochs"] ?? config?["epochs"])
            return [run.label, text(report?["method"] ?? run.config?["method"]), text(report?["model"] ?? config?["model"]),
                    text(report?["dataset"] ?? config?["dataset"]), planned.isEmpty || epochs.isEmpty ? planned + epochs : "\(epochs)/\(planned)",
                    report == nil ? "no report" : text(report?["complete"] ?? .bool(true)),
                    text(report?["test"]?["accuracy"]), text(report?["test"]?["mean_class_accuracy"]), text(report?["test"]?["nll"]),
                    text(report?["test"]?["ece"]), text(report?["sample_passes"]), text(report?["wall_seconds"])]
        }
        return table(header: ["run", "method", "model", "dataset", "epochs", "complete", "test accuracy", "mean class acc.",
                              "test NLL", "ECE", "sample passes", "wall s"], rows: rows)
    }

    /// A comparison's table as `tlab compare` prints it: mean ± std per arm, then each other arm against the reference.
    static func comparisonTable(_ comparison: ReportComparison) -> String {
        let r = comparison.result
        let reference = r.arms.firstIndex(of: r.referenceArm) ?? 0
        let others = r.arms.indices.filter { $0 != reference }
        let header = ["metric"] + r.arms.map { $0 == r.referenceArm ? "\($0) (reference)" : $0 }
            + others.flatMap { ["\(r.arms[$0]) − ref", "\(r.arms[$0]) / ref"] }
        let rows = r.rows.map { row in
            [row.metric] + r.arms.indices.map { a in row.means[a].map { "\(number($0)) ± \(number(row.stds[a] ?? 0, digits: 2))" } ?? "n/a" }
                + others.flatMap { a in [row.differences[a].map { ($0 >= 0 ? "+" : "") + number($0) } ?? "n/a",
                                         row.ratios[a].map { String(format: "%.3f", $0) } ?? "n/a"] }
        }
        let caption = "compare \(r.method) (\(comparison.path)): seeds \(r.seeds.map(String.init).joined(separator: ", "))"
        return "<h2>Comparison: \(HTMLText.escape(r.method))</h2>\n" + table(caption: caption, header: header, rows: rows)
    }

    /// `digits` significant digits, as `tlab compare` prints them; whole numbers (counts) in full.
    static func number(_ x: Double, digits: Int = 4) -> String {
        guard x.isFinite else { return "n/a" }
        return x == x.rounded() && abs(x) < 1e15 ? String(format: "%.0f", x) : String(format: "%.\(digits)g", x)
    }
}
