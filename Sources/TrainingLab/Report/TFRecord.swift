/// TFRecord framing, the container of TensorBoard event files: per record the payload length (UInt64,
/// little-endian), the masked CRC-32C of those 8 bytes, the payload, and the masked CRC-32C of the payload.
public enum TFRecord {
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        let length = littleEndian(UInt64(payload.count))
        return length + littleEndian(CRC32C.masked(length)) + payload + littleEndian(CRC32C.masked(payload))
    }

    static func littleEndian<Word: FixedWidthInteger>(_ value: Word) -> [UInt8] {
        (0..<Word.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}
