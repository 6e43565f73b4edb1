import XCTest
import Foundation
import TrainingLab

/// The tlab executable end to end: discovery, errors, and `compare` writing compare.json.
final class CommandLineTests: XCTestCase {
    private func tlab() throws -> String { try tlabExecutable() }

    func testMethodsListsErmFromItsLibrary() throws {
        let result = try shell([try tlab(), "methods", "--json"])
        XCTAssertEqual(result.status, 0, result.err)
        let methods = try JSONValue.parse(result.out).arrayValue ?? []
        let erm = methods.first { $0["name"] == "erm" }
        XCTAssertNotNil(erm)
        XCTAssertTrue(erm?["plugin"]?.stringValue?.hasSuffix("/libErm.so") ?? false)
    }

    func testModelsListsCoreAndPluginModelsWithProviderParametersAndFlops() throws {
        let fixture = try buildFolder() + "/libTestFixture.so"
        let result = try shell([try tlab(), "models", "--input", "1x8x8", "--classes", "3", "--json", "--plugin-path", fixture])
        XCTAssertEqual(result.status, 0, result.err)
        let models = try JSONValue.parse(result.out).arrayValue ?? []
        let mlp = models.first { $0["name"] == "fixture-mlp" }
        XCTAssertEqual(mlp?["provider"]?.stringValue, fixture)
        XCTAssertEqual(mlp?["parameters"]?.doubleValue, Double(64 * 16 + 16 + 16 * 3 + 3), "default hidden = 16")
        XCTAssertNotNil(mlp?["flops"]?.doubleValue)
        XCTAssertEqual(models.first { $0["name"] == "smallcnn" }?["provider"], "core")
        let plain = try shell([try tlab(), "models", "--input", "1x8x8"])
        XCTAssertTrue(plain.out.contains("resnet20") && !plain.out.contains("fixture-mlp"), plain.out)
    }

    /// bench/side_by_side.py reads the machine line and each case's name and seconds. PyTorch is measured there, beside
    /// us; no record may carry a PyTorch figure quoted from another machine (the former peer fields).
    func testBenchJSONHasTheMachineAndCasesWithOnlyFiguresMeasuredInTheRun() throws {
        let result = try shell([try tlab(), "bench", "--json", "--filter", "conv_3to16_32x32_fwd", "--repeats", "1"])
        XCTAssertEqual(result.status, 0, result.err)
        let lines = try result.out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        XCTAssertNotNil(lines.first?["machine"]?["cpu"], result.out)
        let cases = lines.dropFirst()
        XCTAssertEqual(cases.compactMap { $0["name"]?.stringValue }, ["conv_3to16_32x32_fwd", "conv_3to16_32x32_fwdbwd"])
        for record in cases {
            XCTAssertGreaterThan(record["seconds"]?.doubleValue ?? 0, 0, record.serialized())
            XCTAssertFalse((record.objectValue ?? []).contains { $0.0.hasPrefix("peer") }, record.serialized())
        }
    }

    func testAClientSplitForAMethodWithoutClientsIsRefusedNamingClients() throws {
        let result = try shell([try tlab(), "run", "erm", "--dataset", "fashion-mnist,clients=4,alpha=0.5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.err.contains("clients=4"), result.err)
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

    /// eval, predict and export on the model file of a run: eval reproduces the run's test metrics.
    func testEvalPredictAndExportReadARunsModelFile() throws {
        let data = LearnableIDXDataset(train: 128, test: 64)
        let dir = TemporaryDirectory()
        let run = try shell([try tlab(), "run", "erm", "--dataset", data.spec, "--model", "smallcnn", "--epochs", "1",
                             "--set", "crop_padding=0", "--out", dir.path + "/run"])
        XCTAssertEqual(run.status, 0, run.err)
        let file = dir.path + "/run/model.safetensors"
        let report = try JSONValue.parse(String(contentsOfFile: dir.path + "/run/report.json", encoding: .utf8))

        let eval = try shell([try tlab(), "eval", "--model-file", file, "--dataset", data.spec, "--json"])
        XCTAssertEqual(eval.status, 0, eval.err)
        XCTAssertEqual(try JSONValue.parse(eval.out)["accuracy"], report["test"]?["accuracy"])

        let predict = try shell([try tlab(), "predict", "--model-file", file, "--input", data.spec, "--range", "2:5", "--top-k", "2", "--json"])
        XCTAssertEqual(predict.status, 0, predict.err)
        let rows = try JSONValue.parse(predict.out).arrayValue ?? []
        XCTAssertEqual(rows.map { $0["index"]?.doubleValue }, [2, 3, 4])
        for row in rows {
            let p = (row["top"]?.arrayValue ?? []).compactMap { $0["probability"]?.doubleValue }
            XCTAssertEqual(p.count, 2)
            XCTAssertTrue(p[0] >= p[1] && p[0] > 0 && p[0] <= 1, "\(p)")
            XCTAssertNotNil(row["label"]?["name"]?.stringValue)
        }
        let badRange = try shell([try tlab(), "predict", "--model-file", file, "--input", data.spec, "--range", "60:70"])
        XCTAssertNotEqual(badRange.status, 0)
        XCTAssertTrue(badRange.err.contains("--range 60:70: expected START:END with 0 <= START < END <= 64"), badRange.err)

        let onnx = dir.path + "/model.onnx"
        let export = try shell([try tlab(), "export", "--model-file", file, "--onnx", onnx])
        XCTAssertEqual(export.status, 0, export.err)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: onnx)).prefix(2))
        XCTAssertEqual(bytes, [0x08, 0x07], "ModelProto.ir_version = 7 comes first")

        let missing = try shell([try tlab(), "eval", "--model-file", dir.path + "/nothing.safetensors", "--dataset", data.spec])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains(dir.path + "/nothing.safetensors: no such file"), missing.err)
    }
}
