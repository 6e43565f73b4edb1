import XCTest
import Foundation
import TrainingLab

/// The tlab executable end to end: discovery, errors, and `compare` writing compare.json.
final class CommandLineTests: XCTestCase {
    private func tlab() throws -> String {
        let path = try buildFolder() + "/tlab"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tlab not built at \(path)") }
        return path
    }

    func testMethodsListsErmFromItsLibrary() throws {
        let result = try shell([try tlab(), "methods", "--json"])
        XCTAssertEqual(result.status, 0, result.err)
        let methods = try JSONValue.parse(result.out).arrayValue ?? []
        let erm = methods.first { $0["name"] == "erm" }
        XCTAssertNotNil(erm)
        XCTAssertTrue(erm?["plugin"]?.stringValue?.hasSuffix("/libErm.so") ?? false)
    }

    func testUnknownNamesFailWithOneLineListingValidOnes() throws {
        let unknown = try shell([try tlab(), "run", "nosuch"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("unknown method 'nosuch'; available: erm"), unknown.err)
        let option = try shell([try tlab(), "run", "erm", "--set", "momentun=0.5"])
        XCTAssertNotEqual(option.status, 0)
        XCTAssertTrue(option.err.contains("unknown option 'momentun'"), option.err)
    }

    func testCompareErmWithItselfShowsZeroDifferences() throws {
        let data = LearnableIDXDataset(train: 128, test: 64)
        let out = TemporaryDirectory()
        let result = try shell([try tlab(), "compare", "erm", "--dataset", data.spec, "--model", "mlp", "--epochs", "1",
                                "--seeds", "0,1", "--set", "crop_padding=0", "--out", out.path])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("test.accuracy"), result.out)
        let summary = try JSONValue.parse(String(contentsOfFile: out.path + "/compare.json", encoding: .utf8))
        XCTAssertEqual(summary["seeds"], .array([0, 1]))
        let rows = summary["rows"]?.arrayValue ?? []
        let accuracy = rows.first { $0["metric"] == "test.accuracy" }
        XCTAssertEqual(summary["arms"], .array(["erm", "erm-baseline"]))
        XCTAssertEqual(accuracy?["arms"]?["erm"]?["difference"], 0, "the same method under the same seeds must agree exactly")
        XCTAssertEqual(accuracy?["arms"]?["erm"]?["ratio"], 1)
        XCTAssertEqual(accuracy?["arms"]?["erm"]?["values"]?.arrayValue?.count, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.path + "/erm-seed1/report.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.path + "/erm-baseline-seed1/report.json"))
    }
}
