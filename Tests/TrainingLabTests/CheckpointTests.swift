import Foundation
import XCTest
import TrainingLab

/// A fresh folder under the system temporary directory, removed after the test.
private func makeTemporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tl-checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

final class AtomicFileTests: XCTestCase {
    func testWritesAndReplacesWithoutLeavingTemporaryFiles() throws {
        let folder = try makeTemporaryFolder(self)
        let target = folder.appendingPathComponent("report.json")
        try AtomicFile.write(Data("first".utf8), to: target)
        XCTAssertEqual(try Data(contentsOf: target), Data("first".utf8))
        let large = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try AtomicFile.write(large, to: target)
        XCTAssertEqual(try Data(contentsOf: target), large)
        try AtomicFile.write("", to: target)
        XCTAssertEqual(try Data(contentsOf: target).count, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["report.json"])
        // Ordinary permissions (the umask applies), not the 0600 of a mkstemp file.
        let mode = try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int
        XCTAssertEqual((mode ?? 0) & 0o044, 0o044 & ~Int(currentUmask()))
    }

    func testErrorsNameThePath() throws {
        let folder = try makeTemporaryFolder(self)
        let missing = folder.appendingPathComponent("no-such-folder/model.safetensors")
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: missing)) { error in
            let e = error as? FileWriteError
            XCTAssertEqual(e?.path, missing.path)
            XCTAssertTrue("\(error)".contains(missing.path), "\(error)")
            XCTAssertTrue("\(error)".contains("No such file or directory"), "\(error)")
        }
        // Renaming over a non-empty folder fails; the temporary file is cleaned up.
        let occupied = folder.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied.appendingPathComponent("inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: occupied)) { error in
            XCTAssertTrue("\(error)".contains(occupied.path) && "\(error)".contains("rename"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["occupied"])
    }
}

private func currentUmask() -> mode_t {
    let mask = umask(0o022)
    umask(mask)
    return mask
}

final class SafeTensorsTests: XCTestCase {
    private func sampleTensors() throws -> [(String, SafeTensor)] {
        [
            ("conv1.weight", try SafeTensor(floats: (0..<24).map { Float($0) * 0.5 - 3 }, shape: [2, 3, 2, 2])),
            ("bn.running_var", try SafeTensor(floats: [1, .infinity, -0.0, .leastNonzeroMagnitude, .nan], shape: [5])),
            ("step", try SafeTensor(int64s: [Int64.max, -1, 1 << 40], shape: [3])),
            ("labels", try SafeTensor(int32s: [Int32.min, 0, 7], shape: [3, 1])),
            ("mask", try SafeTensor(bytes: [0, 1, 255], shape: [3])),
            ("scalar", try SafeTensor(floats: [42], shape: [])),
            ("empty", try SafeTensor(floats: [], shape: [0, 4])),
        ]
    }

