import Foundation
import XCTest
import TrainingLab

/// The pure core of `tlab report` (axes, SVG paths, escaping, which charts and series) and its reading of run
/// and compare folders.
final class ReportTests: XCTestCase {
    func testAxisTicksAreRoundAndCoverTheValues() {
        let a = ChartAxis(values: [0.23, 0.91], tickCount: 5)
        XCTAssertEqual(a.lower, 0.2, accuracy: 1e-12)
        XCTAssertEqual(a.upper, 1.0, accuracy: 1e-12)
        XCTAssertEqual(a.ticks.map(a.label), ["0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(a.fraction(0.6), 0.5, accuracy: 1e-12)

        let loss = ChartAxis(values: [0.84, 1.88], tickCount: 6)
        XCTAssertEqual(loss.ticks.map(loss.label), ["0.8", "1.0", "1.2", "1.4", "1.6", "1.8", "2.0"])

        let epochs = ChartAxis(values: [1, 2, 3], tickCount: 7, integral: true)
        XCTAssertEqual(epochs.ticks, [1, 2, 3], "epochs never get fractional ticks")
        XCTAssertEqual(epochs.ticks.map(epochs.label), ["1", "2", "3"])

        let negative = ChartAxis(values: [-3, 7], tickCount: 5)
        XCTAssertEqual(negative.ticks, [-4, -2, 0, 2, 4, 6, 8])
        XCTAssertEqual(negative.label(0), "0")

        let tiny = ChartAxis(values: [0.0002, 0.048], tickCount: 5)
        XCTAssertEqual(tiny.ticks.map(tiny.label), ["0.00", "0.01", "0.02", "0.03", "0.04", "0.05"])

        let large = ChartAxis(values: [1000, 48_000], tickCount: 5)
        XCTAssertEqual(large.ticks.map(large.label), ["0k", "10k", "20k", "30k", "40k", "50k"])
        let millions = ChartAxis(values: [0, 2.5e6], tickCount: 5)
        XCTAssertEqual(millions.label(1.5e6), "1.5M")
    }

    func testAxisOfOneValueOrNoneIsABand() {
        let one = ChartAxis(values: [5])
        XCTAssertLessThan(one.lower, 5)
        XCTAssertGreaterThan(one.upper, 5)
        let zero = ChartAxis(values: [0, 0])
        XCTAssertLessThan(zero.lower, 0)
        XCTAssertGreaterThan(zero.upper, 0)
        let none = ChartAxis(values: [.nan, .infinity])
        XCTAssertEqual(none.lower, 0)
        XCTAssertEqual(none.upper, 1)
    }

    func testChartPathMapsDataToThePlotArea() {
        let s = ChartSeries(label: "run", color: "#1f77b4", points: [.init(x: 1, y: 0), .init(x: 2, y: 0.5), .init(x: 3, y: 1)])
        let chart = SVGChart(series: [s], xLabel: "epoch", width: 300, height: 200)
        XCTAssertEqual(chart.xAxis.ticks.first, 1)
        XCTAssertEqual(chart.xAxis.ticks.last, 3)
        XCTAssertEqual(chart.yAxis.lower, 0)
        XCTAssertEqual(chart.yAxis.upper, 1)
        // Plot area 54...288 x 8...166: the first point at its bottom-left corner, the last top-right, the middle one in the middle.
        XCTAssertEqual(chart.pathData(s), "M54 166 L171 87 L288 8")
        let svg = chart.svg
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.contains("stroke=\"#1f77b4\""))
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 3, "a marker per point while there are few")
        XCTAssertEqual(svg.components(separatedBy: "<text").count - 1, chart.xAxis.ticks.count + chart.yAxis.ticks.count + 1)
    }

    func testManyPointsGetNoMarkers() {
        let s = ChartSeries(label: "long", color: "#000", points: (1...100).map { .init(x: Double($0), y: Double($0 % 7)) })
        XCTAssertFalse(SVGChart(series: [s], xLabel: "epoch").svg.contains("<circle"))
    }

