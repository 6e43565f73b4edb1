/// Reader of the IDX format of the MNIST family (MNIST, Fashion-MNIST, KMNIST), gzip-compressed or plain:
/// a big-endian header (magic 0x00000803 for 3-D unsigned-byte images, 0x00000801 for 1-D labels, then one
/// 32-bit size per dimension) followed by the raw bytes.
public enum IDXReader {
    public static let imagesMagic: UInt32 = 0x0000_0803
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// The images of an IDX3 file: pixels (count, height, width) row-major.
    public static func readImages(path: String) throws -> (pixels: [UInt8], count: Int, height: Int, width: Int) {
        let file = try FileBytes(path: path)
        let dims = try header(file, magic: imagesMagic, what: "IDX images (unsigned bytes, 3 dimensions)")
        let (count, height, width) = (dims[0], dims[1], dims[2])
        guard height > 0, width > 0 else {
            throw DataError(.badSize, path: path, "image size \(height)x\(width), expected rows and columns > 0")
        }
        // Three 32-bit sizes can multiply beyond Int (found by `make fuzz`): such a header announces more than any file holds.
        let (area, areaOverflow) = height.multipliedReportingOverflow(by: width)
        let (total, totalOverflow) = count.multipliedReportingOverflow(by: area)
        guard !areaOverflow, !totalOverflow else {
            throw DataError(.badSize, path: path, "header announces \(count) images of \(height)x\(width) pixels, more bytes than a file can hold")
        }
        let payload = try checkedPayload(file, headerBytes: 16, expected: total, what: "\(count) images of \(height)x\(width) pixels")
        return (file.copy(payload), count, height, width)
    }

    /// The labels of an IDX1 file, each checked to be < classCount.
    public static func readLabels(path: String, classCount: Int) throws -> [Int32] {
        let file = try FileBytes(path: path)
        let dims = try header(file, magic: labelsMagic, what: "IDX labels (unsigned bytes, 1 dimension)")
        let payload = try checkedPayload(file, headerBytes: 8, expected: dims[0], what: "\(dims[0]) labels")
        var labels = [Int32](repeating: 0, count: dims[0])
        for (i, offset) in payload.enumerated() {
            let label = file.bytes[offset]
            if Int(label) >= classCount {
                throw DataError(.labelOutOfRange, path: path, "label \(label) of record \(i) is out of range, expected 0..<\(classCount)")
            }
            labels[i] = Int32(label)
        }
        return labels
    }

    /// An image dataset from a pair of IDX files; the counts must agree.
    public static func load(images: String, labels: String, classCount: Int = 10, name: String,
                            classNames: [String] = []) throws -> Dataset {
        let image = try readImages(path: images)
        let label = try readLabels(path: labels, classCount: classCount)
        guard image.count == label.count else {
            throw DataError(.shapeMismatch, path: labels,
                            "has \(label.count) labels but \(images) has \(image.count) images, expected the same count")
        }
        return try Dataset(name: name, channels: 1, height: image.height, width: image.width, pixels: image.pixels,
                                labels: label, classCount: classCount, classNames: classNames)
    }

    /// Checks the magic number and returns the dimension sizes.
    private static func header(_ file: FileBytes, magic: UInt32, what: String) throws -> [Int] {
        let rank = Int(magic & 0xFF)
        let headerBytes = 4 + 4 * rank
        guard file.count >= 4 else {
            throw DataError(.truncated, path: file.path, "truncated: \(file.count) bytes, expected a \(headerBytes)-byte header of \(what)")
        }
        let found = file.bigEndianUInt32(at: 0)
        guard found == magic else {
            throw DataError(.badMagic, path: file.path, "wrong magic number \(hex(found)), expected \(hex(magic)) for \(what)")
        }
        guard file.count >= headerBytes else {
            throw DataError(.truncated, path: file.path, "truncated: \(file.count) bytes, expected a \(headerBytes)-byte header of \(what)")
        }
        return (0..<rank).map { Int(file.bigEndianUInt32(at: 4 + 4 * $0)) }
    }

    /// The byte range of the payload after the header, which must hold exactly `expected` bytes.
    private static func checkedPayload(_ file: FileBytes, headerBytes: Int, expected: Int, what: String) throws -> Range<Int> {
        let found = file.count - headerBytes
        if found < expected {
            throw DataError(.truncated, path: file.path,
                            "truncated: \(found) bytes after the \(headerBytes)-byte header, expected \(expected) (\(what))")
        }
        if found > expected {
            throw DataError(.badSize, path: file.path,
                            "\(found - expected) unexpected bytes after the data: header announces \(what) = \(expected) bytes, file holds \(found)")
        }
        return headerBytes..<file.count
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
