import Foundation
import TrainingLab

/// The readers of files that come from outside, each fed raw bytes as a user's file would reach it. One list
/// for both users: the libFuzzer targets (`make fuzz`, Tests/Fuzz) and the test that replays the committed
/// corpus (HostileInputTests, which compiles this file through a symlink).
enum FuzzedReader: String, CaseIterable {
    case json, safetensors, idx, cifar

    /// Reads `bytes` with every entry point of this reader and returns the errors they refused it with (none
    /// for a valid input). File readers read a file written into `scratch`; the error must name it.
    func refusals(of bytes: Data, scratch: URL) throws -> [Error] {
        var errors: [Error] = []
        func attempt(_ body: () throws -> Void) {
            do { try body() } catch { errors.append(error) }
        }
        switch self {
        case .json:
            attempt { _ = try JSONValue.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz input") }
        case .safetensors:
            attempt {
                let file = try SafeTensors.decode(bytes, path: "fuzz input")
                for (_, tensor) in file.tensors where [.f32, .f16, .bf16].contains(tensor.dtype) { _ = try tensor.floats() }
            }
        case .idx:
            // One file tried as images and as labels: its magic number lets at most one past the header.
            let path = scratch.appendingPathComponent("input.idx").path
            try bytes.write(to: URL(fileURLWithPath: path))
            attempt { _ = try IDXReader.readImages(path: path) }
            attempt { _ = try IDXReader.readLabels(path: path, classCount: 10) }
        case .cifar:
            // The same bytes as a CIFAR-10 test batch and a CIFAR-100 test file.
            try bytes.write(to: scratch.appendingPathComponent(CIFARReader.cifar10TestFile))
            try bytes.write(to: scratch.appendingPathComponent("test.bin"))
            attempt { _ = try CIFARReader.loadCIFAR10(directory: scratch.path, train: false) }
            attempt { _ = try CIFARReader.loadCIFAR100(directory: scratch.path, train: false) }
        }
        return errors
    }
}