    func testEscaping() {
        XCTAssertEqual(HTMLText.escape("a<b>&\"c\" 'd'"), "a&lt;b&gt;&amp;&quot;c&quot; &#39;d&#39;")
        XCTAssertEqual(HTMLText.escape("tab\there\u{1}"), "tab\there\u{FFFD}")
        XCTAssertEqual(HTMLText.escape("ünï €"), "ünï €")
    }

    /// A run whose label and metric names try to break out of the markup.
    static let hostile = ReportRun(label: "<script>alert(1)</script>", path: "runs/x", lines: [
        .object([("epoch", 0), ("train_loss", 1.0), ("a\"b<c>", 2.0), ("label", "</svg>")]),
        .object([("epoch", 1), ("train_loss", 0.5), ("a\"b<c>", 3.0)]),
    ], report: .object([("method", "<b>m</b>"), ("complete", .bool(false))]))

    func testReportEscapesEveryText() {
        let html = HTMLReport.render(ReportContent(runs: [ReportTests.hostile]), title: "R & D", generated: "<now>")
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("<b>m"))
        XCTAssertFalse(html.contains("a\"b<c>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("a&quot;b&lt;c&gt;"))
        XCTAssertTrue(html.contains("<title>R &amp; D</title>"))
        XCTAssertTrue(html.contains("&lt;now&gt;"))
        // Self-contained: nothing fetched from elsewhere.
        for outside in ["src=", "href=", "url(", "@import", "<link", "<script"] { XCTAssertFalse(html.contains(outside), outside) }
        XCTAssertEqual(html.components(separatedBy: "<svg").count, html.components(separatedBy: "</svg>").count)
    }

    func testChartsPerKeyAndStageMainKeysFirst() {
        let a = ReportRun(label: "a", path: "a", lines: [
            .object([("epoch", 0), ("lr", 0.1), ("pruned_samples", 0), ("train_loss", 2.0), ("test_accuracy", 0.5)]),
            .object([("epoch", 1), ("lr", 0.05), ("pruned_samples", 12), ("train_loss", 1.0), ("precision", .array([8, 4]))]),
            .object([("stage", "probe"), ("epoch", 0), ("train_loss", 0.7)]),
        ], colorIndex: 0)
        let b = ReportRun(label: "b", path: "b", lines: [.object([("round", 0), ("train_loss", 3.0)]), .object([("round", 1), ("train_loss", 2.0)])],
                          colorIndex: 1, dashIndex: 1)
        let charts = HTMLReport.charts([a, b])
        XCTAssertEqual(charts.map(\.title), ["train_loss", "probe / train_loss", "test_accuracy", "lr", "pruned_samples", "precision"])
        XCTAssertEqual(charts[0].xLabel, "round", "a key that some run counts in rounds")
        XCTAssertEqual(charts[0].series.map(\.label), ["a", "b"])
        XCTAssertEqual(charts[0].series[0].points, [.init(x: 1, y: 2), .init(x: 2, y: 1)], "x is the 1-based epoch")
        XCTAssertEqual(charts[0].series[1].color, HTMLReport.palette[1])
        XCTAssertEqual(charts[0].series[1].dash, HTMLReport.dashes[1])
        XCTAssertEqual(charts[1].series.map(\.points), [[.init(x: 1, y: 0.7)]])
        XCTAssertEqual(charts[2].xSpan, [1, 2], "a metric measured once still spans the stage's epochs")
        XCTAssertEqual(charts[2].series[0].points, [.init(x: 1, y: 0.5)])
        XCTAssertEqual(charts[4].series[0].points.map(\.y), [0, 12])
        XCTAssertEqual(charts[5].series.map(\.label), ["a [0]", "a [1]"])
        XCTAssertEqual(charts[5].series.map(\.points), [[.init(x: 2, y: 8)], [.init(x: 2, y: 4)]])
    }

    func testLoadsRunAndCompareFolders() throws {
        let dir = TemporaryDirectory()
        let root = URL(fileURLWithPath: dir.path)
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let line = { (epoch: Int, loss: Double) in "{\"epoch\":\(epoch),\"train_loss\":\(loss)}\n" }
        try write("single/metrics.jsonl", line(0, 2) + "\n" + line(1, 1))
        try write("single/report.json", #"{"method":"erm","epochs":2,"complete":true,"test":{"accuracy":0.75},"sample_passes":12800}"#)
        let reports = #"{"infobatch":[{"test":{"accuracy":0.7}},{"test":{"accuracy":0.8}}],"erm":[{"test":{"accuracy":0.6}},{"test":{"accuracy":0.6}}]}"#
        try write("cmp/compare.json", #"{"method":"infobatch","reference_arm":"erm","arms":["infobatch","erm"],"seeds":[0,1],"#
                  + #""rows":[{"metric":"test.accuracy"}],"reports":"# + reports + "}")
        for (arm, seed) in [("infobatch", 0), ("infobatch", 1), ("erm", 0)] { try write("cmp/\(arm)-seed\(seed)/metrics.jsonl", line(0, 1)) }

        let content = try ReportContent.load([root.appendingPathComponent("single"), root.appendingPathComponent("cmp")])
        XCTAssertEqual(content.runs.map(\.label), [root.appendingPathComponent("single").relativePath, "infobatch seed 0", "infobatch seed 1", "erm seed 0"])
        XCTAssertEqual(content.runs[0].lines.count, 2, "blank lines are skipped")
        XCTAssertEqual(content.runs.map(\.colorIndex), [0, 1, 1, 2], "arms share a colour")
        XCTAssertEqual(content.runs.map(\.dashIndex), [0, 0, 1, 0], "seeds differ by dash")
        let table = try XCTUnwrap(content.comparisons.first?.result.rows.first)
        XCTAssertEqual(table.means[0]!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(table.differences[0]!, 0.15, accuracy: 1e-12)
        let html = HTMLReport.render(content, generated: "now")
        XCTAssertTrue(html.contains("0.75 ± 0.071"), "mean ± std of the arm")
        XCTAssertTrue(html.contains("+0.15"))
        XCTAssertTrue(html.contains("1.250"), "ratio against the reference arm")
        XCTAssertTrue(html.contains("<td>erm</td>"), "the runs table names the method")
        XCTAssertTrue(html.contains("<td>2/2</td>"), "epochs done / planned")
        XCTAssertTrue(html.contains("<td>12800</td>"), "counts in full")

        // A folder of folders reads each of them; twice the same compare folder names each copy's runs apart.
        let parent = try ReportContent.load([root])
        XCTAssertEqual(parent.comparisons.count, 1)
        XCTAssertEqual(parent.runs.count, 4)
        let twice = try ReportContent.load([root.appendingPathComponent("cmp"), root.appendingPathComponent("cmp")])
        XCTAssertTrue(twice.runs[0].label.hasSuffix("cmp: infobatch seed 0"), twice.runs[0].label)
    }

    func testBadFoldersAndFilesNameThemselves() throws {
        let dir = TemporaryDirectory()
        let root = URL(fileURLWithPath: dir.path)
        func message(_ folders: [URL]) -> String {
            do { _ = try ReportContent.load(folders); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message([root.appendingPathComponent("missing")]).contains("missing: no such folder"))
        XCTAssertTrue(message([root]).contains("no compare.json or metrics.jsonl"))
        dir.write("file.txt", [1])
        XCTAssertTrue(message([root.appendingPathComponent("file.txt")]).contains("not a folder"))
        try FileManager.default.createDirectory(atPath: dir.path + "/run", withIntermediateDirectories: true)
        dir.write("run/metrics.jsonl", Array("{\"epoch\":0}\n{\"epoch\":1,}\n".utf8))
        XCTAssertTrue(message([root.appendingPathComponent("run")]).contains("metrics.jsonl line 2"), message([root.appendingPathComponent("run")]))
        dir.write("run/metrics.jsonl", [0x7B, 0xFF, 0x7D])
        XCTAssertTrue(message([root.appendingPathComponent("run")]).contains("cannot read as UTF-8"))
        try FileManager.default.createDirectory(atPath: dir.path + "/cmp", withIntermediateDirectories: true)
        dir.write("cmp/compare.json", Array("{\"method\":\"x\"}".utf8))
        XCTAssertTrue(message([root.appendingPathComponent("cmp")]).contains("not a tlab compare result"))
    }
}
