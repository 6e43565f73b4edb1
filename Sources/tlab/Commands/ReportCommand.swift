import ArgumentParser
import Foundation
import TrainingLab

/// `tlab report DIR...`: one self-contained report.html (tables and inline SVG plots) of run folders, compare
/// folders, or folders holding them. The work is `ReportContent.load` and `HTMLReport.render`.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a self-contained report.html: run and comparison tables, curves per epoch.")

    @Argument(help: "Run folders, compare folders, or folders holding them (runs/).") var folders: [String] = []
    @Option(help: "Output file (default: DIR/report.html for one folder, ./report.html for several).") var out: String?

    func validate() throws {
        guard !folders.isEmpty else { throw ValidationError("give at least one run or compare folder") }
    }

    func run() throws {
        let urls = folders.map { URL(fileURLWithPath: $0) }
        let content = try ReportContent.load(urls)
        let target = URL(fileURLWithPath: out ?? (folders.count == 1 ? urls[0].appendingPathComponent("report.html").relativePath : "report.html"))
        let generated = ISO8601DateFormatter().string(from: Date())
        try AtomicFile.write(HTMLReport.render(content, generated: generated), to: target)
        print("written: \(target.relativePath) (\(content.runs.count) runs, \(content.comparisons.count) comparisons)")
    }
}
