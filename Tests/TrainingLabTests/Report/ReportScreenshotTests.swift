import Foundation
import XCTest
import TrainingLab

/// The report as a browser draws it: scripts/report_screenshot.sh renders a report of two runs in a headless
/// browser, and scripts/png_colors.py counts the pixels of each run's colour in the PNG. Skipped, saying why,
/// where no browser (or no python3) is installed; `scripts/report_screenshot.sh --install` gets Debian's chromium.
final class ReportScreenshotTests: XCTestCase {
    func testTheBrowserDrawsEachRunsCurves() throws {
        func curve(_ scale: Double) -> [JSONValue] {
            (0..<20).map { e in
                let x = Double(e + 1)
                return .object([("epoch", .number(x - 1)), ("train_loss", .number(scale * 2 / x)),
                                ("test_accuracy", .number(1 - scale * 0.5 / x)), ("pruned_samples", .number(10 * (x - 1)))])
            }
        }
        let runs = [ReportRun(label: "first", path: "first", lines: curve(1), colorIndex: 0),
                    ReportRun(label: "second", path: "second", lines: curve(0.7), colorIndex: 1, dashIndex: 1)]
        let dir = TemporaryDirectory()
        let html = dir.path + "/report.html", png = dir.path + "/report.png"
        try AtomicFile.write(HTMLReport.render(ReportContent(runs: runs), generated: "test"), to: URL(fileURLWithPath: html))

        let shot = try shell(["sh", repositoryRoot + "/scripts/report_screenshot.sh", html, png, "1000,1400"])
        if shot.status == 77 { throw XCTSkip("no headless browser: \(shot.out)") }
        XCTAssertEqual(shot.status, 0, shot.out + shot.err)
        let unused = HTMLReport.palette[4]
        let count = try shell(["python3", repositoryRoot + "/scripts/png_colors.py", png, HTMLReport.palette[0], HTMLReport.palette[1], unused])
        if count.status == 127 { throw XCTSkip("no python3 to read the screenshot: \(count.err)") }
        XCTAssertEqual(count.status, 0, count.err)
        let pixels = try JSONValue.parse(count.out, source: "png_colors.py output")
        XCTAssertEqual(pixels["width"]?.doubleValue, 1000)
        // Three charts of 20-point curves per run: hundreds of pixels in each run's colour, none in a colour no run has.
        XCTAssertGreaterThan(pixels[HTMLReport.palette[0]]?.doubleValue ?? 0, 300, count.out)
        XCTAssertGreaterThan(pixels[HTMLReport.palette[1]]?.doubleValue ?? 0, 300, count.out)
        XCTAssertEqual(pixels[unused]?.doubleValue, 0, count.out)
    }
}
