import Foundation

/// Element types a safetensors file may hold here (the format defines more; others are refused by name).
/// F16 (IEEE half) and BF16 (bfloat16) are read, converted to Float by `SafeTensor.floats()`.
public enum SafeTensorDType: String, CaseIterable, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case i64 = "I64"
    case u8 = "U8"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        case .u8: return 1
        }
    }
}

/// A safetensors file could not be read or written: the file, the kind of problem, and what was expected.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case unreadable = "unreadable file"
        case badHeaderLength = "bad header length"
        case badHeader = "bad header"
        case unknownDType = "unknown dtype"
        case badShape = "bad shape"
        case badOffsets = "bad data offsets"
        case sizeMismatch = "size mismatch"
        case truncated = "truncated file"
        case trailingData = "trailing data"
        case invalidTensor = "invalid tensor"
    }

    public let kind: Kind
    /// The file the problem is in; empty for a tensor built in memory.
    public let path: String
    public let message: String

    public init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// One tensor of a safetensors file: element type, shape and its raw little-endian bytes.
/// The byte count always equals product(shape) * dtype.byteSize (checked when built).
public struct SafeTensor: Equatable, Sendable {
    public let dtype: SafeTensorDType
    public let shape: [Int]
    public let data: Data

    public init(dtype: SafeTensorDType, shape: [Int], data: Data) throws {
        let count = try SafeTensor.elementCount(shape, path: "")
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == data.count else {
            throw SafeTensorsError(.invalidTensor, path: "",
                                   "\(dtype.rawValue) tensor of shape \(shape) needs \(count) x \(dtype.byteSize) bytes, got \(data.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    public init(floats: [Float], shape: [Int]) throws {
        try self.init(dtype: .f32, shape: shape, data: littleEndianData(floats.map(\.bitPattern)))
    }

    public init(int32s: [Int32], shape: [Int]) throws {
        try self.init(dtype: .i32, shape: shape, data: littleEndianData(int32s))
    }

    public init(int64s: [Int64], shape: [Int]) throws {
        try self.init(dtype: .i64, shape: shape, data: littleEndianData(int64s))
    }

    public init(bytes: [UInt8], shape: [Int]) throws {
        try self.init(dtype: .u8, shape: shape, data: Data(bytes))
    }

    /// Number of elements (1 for a scalar of shape []).
    public var count: Int { data.count / dtype.byteSize }

    /// The elements as Floats: F32 as stored, F16 and BF16 widened (exactly: every half and bfloat16 is a Float).
    public func floats() throws -> [Float] {
        switch dtype {
        case .f16: return try values(.f16, as: UInt16.self).map(SafeTensor.float(half:))
        case .bf16: return try values(.bf16, as: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
        default: return try values(.f32, as: UInt32.self).map(Float.init(bitPattern:))
        }
    }
    public func int32s() throws -> [Int32] { try values(.i32, as: Int32.self) }
    public func int64s() throws -> [Int64] { try values(.i64, as: Int64.self) }
    public func bytes() throws -> [UInt8] { try values(.u8, as: UInt8.self) }

    private func values<T: FixedWidthInteger>(_ expected: SafeTensorDType, as: T.Type) throws -> [T] {
        guard dtype == expected else {
            throw SafeTensorsError(.invalidTensor, path: "", "expected \(expected.rawValue) data, the tensor is \(dtype.rawValue)")
        }
        var out = [T](repeating: 0, count: count)
        // copyBytes, not a typed view: the bytes of a slice of a file need not be aligned.
        _ = out.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        return out.map { T(littleEndian: $0) }
    }

    /// An IEEE 754 half (sign, 5 exponent bits biased by 15, 10 fraction bits) as a Float.
    static func float(half bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10 & 0x1F), fraction = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:  // zero or subnormal: fraction x 2^-24, which a Float holds as a normal number
            let magnitude = Float(fraction) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:  // infinity or NaN, the NaN payload kept
            return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
        default:  // rebias the exponent from 15 to 127
            return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
        }
    }

    /// product(shape), refusing negative dimensions and overflow.
    static func elementCount(_ shape: [Int], path: String, name: String? = nil) throws -> Int {
        var count = 1
        for d in shape {
            let (next, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else {
                let what = name.map { "tensor '\($0)': " } ?? ""
                throw SafeTensorsError(.badShape, path: path, "\(what)shape \(shape) must be non-negative integers with a product that fits in memory")
            }
            count = next
        }
        return count
    }
}

private func littleEndianData<T: FixedWidthInteger>(_ values: [T]) -> Data {
    values.map(\.littleEndian).withUnsafeBytes { Data($0) }
}

/// The contents of a safetensors file: tensors in the order of their data, and the string metadata.
public struct SafeTensorsFile: Sendable {
    public var tensors: [(name: String, tensor: SafeTensor)]
    public var metadata: [String: String]

    public subscript(name: String) -> SafeTensor? { tensors.first { $0.name == name }?.tensor }
}

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
/// JSON header {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}},
/// then the raw little-endian tensor data, offsets relative to the end of the header. Written with the
/// tensors in the order given, the header padded with spaces so that the data starts at a multiple of 8.
public enum SafeTensors {
    /// The largest JSON header read (100 MB, the limit of the reference reader): a length field beyond it is
    /// refused before anything is allocated for it.
    public static let maximumHeaderLength = 100_000_000

    /// Writes the file atomically (AtomicFile). Names must be unique and not "__metadata__".
    public static func write(_ tensors: [(String, SafeTensor)], metadata: [String: String] = [:], to url: URL) throws {
        let bytes: Data
        do {
            bytes = try encode(tensors, metadata: metadata)
        } catch let error as SafeTensorsError {
            throw SafeTensorsError(error.kind, path: url.path, error.message)
        }
        try AtomicFile.write(bytes, to: url)
    }

    /// The bytes of a file (deterministic: metadata keys are sorted).
    public static func encode(_ tensors: [(String, SafeTensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            header.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var seen = Set<String>()
        var offset = 0
        for (name, tensor) in tensors {
            guard name != "__metadata__" else { throw SafeTensorsError(.invalidTensor, path: "", "a tensor cannot be named __metadata__") }
            guard seen.insert(name).inserted else { throw SafeTensorsError(.invalidTensor, path: "", "two tensors are named '\(name)'") }
            let end = offset + tensor.data.count
            header.append((name, .object([
                ("dtype", .string(tensor.dtype.rawValue)),
                ("shape", .array(tensor.shape.map { .number(Double($0)) })),
                ("data_offsets", .array([.number(Double(offset)), .number(Double(end))])),
            ])))
            offset = end
        }
        var headerBytes = Array(JSONValue.object(header).serialized().utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var out = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for (_, tensor) in tensors { out.append(tensor.data) }
        return out
    }

    public static func read(from url: URL) throws -> SafeTensorsFile {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafeTensorsError(.unreadable, path: path, "no such file, expected a safetensors file")
        }
        guard !isDirectory.boolValue else { throw SafeTensorsError(.unreadable, path: path, "is a directory, expected a safetensors file") }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SafeTensorsError(.unreadable, path: path, "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, path: path)
    }

    /// Parses and validates the bytes of a file; `path` names it in errors.
    public static func decode(_ data: Data, path: String = "safetensors data") throws -> SafeTensorsFile {
        func fail(_ kind: SafeTensorsError.Kind, _ message: String) -> SafeTensorsError { SafeTensorsError(kind, path: path, message) }
        let total = data.count, start = data.startIndex
        guard total >= 8 else {
            throw fail(.badHeaderLength, "file is \(total) bytes, shorter than the 8-byte header length that starts a safetensors file")
        }
        let headerLength = data[start..<(start + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength > 0 else { throw fail(.badHeaderLength, "header length is 0, expected the length of a JSON header") }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw fail(.badHeaderLength, "header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes for a JSON header")
        }
        guard headerLength <= UInt64(total - 8) else {
            throw fail(.badHeaderLength, "header length \(headerLength) goes beyond the end of the file (\(total - 8) bytes follow the length field)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let text = String(bytes: data[(start + 8)..<(start + dataStart)], encoding: .utf8) else {
            throw fail(.badHeader, "header is not valid UTF-8, expected JSON text")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(text, source: "JSON header")
        } catch {
            throw fail(.badHeader, "\(error), expected a JSON object of tensors")
        }
        guard case .object(let entries) = json else { throw fail(.badHeader, "header must be a JSON object of tensors") }

        var metadata: [String: String] = [:]
        var infos: [(name: String, dtype: SafeTensorDType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in entries {  // unique: the JSON reader refuses duplicate keys
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw fail(.badHeader, "__metadata__ must be an object of strings") }
                for (key, v) in pairs {
                    guard case .string(let s) = v else { throw fail(.badHeader, "__metadata__ value of '\(key)' must be a string") }
                    metadata[key] = s
                }
                continue
            }
            guard case .object = value else { throw fail(.badHeader, "tensor '\(name)' must be an object with dtype, shape and data_offsets") }
            guard let dtypeName = value["dtype"]?.stringValue else { throw fail(.badHeader, "tensor '\(name)' has no dtype string") }
            guard let dtype = SafeTensorDType(rawValue: dtypeName) else {
                let known = SafeTensorDType.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(.unknownDType, "tensor '\(name)' has dtype \(dtypeName), expected one of \(known)")
            }
            let dims = value["shape"]?.arrayValue ?? [.null]
            let shape = dims.compactMap(nonNegativeInteger)
            guard value["shape"]?.arrayValue != nil, shape.count == dims.count else {
                throw fail(.badShape, "tensor '\(name)' shape must be an array of non-negative integers")
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = nonNegativeInteger(offsets[0]), let end = nonNegativeInteger(offsets[1]), begin <= end else {
                throw fail(.badOffsets, "tensor '\(name)' data_offsets must be [begin, end] with 0 <= begin <= end")
            }
            infos.append((name, dtype, shape, begin, end))
        }

        // The data must be exactly the tensors laid end to end, in offset order: no overlap, no gap.
        let dataLength = total - dataStart
        infos.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expectedBegin = 0
        var tensors: [(name: String, tensor: SafeTensor)] = []
        for info in infos {
            let count = try SafeTensor.elementCount(info.shape, path: path, name: info.name)
            let (size, overflow) = count.multipliedReportingOverflow(by: info.dtype.byteSize)
            guard !overflow, info.end - info.begin == size else {
                throw fail(.sizeMismatch, "tensor '\(info.name)' data_offsets [\(info.begin), \(info.end)] hold \(info.end - info.begin) bytes, "
                           + "expected \(count) x \(info.dtype.byteSize) = \(overflow ? "more than \(Int.max)" : "\(size)") for \(info.dtype.rawValue) shape \(info.shape)")
            }
            guard info.begin >= expectedBegin else {
                throw fail(.badOffsets, "tensor '\(info.name)' data_offsets [\(info.begin), \(info.end)] overlap the previous tensor, which ends at \(expectedBegin)")
            }
            guard info.begin == expectedBegin else {
                throw fail(.badOffsets, "tensor '\(info.name)' starts at \(info.begin), expected \(expectedBegin) (no gap between tensors)")
            }
            guard info.end <= dataLength else {
                throw fail(.truncated, "tensor '\(info.name)' data_offsets [\(info.begin), \(info.end)] go beyond the \(dataLength) bytes of data after the header (file truncated?)")
            }
            let slice = data.subdata(in: (start + dataStart + info.begin)..<(start + dataStart + info.end))
            tensors.append((info.name, try SafeTensor(dtype: info.dtype, shape: info.shape, data: slice)))
            expectedBegin = info.end
        }
        guard expectedBegin == dataLength else {
            throw fail(.trailingData, "\(dataLength - expectedBegin) bytes follow the last tensor (data ends at \(expectedBegin) of \(dataLength)), expected none")
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }
}

/// An integral, non-negative JSON number that an Int holds exactly.
private func nonNegativeInteger(_ value: JSONValue) -> Int? {
    guard case .number(let v) = value, v >= 0, v == v.rounded(), v < 9_007_199_254_740_992 else { return nil }
    return Int(v)
}
