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
                                 "-Wl,-rpath," + folder, "-lm", "-o", binary])
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
        XCTAssertTrue(result.err.contains("TrainingLab \(TrainingLabVersion.string)"), result.err)
        XCTAssertTrue(result.err.contains("\"model\":\"mlp\",\"input_shape\":[1,12,12],\"classes\":10"), result.err)
        XCTAssertTrue(result.err.contains("sample 1 probabilities sum to 1.0000"), result.err)

        // The callback asks to stop after the first epoch: a clean end with a checkpoint and an incomplete report.
        let stopped = try shell([binary, "erm", data.spec, dir.path + "/stopped", "1"])
        XCTAssertEqual(stopped.status, 0, stopped.err)
        let partial = try JSONValue.parse(stopped.out, source: "client output")
        XCTAssertEqual(partial["complete"], .bool(false))
        XCTAssertEqual(partial["epochs_completed"]?.doubleValue, 1)
        XCTAssertEqual(partial["stopped_by"], "interrupt")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/stopped/checkpoint.safetensors"))
        // The same configuration with "resume": true continues it to the end.
        let config = "{\"dataset\": \"\(data.spec)\", \"model\": \"mlp\", \"epochs\": 2, \"batch_size\": 32, \"crop_padding\": 0, "
            + "\"out\": \"\(dir.path)/stopped\", \"resume\": true}"
        var run: OpaquePointer?
        XCTAssertEqual(tl_run_create("erm", config, &run), 0, String(cString: tl_last_error()))
        defer { tl_run_free(run) }
        XCTAssertEqual(tl_run_execute(run, nil, nil), 0, String(cString: tl_last_error()))
        var json: UnsafeMutablePointer<CChar>?
        XCTAssertEqual(tl_run_report(run, &json), 0)
        let resumed = try JSONValue.parse(String(cString: json!), source: "tl_run_report")
        tl_string_free(json)
        XCTAssertEqual(resumed["complete"], .bool(true))
        XCTAssertEqual(resumed["sample_passes"]?.doubleValue, 2 * 400, "both epochs of the 400 training images, one before the stop")

        // The finished folder is refused to a fresh run unless it asks to overwrite it.
        let fresh = config.replacingOccurrences(of: "\"resume\": true", with: "\"overwrite\": false")
        var refused: OpaquePointer?
        XCTAssertEqual(tl_run_create("erm", fresh, &refused), 0, String(cString: tl_last_error()))
        XCTAssertNotEqual(tl_run_execute(refused, nil, nil), 0)
        XCTAssertTrue(String(cString: tl_last_error()).contains("is not empty"), String(cString: tl_last_error()))
        tl_run_free(refused)
        var replaced: OpaquePointer?
        XCTAssertEqual(tl_run_create("erm", config.replacingOccurrences(of: "\"resume\": true", with: "\"overwrite\": true"), &replaced), 0)
        XCTAssertEqual(tl_run_execute(replaced, nil, nil), 0, String(cString: tl_last_error()))
        tl_run_free(replaced)

        let unknown = try shell([binary, "nosuchmethod", data.spec])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.err.contains("tl_method_describe failed: not found (unknown method 'nosuchmethod'; available:"), unknown.err)
    }

    func testTheVersionOfTheCAPIIsTheLibrarys() {
        XCTAssertEqual(String(cString: tl_version()), TrainingLabVersion.string)
    }

    /// `make install-build` of this build into a temporary PREFIX, then the client built with pkg-config against the
    /// installed tree only: SONAME, headers, the plugins found in PREFIX/lib/traininglab/plugins.
    func testTheClientBuildsWithPkgConfigAgainstAnInstalledTree() throws {
        let folder = try buildFolder()
        let prefix = TemporaryDirectory()
        let install = try shell(["make", "-s", "-C", repositoryRoot, "install-build", "BUILD=" + folder, "PREFIX=" + prefix.path])
        XCTAssertEqual(install.status, 0, install.out + install.err)
        let soname = try shell(["readelf", "-d", prefix.path + "/lib/libTrainingLab.so"])
        let version = TrainingLabVersion.string.split(separator: ".").prefix(2).joined(separator: ".")
        XCTAssertTrue(soname.out.contains("Library soname: [libTrainingLab.so.\(version)]"), soname.out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: prefix.path + "/lib/traininglab/plugins/libErm.so"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: prefix.path + "/lib/traininglab/plugins/libTestFixture.so"), "test fixtures are not installed")

        let binary = prefix.path + "/run_method"
        let environment = ["PKG_CONFIG_PATH": prefix.path + "/lib/pkgconfig", "TRAININGLAB_PLUGIN_PATH": ""]
        let flags = try shell(["pkg-config", "--cflags", "--libs", "traininglab"], environment: environment)
        XCTAssertEqual(flags.status, 0, flags.err)
        XCTAssertTrue(flags.out.contains("-I" + prefix.path + "/include/traininglab"), flags.out)
        let compile = try shell(["sh", "-c", "cc -std=c99 -Wall -Wextra -Werror \"$0\" $(pkg-config --cflags --libs traininglab) -lm -o \"$1\"",
                                 repositoryRoot + "/Tests/CClient/run_method.c", binary], environment: environment)
        XCTAssertEqual(compile.status, 0, compile.err)
        let libraries = try shell(["ldd", binary])
        XCTAssertTrue(libraries.out.contains(prefix.path + "/lib/libTrainingLab.so.\(version)"), libraries.out)
        let data = LearnableIDXDataset()
        let result = try shell([binary, "erm", data.spec, prefix.path + "/out"], environment: environment)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(try JSONValue.parse(result.out, source: "client output")["method"], "erm")
        // The installed core finds its installed plugins by default (the CLI shows where each method came from).
        let methods = try shell([prefix.path + "/bin/tlab", "methods", "--json"], environment: environment)
        XCTAssertEqual(methods.status, 0, methods.err)
        let erm = try JSONValue.parse(methods.out).arrayValue?.first { $0["name"] == "erm" }
        XCTAssertEqual(erm?["plugin"]?.stringValue, prefix.path + "/lib/traininglab/plugins/libErm.so")
    }
}
