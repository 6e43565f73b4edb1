import Foundation

/// Readers of the binary versions of CIFAR-10 (`data_batch_1..5.bin`, `test_batch.bin`: records of 1 label
/// byte + 3072 pixel bytes, R, G and B planes of 32x32 row-major) and CIFAR-100 (`train.bin`, `test.bin`:
/// coarse label byte, fine label byte, 3072 pixel bytes). Files may also be gzip-compressed.
public enum CIFARReader {
    public static let imageBytes = 3 * 32 * 32
    public static let cifar10TrainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let cifar10TestFile = "test_batch.bin"

    /// CIFAR-10 training (50000 images in five files) or test (10000) split from `directory`.
    public static func loadCIFAR10(directory: String, train: Bool) throws -> Dataset {
        let files = train ? cifar10TrainFiles : [cifar10TestFile]
        var pixels: [UInt8] = [], labels: [Int32] = []
        for file in files {
            try readRecords(path: join(directory, file), labelBytes: 1, labelIndex: 0, classCount: 10,
                            pixels: &pixels, labels: &labels)
        }
        let names = classNames(join(directory, "batches.meta.txt"), count: 10)
        return try Dataset(name: train ? "cifar10-train" : "cifar10-test", channels: 3, height: 32, width: 32,
                                pixels: pixels, labels: labels, classCount: 10, classNames: names)
    }

    /// CIFAR-100 training (50000) or test (10000) split; fine labels (100 classes) unless `coarse` (20 classes).
    public static func loadCIFAR100(directory: String, train: Bool, coarse: Bool = false) throws -> Dataset {
        var pixels: [UInt8] = [], labels: [Int32] = []
        let classes = coarse ? 20 : 100
        try readRecords(path: join(directory, train ? "train.bin" : "test.bin"), labelBytes: 2, labelIndex: coarse ? 0 : 1,
                        classCount: classes, pixels: &pixels, labels: &labels)
        let names = classNames(join(directory, coarse ? "coarse_label_names.txt" : "fine_label_names.txt"), count: classes)
        return try Dataset(name: train ? "cifar100-train" : "cifar100-test", channels: 3, height: 32, width: 32,
                                pixels: pixels, labels: labels, classCount: classes, classNames: names)
    }

    /// Appends the records of one file; every label byte is range-checked (CIFAR-100 checks both).
    static func readRecords(path: String, labelBytes: Int, labelIndex: Int, classCount: Int,
                            pixels: inout [UInt8], labels: inout [Int32]) throws {
        let file = try FileBytes(path: path)
        let record = labelBytes + imageBytes
        let layout = labelBytes == 1 ? "1 label byte + 3072 pixel bytes" : "coarse and fine label bytes + 3072 pixel bytes"
        guard file.count > 0, file.count % record == 0 else {
            throw DataError(.badSize, path: path,
                            "size \(file.count) bytes is not a positive multiple of the \(record)-byte record (\(layout)): truncated or not a CIFAR binary file")
        }
        let count = file.count / record
        let limits = labelBytes == 1 ? [classCount] : [20, 100]
        pixels.reserveCapacity(pixels.count + count * imageBytes)
        labels.reserveCapacity(labels.count + count)
        for r in 0..<count {
            let base = r * record
            for j in 0..<labelBytes where Int(file.bytes[base + j]) >= limits[j] {
                let which = labelBytes == 1 ? "label" : (j == 0 ? "coarse label" : "fine label")
                throw DataError(.labelOutOfRange, path: path,
                                "\(which) \(file.bytes[base + j]) of record \(r) is out of range, expected 0..<\(limits[j])")
            }
            labels.append(Int32(file.bytes[base + labelIndex]))
            pixels.append(contentsOf: file.bytes[(base + labelBytes)..<(base + record)])
        }
    }

    /// Class names from the text file shipped with the binary version, when present and complete.
    static func classNames(_ path: String, count: Int) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.count == count ? names : []
    }

    static func join(_ directory: String, _ file: String) -> String {
        directory.hasSuffix("/") ? directory + file : directory + "/" + file
    }
}
