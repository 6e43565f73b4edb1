import Foundation

// The libFuzzer entry points (`make fuzz`). One binary serves every reader; TL_FUZZ_READER names the one
// this process fuzzes, so each reader is its own fuzz target with its own corpus.

private var reader = FuzzedReader.json
private var scratch = URL(fileURLWithPath: "/")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let names = FuzzedReader.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name = ProcessInfo.processInfo.environment["TL_FUZZ_READER"], let chosen = FuzzedReader(rawValue: name) else {
        fputs("tlab-fuzz: set TL_FUZZ_READER to one of \(names)\n", stderr)
        exit(2)
    }
    reader = chosen
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tlab-fuzz-\(name)-\(getpid())")
    do {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    } catch {
        fputs("tlab-fuzz: cannot create \(scratch.path): \(error)\n", stderr)
        exit(2)
    }
    atexit { try? FileManager.default.removeItem(at: scratch) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        _ = try reader.refusals(of: bytes, scratch: scratch)
    } catch {
        // Only writing the scratch file can fail here; that is the machine, not the reader.
        fputs("tlab-fuzz: \(error)\n", stderr)
        exit(2)
    }
    return 0
}
