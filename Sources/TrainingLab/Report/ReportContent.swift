import Foundation

/// One run folder as `tlab report` reads it: its metrics.jsonl lines, and config.json and report.json when present.
public struct ReportRun {
    /// The name in legends and tables.
    public var label: String
    public let path: String
    /// The compare folder the run belongs to, nil for a run given on its own.
    public let comparison: String?
    public let lines: [JSONValue]
    public let config: JSONValue?
    public let report: JSONValue?
    /// Drawing style: the comparison arm (or standalone run) gives the colour, the seed the dash.
    public var colorIndex: Int
    public var dashIndex: Int

    public init(label: String, path: String, comparison: String? = nil, lines: [JSONValue], config: JSONValue? = nil,
                report: JSONValue? = nil, colorIndex: Int = 0, dashIndex: Int = 0) {
        self.label = label
        self.path = path
        self.comparison = comparison
        self.lines = lines
        self.config = config
        self.report = report
        self.colorIndex = colorIndex
        self.dashIndex = dashIndex
    }
}

/// A `tlab compare` output folder: its compare.json as a result, and the runs found beside it.
public struct ReportComparison {
    public let path: String
    public let result: ComparisonResult
}

/// Everything one report shows, from the folders named on the command line.
public struct ReportContent {
    public var runs: [ReportRun] = []
    public var comparisons: [ReportComparison] = []

    public init(runs: [ReportRun] = [], comparisons: [ReportComparison] = []) {
        self.runs = runs
        self.comparisons = comparisons
    }

    /// Reads each folder: a compare folder (compare.json), a run folder (metrics.jsonl), or a folder whose
    /// immediate subfolders are such folders (`runs/`). A folder that is none of these is an error naming it.
    public static func load(_ folders: [URL]) throws -> ReportContent {
        var content = ReportContent()
        for folder in folders {
            let found = try kind(of: folder).map { [($0, folder)] } ?? subfolders(of: folder)
            guard !found.isEmpty else {
                throw ConfigError("\(folder.path): no compare.json or metrics.jsonl here or in its subfolders (not a run or compare folder)")
            }
            for (kind, url) in found {
                if kind == .comparison { try content.addComparison(url) } else { try content.addRun(url, label: url.relativePath) }
            }
        }
        content.disambiguateLabels()
        return content
    }

    enum FolderKind { case run, comparison }

    private static func kind(of folder: URL) throws -> FolderKind? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else { throw ConfigError("\(folder.path): no such folder") }
        guard isDirectory.boolValue else { throw ConfigError("\(folder.path): not a folder (give a run or compare folder)") }
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("compare.json").path) { return .comparison }
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("metrics.jsonl").path) { return .run }
        return nil
    }

    private static func subfolders(of folder: URL) throws -> [(FolderKind, URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return try names.sorted().filter { !$0.hasPrefix(".") }.compactMap { name in
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            return try kind(of: url).map { ($0, url) }
        }
    }

    private mutating func addRun(_ folder: URL, label: String, comparison: String? = nil, colorIndex: Int? = nil, dashIndex: Int = 0) throws {
        let metrics = folder.appendingPathComponent("metrics.jsonl")
        let lines = try ReportContent.text(metrics).split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { n, line in
            line.allSatisfy(\.isWhitespace) ? nil : try JSONValue.parse(String(line), source: "\(metrics.path) line \(n + 1)")
        }
        runs.append(ReportRun(label: label, path: folder.relativePath, comparison: comparison, lines: lines,
                              config: try ReportContent.optionalJSON(folder.appendingPathComponent("config.json")),
                              report: try ReportContent.optionalJSON(folder.appendingPathComponent("report.json")),
                              colorIndex: colorIndex ?? nextColor, dashIndex: dashIndex))
    }

    /// The compare.json of `folder` as a result (the table is recomputed from the reports it holds, as
    /// `tlab compare` computed it), and its arm-seed run folders as runs coloured by arm, dashed by seed.
    private mutating func addComparison(_ folder: URL) throws {
        let file = folder.appendingPathComponent("compare.json")
        let json = try JSONValue.parse(try ReportContent.text(file), source: file.path)
        guard let method = json["method"]?.stringValue, let reference = json["reference_arm"]?.stringValue,
              let arms = json["arms"]?.arrayValue?.compactMap(\.stringValue), !arms.isEmpty,
              let seeds = json["seeds"]?.arrayValue?.compactMap({ $0.doubleValue.map(Int.init) }),
              let rows = json["rows"]?.arrayValue, let reports = json["reports"] else {
            throw ConfigError("\(file.path): not a tlab compare result (needs method, reference_arm, arms, seeds, rows, reports)")
        }
        let result = ComparisonResult(method: method, arms: arms, referenceArm: reference, seeds: seeds,
                                      metrics: rows.compactMap { $0["metric"]?.stringValue },
                                      reports: arms.map { reports[$0]?.arrayValue ?? [] })
        comparisons.append(ReportComparison(path: folder.relativePath, result: result))
        let firstColor = nextColor
        for (a, arm) in arms.enumerated() {
            for (s, seed) in seeds.enumerated() {
                let run = folder.appendingPathComponent("\(Comparison.folderName(arm))-seed\(seed)")
                guard FileManager.default.fileExists(atPath: run.appendingPathComponent("metrics.jsonl").path) else { continue }
                try addRun(run, label: "\(arm) seed \(seed)", comparison: folder.relativePath, colorIndex: firstColor + a, dashIndex: s)
            }
        }
    }

    private var nextColor: Int { (runs.map(\.colorIndex).max() ?? -1) + 1 }

    /// Labels that repeat (the same arm and seed in two compare folders) get their compare folder in front.
    private mutating func disambiguateLabels() {
        let counts = Dictionary(runs.map { ($0.label, 1) }, uniquingKeysWith: +)
        for i in runs.indices where counts[runs[i].label, default: 0] > 1 {
            if let comparison = runs[i].comparison { runs[i].label = comparison + ": " + runs[i].label }
        }
    }

    static func text(_ url: URL) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError("\(url.path): cannot read as UTF-8 text (\(error.localizedDescription))")
        }
    }

    static func optionalJSON(_ url: URL) throws -> JSONValue? {
        FileManager.default.fileExists(atPath: url.path) ? try JSONValue.parse(try text(url), source: url.path) : nil
    }
}