    func testRoundTrip() throws {
        let folder = try makeTemporaryFolder(self)
        let url = folder.appendingPathComponent("model.safetensors")
        let tensors = try sampleTensors()
        let metadata = ["step": "1200", "optimizer": "{\"lr\": 0.1}", "note": "quotes \" backslash \\ newline \n tab \t ctrl \u{1} é ✓"]
        try SafeTensors.write(tensors, metadata: metadata, to: url)
        let file = try SafeTensors.read(from: url)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.tensors.map(\.name), tensors.map(\.0), "tensors come back in the order written")
        for ((name, written), (readName, read)) in zip(tensors, file.tensors) {
            XCTAssertEqual(name, readName)
            XCTAssertEqual(read.dtype, written.dtype, name)
            XCTAssertEqual(read.shape, written.shape, name)
            XCTAssertEqual(read.data, written.data, name)  // bit for bit, NaN and -0 included
        }
        XCTAssertEqual(try file["conv1.weight"]?.floats(), (0..<24).map { Float($0) * 0.5 - 3 })
        XCTAssertEqual(try file["step"]?.int64s(), [Int64.max, -1, 1 << 40])
        XCTAssertEqual(try file["labels"]?.int32s(), [Int32.min, 0, 7])
        XCTAssertEqual(try file["mask"]?.bytes(), [0, 1, 255])
        XCTAssertEqual(file["scalar"]?.count, 1)
        XCTAssertEqual(file["empty"]?.count, 0)
        XCTAssertNil(file["missing"])
        XCTAssertEqual(try file["bn.running_var"]?.floats().map(\.bitPattern),
                       [1, .infinity, -0.0, .leastNonzeroMagnitude, .nan].map { (x: Float) in x.bitPattern })
        XCTAssertThrowsError(try file["mask"]!.floats()) { XCTAssertTrue("\($0)".contains("expected F32 data, the tensor is U8"), "\($0)") }
        // Same inputs, same bytes.
        XCTAssertEqual(try SafeTensors.encode(tensors, metadata: metadata), try Data(contentsOf: url))
    }

    func testByteLayout() throws {
        let bytes = try SafeTensors.encode([("a", try SafeTensor(floats: [1, 2], shape: [2])), ("b", try SafeTensor(bytes: [9], shape: [1, 1]))],
                                           metadata: ["k": "v"])
        let n = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual((8 + n) % 8, 0, "data starts at a multiple of 8")
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let expected = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[1,1],"data_offsets":[8,9]}}"#
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces), expected)
        XCTAssertTrue(header.hasPrefix(expected) && header.dropFirst(expected.count).allSatisfy { $0 == " " }, "padded with spaces")
        XCTAssertEqual(Array(bytes[(8 + n)...]), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, 9], "raw little-endian data")
    }

    func testReadsFilesWrittenByOthers() throws {
        // As huggingface/safetensors may write them: no metadata, keys not in data order, no padding
        // beyond what the length says, and unknown keys inside a tensor entry are ignored.
        let header = #"{"second":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"first":{"shape":[1],"dtype":"F32","data_offsets":[0,4],"extra":1}}"#
        let file = rawSafeTensors(header, data: [0x00, 0x00, 0x40, 0x40, 0x05, 0x00, 0x00, 0x00])
        let read = try SafeTensors.decode(file, path: "hf.safetensors")
        XCTAssertEqual(read.tensors.map(\.name), ["first", "second"], "in data order")
        XCTAssertEqual(try read["first"]?.floats(), [3])
        XCTAssertEqual(try read["second"]?.int32s(), [5])
        XCTAssertEqual(read.metadata, [:])
    }

    func testWriterRefusesInconsistentTensors() throws {
        XCTAssertThrowsError(try SafeTensor(floats: [1, 2, 3], shape: [2, 2])) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .invalidTensor)
            XCTAssertTrue("\(error)".contains("shape [2, 2]"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensor(dtype: .i64, shape: [2], data: Data(count: 12)))
        XCTAssertThrowsError(try SafeTensor(floats: [], shape: [-1, 0])) { XCTAssertEqual(($0 as? SafeTensorsError)?.kind, .badShape) }
        let t = try SafeTensor(floats: [1], shape: [1])
        let url = try makeTemporaryFolder(self).appendingPathComponent("dup.safetensors")
        XCTAssertThrowsError(try SafeTensors.write([("w", t), ("w", t)], to: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains("two tensors are named 'w'"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensors.write([("__metadata__", t)], to: url))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "nothing written on error")
    }

    // MARK: corrupt files, written by the test itself

    /// Writes `bytes` to a file, reads it, and checks the error names the file, the kind and the expectation.
    private func assertRejects(_ bytes: Data, _ kind: SafeTensorsError.Kind, mentioning fragment: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("bad.safetensors")
        try bytes.write(to: url)
        XCTAssertThrowsError(try SafeTensors.read(from: url), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(e.path, url.path, file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(url.path + ": "), "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "'\(e.message)' does not mention '\(fragment)'", file: file, line: line)
        }
    }

    private let f32x2 = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    private let eightBytes: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]

    func testValidBaselineForCorruptions() throws {
        // The corruptions below each break this file in one place.
        XCTAssertEqual(try SafeTensors.decode(rawSafeTensors(f32x2, data: eightBytes))["w"]?.floats(), [1, 2])
    }

    func testRejectsBadHeaderLength() throws {
        try assertRejects(Data([1, 0, 0]), .badHeaderLength, mentioning: "shorter than the 8-byte header length")
        try assertRejects(Data(), .badHeaderLength, mentioning: "file is 0 bytes")
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes, length: 0), .badHeaderLength, mentioning: "header length is 0")
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes, length: UInt64(f32x2.utf8.count + 9)), .badHeaderLength,
                          mentioning: "goes beyond the end of the file")
        // Beyond 100 MB the length is refused as such, whatever the file size.
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes, length: 100_000_001), .badHeaderLength,
                          mentioning: "header length 100000001 exceeds the limit of 100000000 bytes")
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes, length: 1 << 40), .badHeaderLength, mentioning: "exceeds the limit")
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes, length: UInt64.max), .badHeaderLength, mentioning: "exceeds the limit")
    }

    func testRejectsBadHeader() throws {
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","#, data: eightBytes), .badHeader, mentioning: "invalid JSON")
        // A header length one byte too short cuts the JSON.
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes, length: UInt64(f32x2.utf8.count - 1)), .badHeader, mentioning: "invalid JSON")
        try assertRejects(rawSafeTensors("[1, 2]", data: []), .badHeader, mentioning: "must be a JSON object")
        try assertRejects(rawSafeTensors("{\"w\": 3}", data: []), .badHeader, mentioning: "tensor 'w' must be an object")
        try assertRejects(rawSafeTensors(#"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, data: eightBytes), .badHeader, mentioning: "no dtype")
        try assertRejects(rawSafeTensors(#"{"__metadata__":{"a":1}}"#, data: []), .badHeader, mentioning: "must be a string")
        try assertRejects(rawSafeTensors(#"{"__metadata__":[]}"#, data: []), .badHeader, mentioning: "__metadata__ must be an object")
        let twice = #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#
        try assertRejects(rawSafeTensors(twice, data: [1, 2]), .badHeader, mentioning: #"duplicate key "w""#)
        // Strict JSON: a number the grammar refuses, and a header nested 60 000 deep (a stack overflow once).
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}"#, data: eightBytes), .badHeader,
                          mentioning: "JSON header: invalid JSON at byte 29: a number cannot start with 0")
        try assertRejects(rawSafeTensors(#"{"w":"# + deeplyNestedJSONArray + "}"), .badHeader, mentioning: "nest deeper than 512 levels")
        var notUTF8 = rawSafeTensors(f32x2, data: eightBytes)
        notUTF8[10] = 0xFF
        try assertRejects(notUTF8, .badHeader, mentioning: "not valid UTF-8")
    }

    func testRejectsUnknownDType() throws {
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, data: eightBytes), .unknownDType,
                          mentioning: "dtype F64, expected one of F32, F16, BF16, I32, I64, U8")
    }

    func testRejectsBadShapesAndOffsets() throws {
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eightBytes), .badShape, mentioning: "non-negative integers")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: eightBytes), .badShape, mentioning: "tensor 'w' shape")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, data: eightBytes), .badShape, mentioning: "shape")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: eightBytes), .badOffsets, mentioning: "0 <= begin <= end")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: eightBytes), .badOffsets, mentioning: "[begin, end]")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}}"#, data: eightBytes), .badOffsets, mentioning: "data_offsets")
        // Element counts and byte sizes that overflow Int are refused, not wrapped.
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eightBytes),
                          .badShape, mentioning: "product that fits")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"I64","shape":[4503599627370496,512],"data_offsets":[0,8]}}"#, data: eightBytes),
                          .sizeMismatch, mentioning: "expected 2305843009213693952 x 8 = more than 9223372036854775807")
        // Offsets that do not match shape x dtype size.
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eightBytes), .sizeMismatch,
                          mentioning: "hold 8 bytes, expected 3 x 4 = 12")
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}}"#, data: eightBytes), .sizeMismatch, mentioning: "I64")
        // Overlap and gap between two tensors.
        let overlap = #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#
        try assertRejects(rawSafeTensors(overlap, data: [UInt8](repeating: 1, count: 6)), .badOffsets, mentioning: "overlap the previous tensor, which ends at 4")
        let gap = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#
        try assertRejects(rawSafeTensors(gap, data: [UInt8](repeating: 1, count: 6)), .badOffsets, mentioning: "starts at 4, expected 2")
        let late = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#
        try assertRejects(rawSafeTensors(late, data: [1, 2, 3, 4]), .badOffsets, mentioning: "starts at 2, expected 0")
        // Offsets beyond the data, and data beyond the last tensor.
        try assertRejects(rawSafeTensors(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eightBytes), .truncated,
                          mentioning: "go beyond the 8 bytes of data")
        try assertRejects(rawSafeTensors(f32x2, data: eightBytes + [0, 0, 0]), .trailingData, mentioning: "3 bytes follow the last tensor")
    }

    func testReadsHalfAndBFloat16AsFloat() throws {
        // Bit patterns worked out by hand: F16 is 1 sign, 5 exponent (bias 15), 10 fraction bits; BF16 is the top
        // half of an F32. 0x3555 = 2^-2 x (1 + 0x155/1024) = 0.333251953125; 0x0001 = 2^-24 (smallest subnormal);
        // 0x03FF = 1023 x 2^-24 (largest subnormal); 0x7BFF = 65504 (largest finite).
        let half: [UInt16] = [0x3C00, 0xC000, 0x3555, 0x0001, 0x03FF, 0x7BFF, 0x8000, 0x7C00, 0xFC00]
        let halfValues: [Float] = [1, -2, 0.333251953125, 0x1p-24, 1023 * 0x1p-24, 65504, -0.0, .infinity, -.infinity]
        // 0x4049 = 2^1 x (1 + 0x49/128) = 3.140625; 0x0001 = 2^-133 (a Float subnormal); 0xC2F7 = -123.5.
        let bfloat: [UInt16] = [0x3F80, 0x4049, 0x0001, 0xC2F7, 0x7F80, 0x8000]
        let bfloatValues: [Float] = [1, 3.140625, 0x1p-133, -123.5, .infinity, -0.0]
        func bytes(_ words: [UInt16]) -> [UInt8] { words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
        let header = #"{"h":{"dtype":"F16","shape":[9],"data_offsets":[0,18]},"nan":{"dtype":"F16","shape":[1],"data_offsets":[18,20]},"#
            + #""b":{"dtype":"BF16","shape":[2,3],"data_offsets":[20,32]},"bnan":{"dtype":"BF16","shape":[],"data_offsets":[32,34]}}"#
        let file = try SafeTensors.decode(rawSafeTensors(header, data: bytes(half) + bytes([0x7E01]) + bytes(bfloat) + bytes([0xFFC1])))
        XCTAssertEqual(try file["h"]?.floats().map(\.bitPattern), halfValues.map(\.bitPattern))
        XCTAssertEqual(try file["b"]?.floats().map(\.bitPattern), bfloatValues.map(\.bitPattern))
        XCTAssertEqual(file["b"]?.shape, [2, 3])
        // NaNs stay NaN with their payload: 0x7E01 has fraction 0x201, which lands in the top bits of the Float's fraction.
        XCTAssertEqual(try file["nan"]?.floats().map(\.bitPattern), [0x7F80_0000 | 0x201 << 13])
        XCTAssertEqual(try file["bnan"]?.floats().map(\.bitPattern), [0xFFC1_0000])
        XCTAssertThrowsError(try file["h"]!.int32s()) { XCTAssertTrue("\($0)".contains("the tensor is F16"), "\($0)") }
        try assertRejects(rawSafeTensors(#"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .sizeMismatch,
                          mentioning: "expected 3 x 2 = 6 for F16")
    }

    func testRejectsTruncatedFile() throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("full.safetensors")
        try SafeTensors.write(try sampleTensors(), metadata: ["epoch": "3"], to: url)
        let full = try Data(contentsOf: url)
        // Cut inside the data, at the end of the header, and inside the header.
        try assertRejects(full.prefix(full.count - 5), .truncated, mentioning: "file truncated")
        let n = Int(full.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        try assertRejects(full.prefix(8 + n), .truncated, mentioning: "go beyond the 0 bytes of data")
        try assertRejects(full.prefix(8 + n / 2), .badHeaderLength, mentioning: "goes beyond the end of the file")
    }

    func testMissingFileAndFolder() throws {
        let folder = try makeTemporaryFolder(self)
        XCTAssertThrowsError(try SafeTensors.read(from: folder.appendingPathComponent("nope.safetensors"))) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .unreadable)
            XCTAssertTrue("\(error)".contains("nope.safetensors: no such file"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensors.read(from: folder)) { XCTAssertTrue("\($0)".contains("is a directory"), "\($0)") }
    }
}
