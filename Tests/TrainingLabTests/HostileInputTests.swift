import Foundation
import XCTest
import TrainingLab

/// Files crafted to break the readers: each must end in a clear error naming the file, never in a crash.
final class HostileInputTests: XCTestCase {
    /// Every file of Tests/Fuzz/corpus/<reader>/ (the seeds of `make fuzz` and the crashers it found, named
    /// crash-*) through its reader (FuzzedReader, shared with the fuzz targets).
    func testFuzzCorpusEndsInCleanErrorsNamingTheInput() throws {
        for reader in FuzzedReader.allCases {
            let folder = repositoryRoot + "/Tests/Fuzz/corpus/" + reader.rawValue
            let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            XCTAssertTrue(names.contains { $0.hasPrefix("seed-") }, "\(folder) has no seed")
            let scratch = TemporaryDirectory()
            let named = reader == .json || reader == .safetensors ? "fuzz input" : scratch.path
            for name in names {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
                for error in try reader.refusals(of: bytes, scratch: URL(fileURLWithPath: scratch.path)) {
                    XCTAssertTrue(error is DataError || error is SafeTensorsError || error is ConfigError,
                                  "\(reader) \(name): unexpected \(type(of: error)): \(error)")
                    XCTAssertTrue("\(error)".hasPrefix(named), "\(reader) \(name): '\(error)' does not start with '\(named)'")
                }
            }
        }
    }

    /// The crafted checkpoint of issue 12 (a JSON header nested 60 000 deep) crashed `tlab run --resume` with a stack
    /// overflow; the same nesting inside the metadata string holding the run's configuration reaches the second JSON
    /// read of a resume (the configuration is read before anything else of the checkpoint).
    func testResumeFromDeeplyNestedCheckpointEndsInAnErrorNamingTheFile() throws {
        let tlab = try buildFolder() + "/tlab"
        let data = LearnableIDXDataset(train: 64, test: 32)
        let configuration = try SafeTensors.encode([], metadata: [ResumeCheck.metadataKey: #"{"config": "# + deeplyNestedJSONArray + "}"])
        for (what, file) in [("header", rawSafeTensors(#"{"__metadata__":"# + deeplyNestedJSONArray + "}")), ("configuration metadata", configuration)] {
            let out = TemporaryDirectory()
            let checkpoint = out.path + "/checkpoint.safetensors"
            try file.write(to: URL(fileURLWithPath: checkpoint))
            let result = try shell([tlab, "run", "erm", "--dataset", data.spec, "--model", "mlp", "--epochs", "1",
                                    "--set", "crop_padding=0", "--out", out.path, "--resume"])
            XCTAssertEqual(result.status, 1, "\(what): a clean error exits with 1, a crash with a signal: \(result.err)")
            XCTAssertTrue(result.err.contains(checkpoint), "\(what): \(result.err)")
            XCTAssertTrue(result.err.contains("nest deeper than 512 levels"), "\(what): \(result.err)")
        }
    }
}
