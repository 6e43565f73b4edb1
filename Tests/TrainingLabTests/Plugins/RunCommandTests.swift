import XCTest
import Foundation
import TrainingLab

/// `tlab run` end to end: configuration files, --print-config, --version, errors for mistyped names and out-of-range
/// numbers, refused output folders, and Ctrl-C.
final class RunCommandTests: XCTestCase {
    static let data = LearnableIDXDataset(train: 128, test: 64)
    let tiny = ["--dataset", RunCommandTests.data.spec, "--model", "mlp", "--batch-size", "32", "--set", "crop_padding=0"]

    private func json(_ path: String) throws -> JSONValue { try JSONValue.parse(String(contentsOfFile: path, encoding: .utf8), source: path) }

    func testVersionIsTheLibrarysConstant() throws {
        let result = try shell([try tlabExecutable(), "--version"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out.trimmingCharacters(in: .whitespacesAndNewlines), TrainingLabVersion.string)
    }

    func testAMistypedOptionListsRunAndMethodOptionsAndSuggestsTheNearest() throws {
        let result = try shell([try tlabExecutable(), "run", "erm", "--set", "lrr=0.1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.err.contains("unknown option 'lrr' (did you mean 'lr'?)"), result.err)
        XCTAssertTrue(result.err.contains("run options: model, dataset, epochs") && result.err.contains("erm options: (none)"), result.err)
    }

    func testNegativeAndOutOfRangeNumbersGetRangeErrorsNamingTheOption() throws {
        let tlab = try tlabExecutable()
        for (arguments, expected) in [(["--epochs", "-1"], "run option 'epochs' = -1 is invalid; expected an integer >= 1"),
                                      (["--lr", "-0.5"], "run option 'lr' = -0.5 is invalid; expected a number in 0.0...100.0"),
                                      (["--seed", "-3"], "run option 'seed' = -3 is invalid; expected an integer >= 0"),
                                      (["--threads", "0"], "--threads 0 is invalid; expected an integer in 1...4096"),
                                      (["--stop-after", "-2"], "--stop-after -2 is invalid; expected an integer >= 1")] {
            let result = try shell([tlab, "run", "erm", "--print-config"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.err.contains(expected), "\(arguments): \(result.err)")
        }
    }

    func testPrintConfigShowsEveryDefaultAndTheFlagsOverAYAMLFile() throws {
        let dir = TemporaryDirectory()
        let file = dir.write("run.yaml", Array("""
            # a run of erm
            method: erm
            config:
              epochs: 2
              lr: 0.01
              flip: true
              schedule: "cosine"
            """.utf8))
        let result = try shell([try tlabExecutable(), "run", "--config", file, "--print-config", "--epochs", "3"])
        XCTAssertEqual(result.status, 0, result.err)
        let printed = try JSONValue.parse(result.out)
        XCTAssertEqual(printed["method"], "erm")
        XCTAssertEqual(printed["config"]?.objectValue?.map(\.0), RunConfig.optionNames, "every run option, defaults included")
        XCTAssertEqual(printed["config"]?["epochs"]?.doubleValue, 3, "the command line overrides the file")
        XCTAssertEqual(printed["config"]?["lr"]?.doubleValue, 0.01)
        XCTAssertEqual(printed["config"]?["flip"], .bool(true))
        XCTAssertEqual(printed["config"]?["schedule"], "cosine")
        XCTAssertEqual(printed["config"]?["batch_size"]?.doubleValue, Double(RunConfig().batchSize))
        XCTAssertEqual(printed["options"]?["erm"], .object([]))

        let mismatch = try shell([try tlabExecutable(), "run", "infobatch", "--config", file, "--print-config"])
        XCTAssertTrue(mismatch.err.contains("configures method 'erm', but the command runs 'infobatch'"), mismatch.err)
        let typo = dir.write("typo.yaml", Array("confg:\n  epochs: 2\n".utf8))
        let refused = try shell([try tlabExecutable(), "run", "erm", "--config", typo, "--print-config"])
        XCTAssertTrue(refused.err.contains("\(typo): unknown key 'confg' (did you mean 'config'?)"), refused.err)
        let unknownFormat = dir.write("run.ini", [])
        XCTAssertTrue(try shell([try tlabExecutable(), "run", "erm", "--config", unknownFormat]).err.contains("unknown format '.ini'"))
    }

    /// A run folder's config.json fed back reproduces the run: the same resolved configuration and the same result.
    func testARunsOwnConfigJSONReproducesIt() throws {
        let tlab = try tlabExecutable()
        let first = TemporaryDirectory(), second = TemporaryDirectory()
        let original = try shell([tlab, "run", "erm", "--epochs", "1", "--lr", "0.03", "--out", first.path] + tiny)
        XCTAssertEqual(original.status, 0, original.err)
        let again = try shell([tlab, "run", "--config", first.path + "/config.json", "--out", second.path])
        XCTAssertEqual(again.status, 0, again.err)
        let a = try json(first.path + "/config.json"), b = try json(second.path + "/config.json")
        for key in ["method", "config", "options"] { XCTAssertEqual(a[key], b[key], key) }
        XCTAssertEqual(try json(first.path + "/report.json")["test"], try json(second.path + "/report.json")["test"])
    }

    func testANonEmptyOutputFolderIsRefusedForRunsAndComparisons() throws {
        let dir = TemporaryDirectory()
        dir.write("keep.txt", [1])
        let run = try shell([try tlabExecutable(), "run", "erm", "--epochs", "1", "--out", dir.path] + tiny)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.err.contains("output folder \(dir.path) is not empty (keep.txt)") && run.err.contains("--overwrite"), run.err)
        let compare = try shell([try tlabExecutable(), "compare", "erm", "--epochs", "1", "--seeds", "0", "--out", dir.path] + tiny)
        XCTAssertNotEqual(compare.status, 0)
        XCTAssertTrue(compare.err.contains("is not empty"), compare.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["keep.txt"])
    }

    /// Ctrl-C: the run stops at its next step, writes an incomplete report, prints the exact command that resumes it,
    /// and exits 130; that command continues the run (here until one more epoch, with --stop-after).
    func testCtrlCStopsTheRunAndPrintsTheCommandThatResumesIt() throws {
        let tlab = try tlabExecutable()
        let out = TemporaryDirectory(), logs = TemporaryDirectory()
        let errFile = logs.write("stderr", [])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tlab)
        process.arguments = ["run", "erm", "--epochs", "100000", "--set", "eval_every=100000", "--out", out.path] + tiny
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: errFile)
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: out.path + "/checkpoint.safetensors"), process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.interrupt()
        process.waitUntilExit()
        let err = try String(contentsOfFile: errFile, encoding: .utf8)
        XCTAssertEqual(process.terminationStatus, 130, err)
        let report = try json(out.path + "/report.json")
        XCTAssertEqual(report["complete"], .bool(false))
        XCTAssertEqual(report["stopped_by"], "interrupt")
        let epochs = try XCTUnwrap(report["epochs_completed"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(epochs, 1)

        let lines = err.split(separator: "\n").map(String.init)
        let advice = try XCTUnwrap(lines.firstIndex { $0.hasSuffix("continue it with:") }, err)
        let command = lines[advice + 1].trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init)
        XCTAssertEqual(command.first, tlab)
        XCTAssertEqual(command.last, "--resume", lines[advice + 1])
        XCTAssertFalse(command.contains("--stop-after"))
        let resumed = try shell(command + ["--stop-after", String(Int(epochs) + 1)])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertEqual(try json(out.path + "/report.json")["epochs_completed"]?.doubleValue, epochs + 1)
    }
}
