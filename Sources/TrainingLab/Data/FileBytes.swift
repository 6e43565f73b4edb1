import CTrainingLab
import Foundation

/// The whole content of a file (gunzipped when it is gzip data), read by the C core's tl_io_read_file and
/// owned until deinit, so readers parse it in place and copy only the payload they keep.
final class FileBytes {
    let path: String
    let bytes: UnsafeBufferPointer<UInt8>

    init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(.missingFile, path: path, "missing file")
        }
        if isDirectory.boolValue { throw DataError(.unreadable, path: path, "is a directory, expected a file") }
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = tl_io_read_file(path, &data, &size)
        if status != 0 {
            // The core's message names the function and the path; the DataError names the path once.
            let message = String(cString: tl_last_error())
                .replacingOccurrences(of: "tl_io_read_file: ", with: "")
                .replacingOccurrences(of: " in '\(path)'", with: "")
                .replacingOccurrences(of: " '\(path)'", with: "")
            throw DataError(status == Int32(TL_ERR_FORMAT.rawValue) ? .truncated : .unreadable, path: path, message)
        }
        bytes = UnsafeBufferPointer(start: data, count: size)
    }

    deinit { tl_io_free(UnsafeMutableRawPointer(mutating: bytes.baseAddress)) }

    var count: Int { bytes.count }

    /// Big-endian 32-bit word at byte `offset` (the caller checked the bounds).
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    /// A copy of bytes[range].
    func copy(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
}
