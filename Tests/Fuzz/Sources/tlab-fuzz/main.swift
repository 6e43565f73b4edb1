import FuzzDriver
import Foundation

// libFuzzer over one reader of outside files (`make fuzz`): TL_FUZZ_READER names the FuzzedReader this process
// feeds, so each reader is a fuzz target of its own with its own corpus; the arguments are libFuzzer's.

/// What this process fuzzes, set by LLVMFuzzerInitialize before the first input.
enum Fuzzing {
    static var reader = FuzzedReader.json
    static var scratch = URL(fileURLWithPath: "/")
}

@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    let names = FuzzedReader.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name = ProcessInfo.processInfo.environment["TL_FUZZ_READER"], let reader = FuzzedReader(rawValue: name) else {
        fputs("tlab-fuzz: set TL_FUZZ_READER to one of \(names)\n", stderr)
        exit(2)
    }
    Fuzzing.reader = reader
    Fuzzing.scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tlab-fuzz-\(name)-\(getpid())")
    do {
        try FileManager.default.createDirectory(at: Fuzzing.scratch, withIntermediateDirectories: true)
    } catch {
        fputs("tlab-fuzz: cannot create \(Fuzzing.scratch.path): \(error)\n", stderr)
        exit(2)
    }
    // libFuzzer ends the process itself (exit), so the scratch folder goes at exit.
    atexit { try? FileManager.default.removeItem(at: Fuzzing.scratch) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        _ = try Fuzzing.reader.refusals(of: bytes, scratch: Fuzzing.scratch)
    } catch {
        // Only writing the scratch file can throw here: the machine, not the reader.
        fputs("tlab-fuzz: \(error)\n", stderr)
        exit(2)
    }
    return 0
}

// SwiftPM gives an executable a `main` of its own on Linux (it renames the entry point), which takes the place of
// libFuzzer's; it hands over to libFuzzer's driver, which calls the two entry points above.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
