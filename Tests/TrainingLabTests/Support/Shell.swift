import Foundation
import XCTest
import TrainingLab

/// Runs a program and returns (exit status, stdout, stderr).
@discardableResult
func shell(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The build folder holding libTrainingLab.so and the plugins; fails clearly when the plugins were not built.
func buildFolder(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    guard let folder = PluginRegistry.coreLibraryFolder else { throw XCTSkip("cannot locate libTrainingLab.so") }
    guard FileManager.default.fileExists(atPath: folder + "/libErm.so") else {
        XCTFail("\(folder)/libErm.so is missing: build the plugins first (`make test` or `swift build --build-tests`)", file: file, line: line)
        throw XCTSkip("plugins not built")
    }
    return folder
}

/// The built tlab executable (beside the plugins), or a skip when it was not built.
func tlabExecutable() throws -> String {
    let path = try buildFolder() + "/tlab"
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tlab not built at \(path)") }
    return path
}

/// The repository's top folder (for include/ and the C client's source).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
