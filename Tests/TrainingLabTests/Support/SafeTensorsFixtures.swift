import Foundation

/// The bytes of a safetensors file from a header text and data bytes, as no writer would produce them: for tests
/// of the reader. `length` overrides the 8-byte header length field.
func rawSafeTensors(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
    var out = Data()
    withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

/// 60 000 nested empty arrays, as in the crafted checkpoint of issue 12 that overflowed the stack of a
/// recursive JSON reader.
let deeplyNestedJSONArray = String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)
