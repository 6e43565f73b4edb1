import Foundation
import XCTest
import TrainingLab

/// A fresh directory under the system temporary folder, removed when released.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "traininglab-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` inside the directory and returns the full path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }
}

/// Big-endian bytes of a 32-bit word.
func bigEndian(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }

/// The pixel the fixtures put at (image, row, column): distinct enough to catch layout mistakes.
func fixturePixel(_ image: Int, _ y: Int, _ x: Int) -> UInt8 { UInt8((image * 31 + y * 7 + x * 3) % 256) }

/// An IDX3 image file of `count` images of h x w filled with fixturePixel.
func idxImages(count: Int, height: Int, width: Int, magic: UInt32 = 0x0000_0803) -> [UInt8] {
    var bytes = bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(height)) + bigEndian(UInt32(width))
    for i in 0..<count { for y in 0..<height { for x in 0..<width { bytes.append(fixturePixel(i, y, x)) } } }
    return bytes
}

/// An IDX1 label file.
func idxLabels(_ labels: [UInt8], magic: UInt32 = 0x0000_0801) -> [UInt8] {
    bigEndian(magic) + bigEndian(UInt32(labels.count)) + labels
}

/// CIFAR records: label bytes then R, G, B planes of 32x32; channel c of image i holds fixturePixel(i + 50 c, y, x).
func cifarRecords(_ labels: [[UInt8]], firstImage: Int = 0) -> [UInt8] {
    var bytes: [UInt8] = []
    for (k, labelBytes) in labels.enumerated() {
        bytes += labelBytes
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { bytes.append(fixturePixel(firstImage + k + 50 * c, y, x)) } } }
    }
    return bytes
}

/// gzip member holding `data` in stored (uncompressed) deflate blocks, with a correct CRC-32 and size.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]
    var offset = 0
    repeat {
        let n = min(65535, data.count - offset)
        let last: UInt8 = offset + n == data.count ? 1 : 0
        out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
        out += data[offset..<(offset + n)]
        offset += n
    } while offset < data.count
    let crc = crc32(data), size = UInt32(truncatingIfNeeded: data.count)
    for v in [crc, size] { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
    return out
}

func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Asserts that `body` throws a DataError of `kind` whose description mentions every fragment.
func assertDataError<T>(_ kind: DataError.Kind, mentioning fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected a DataError (\(kind.rawValue)), nothing was thrown", file: file, line: line)
    } catch let error as DataError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.description.contains(fragment), "'\(error)' does not mention '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a DataError, got \(error)", file: file, line: line)
    }
}

/// A small synthetic dataset: `perClass[k]` images of class k, channels x side x side, pixel values from the index.
func syntheticDataset(perClass: [Int], channels: Int = 1, side: Int = 4, name: String = "synthetic") -> Dataset {
    var labels: [Int32] = []
    for (k, n) in perClass.enumerated() { labels += [Int32](repeating: Int32(k), count: n) }
    // Interleave classes so class blocks are not contiguous.
    var generator = SeededGenerator(seed: 12345)
    generator.shuffle(&labels)
    let size = channels * side * side
    let pixels = (0..<(labels.count * size)).map { UInt8(($0 / size * 13 + $0 % size * 5) % 256) }
    return try! Dataset(name: name, channels: channels, height: side, width: side, pixels: pixels, labels: labels,
                             classCount: perClass.count)
}

/// Fashion-MNIST from the Debian package, loaded once per test process; skips when not installed.
enum RealFashionMNIST {
    static let directory = DatasetSpec.defaultFashionMNISTDirectory
    private static var cached: LoadedDataset?

    static func load() throws -> LoadedDataset {
        guard FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST not installed at \(directory) (Debian package dataset-fashion-mnist)")
        }
        if let cached { return cached }
        let loaded = try DatasetSpec(parsing: "fashion-mnist").load()
        cached = loaded
        return loaded
    }
}
