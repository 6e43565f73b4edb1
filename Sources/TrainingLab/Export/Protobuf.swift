/// The protocol-buffers wire format, as much of it as ONNX files and TensorBoard event files need: varint fields
/// (wire type 0), 64-bit doubles (1), length-delimited strings, bytes and nested messages (2) and 32-bit floats (5). Repeated fields are written
/// one element per tag (unpacked), which every reader accepts. Fields are written in the order called.
struct ProtobufMessage {
    private(set) var bytes: [UInt8] = []

    private mutating func raw(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func tag(_ field: Int, _ wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }

    /// An int32/int64/enum field; negative values take ten bytes, as the format defines.
    mutating func int(_ field: Int, _ value: Int) {
        tag(field, 0)
        raw(UInt64(bitPattern: Int64(value)))
    }

    mutating func double(_ field: Int, _ value: Double) {
        tag(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func float(_ field: Int, _ value: Float) {
        tag(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func data(_ field: Int, _ payload: [UInt8]) {
        tag(field, 2)
        raw(UInt64(payload.count))
        bytes += payload
    }

    mutating func string(_ field: Int, _ text: String) { data(field, Array(text.utf8)) }

    mutating func message(_ field: Int, _ message: ProtobufMessage) { data(field, message.bytes) }
}
