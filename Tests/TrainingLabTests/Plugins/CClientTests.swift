import XCTest
import Foundation
import TrainingLab

/// The C99 example client (Tests/CClient/run_method.c) compiled with cc, linked to libTrainingLab.so, run.
final class CClientTests: XCTestCase {
    func testCClientRunsErmByNameAndGetsTheReport() throws {
        let folder = try buildFolder()
        let dir = TemporaryDirectory()
        let binary = dir.path + "/run_method"
        let compile = try shell(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", repositoryRoot + "/include",
                                 repositoryRoot + "/Tests/CClient/run_method.c", "-L", folder, "-lTrainingLab",
                                 "-Wl,-rpath," + folder, "-o", binary])
        XCTAssertEqual(compile.status, 0, compile.err)
        let data = LearnableIDXDataset()
        let result = try shell([binary, "erm", data.spec, dir.path + "/out"])
        XCTAssertEqual(result.status, 0, result.err)
        let report = try JSONValue.parse(result.out, source: "client output")
        XCTAssertEqual(report["method"], "erm")
        XCTAssertEqual(report["epochs"], 2)
        XCTAssertGreaterThan(report["test"]?["accuracy"]?.doubleValue ?? 0, 0.8)
        for file in ["config.json", "metrics.jsonl", "report.json", "model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/out/" + file), file)
        }
        XCTAssertTrue(result.err.contains("epoch events: 2"), result.err)

        let unknown = try shell([binary, "nosuchmethod", data.spec])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.err.contains("tl_method_describe failed: not found (unknown method 'nosuchmethod'; available:"), unknown.err)
    }
}
