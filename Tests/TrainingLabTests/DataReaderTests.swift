import Foundation
import XCTest
import TrainingLab

final class IDXReaderTests: XCTestCase {
    func testReadsPlainAndGzippedFiles() throws {
        let dir = TemporaryDirectory()
        let images = idxImages(count: 5, height: 3, width: 4)
        let labels = idxLabels([0, 9, 3, 3, 1])
        dir.write("plain-images", images)
        dir.write("plain-labels", labels)
        dir.write("gz-images.gz", gzipStored(images))
        dir.write("gz-labels.gz", gzipStored(labels))
        for prefix in ["plain", "gz"] {
            let suffix = prefix == "gz" ? ".gz" : ""
            let data = try IDXReader.load(images: dir.path + "/\(prefix)-images\(suffix)", labels: dir.path + "/\(prefix)-labels\(suffix)",
                                          name: prefix)
            XCTAssertEqual(data.count, 5)
            XCTAssertEqual(data.sampleShape, [1, 3, 4])
            XCTAssertEqual(data.labels, [0, 9, 3, 3, 1])
            XCTAssertEqual(Array(data.image(2)!), (0..<3).flatMap { y in (0..<4).map { x in fixturePixel(2, y, x) } })
            XCTAssertEqual(data.classCounts(), [1, 1, 0, 2, 0, 0, 0, 0, 0, 1])
        }
    }

    func testWrongMagicNamesFileAndExpectedMagic() {
        let dir = TemporaryDirectory()
        let path = dir.write("swapped-images", idxLabels([1, 2]))
        assertDataError(.badMagic, mentioning: [path, "wrong magic", "0x00000801", "expected 0x00000803"]) {
            try IDXReader.readImages(path: path)
        }
        let labels = dir.write("swapped-labels", idxImages(count: 1, height: 2, width: 2))
        assertDataError(.badMagic, mentioning: [labels, "0x00000803", "expected 0x00000801"]) {
            try IDXReader.readLabels(path: labels, classCount: 10)
        }
    }

    func testTruncatedFiles() {
        let dir = TemporaryDirectory()
        let full = idxImages(count: 4, height: 5, width: 5)
        let payload = dir.write("short-images", Array(full.prefix(full.count - 7)))
        assertDataError(.truncated, mentioning: [payload, "truncated", "expected 100"]) { try IDXReader.readImages(path: payload) }
        let header = dir.write("short-header", Array(full.prefix(10)))
        assertDataError(.truncated, mentioning: [header, "truncated", "16-byte header"]) { try IDXReader.readImages(path: header) }
        let tiny = dir.write("tiny", [0, 0])
        assertDataError(.truncated, mentioning: [tiny, "truncated"]) { try IDXReader.readImages(path: tiny) }
        let labels = dir.write("short-labels", Array(idxLabels([1, 2, 3]).dropLast()))
        assertDataError(.truncated, mentioning: [labels, "truncated", "expected 3"]) { try IDXReader.readLabels(path: labels, classCount: 10) }
    }

    func testTruncatedGzipStream() {
        let dir = TemporaryDirectory()
        let gz = gzipStored(idxImages(count: 20, height: 8, width: 8))
        let path = dir.write("cut-images.gz", Array(gz.prefix(gz.count / 2)))
        assertDataError(.truncated, mentioning: [path, "gzip"]) { try IDXReader.readImages(path: path) }
    }

    func testTrailingBytesAreAnError() {
        let dir = TemporaryDirectory()
        let path = dir.write("long-images", idxImages(count: 2, height: 3, width: 3) + [1, 2, 3])
        assertDataError(.badSize, mentioning: [path, "3 unexpected bytes", "18 bytes"]) { try IDXReader.readImages(path: path) }
    }

    /// Found by `make fuzz` (Tests/Fuzz/corpus/idx/crash-image-size-overflow.idx): sizes whose product overflows Int
    /// trapped on the multiplication.
    func testImageSizesBeyondAnyFileAreRefused() {
        let dir = TemporaryDirectory()
        let path = dir.write("huge-images", bigEndian(0x0000_0803) + bigEndian(0xFFFF_FCFF) + bigEndian(0xFEFD_0304) + bigEndian(0x0506_0708))
        assertDataError(.badSize, mentioning: [path, "4294966527 images of 4277994244x84281096 pixels", "more bytes than a file can hold"]) {
            try IDXReader.readImages(path: path)
        }
    }

    func testLabelOutOfRange() {
        let dir = TemporaryDirectory()
        let path = dir.write("bad-labels", idxLabels([1, 2, 10, 3]))
        assertDataError(.labelOutOfRange, mentioning: [path, "label 10", "record 2", "0..<10"]) {
            try IDXReader.readLabels(path: path, classCount: 10)
        }
    }

    func testImageAndLabelCountsMustAgree() {
        let dir = TemporaryDirectory()
        let images = dir.write("images", idxImages(count: 3, height: 2, width: 2))
        let labels = dir.write("labels", idxLabels([1, 2]))
        assertDataError(.shapeMismatch, mentioning: [labels, images, "2 labels", "3 images"]) {
            try IDXReader.load(images: images, labels: labels, name: "x")
        }
    }

    func testMissingFile() {
        let dir = TemporaryDirectory()
        let path = dir.path + "/nowhere-images.gz"
        assertDataError(.missingFile, mentioning: [path, "missing file"]) { try IDXReader.readImages(path: path) }
        assertDataError(.unreadable, mentioning: [dir.path, "directory"]) { try IDXReader.readImages(path: dir.path) }
    }

    func testSpecLoadsIDXDirectoryInBothSpellings() throws {
        let dir = TemporaryDirectory()
        dir.write("train-images-idx3-ubyte.gz", gzipStored(idxImages(count: 20, height: 6, width: 6)))
        dir.write("train-labels-idx1-ubyte.gz", gzipStored(idxLabels((0..<20).map { UInt8($0 % 10) })))
        dir.write("t10k-images.idx3-ubyte", idxImages(count: 10, height: 6, width: 6))
        dir.write("t10k-labels.idx1-ubyte", idxLabels((0..<10).map { UInt8(9 - $0) }))
        let data = try DatasetSpec(parsing: "mnist=\(dir.path)").load()
        XCTAssertEqual(data.train.count, 20)
        XCTAssertEqual(data.test.count, 10)
        XCTAssertEqual(data.test.labels.first, 9)
        XCTAssertEqual(data.test.mean, data.train.mean, "the test set is normalised with the training statistics")
        XCTAssertEqual(data.train.classNames.count, 10)
        let missing = TemporaryDirectory()
        assertDataError(.missingFile, mentioning: [missing.path + "/train-images-idx3-ubyte.gz", "missing file"]) {
            try DatasetSpec(parsing: "mnist=\(missing.path)").load()
        }
    }
}

final class CIFARReaderTests: XCTestCase {
    private func writeCIFAR10(_ dir: TemporaryDirectory, perFile: Int = 3) {
        for b in 1...5 {
            dir.write("data_batch_\(b).bin", cifarRecords((0..<perFile).map { [UInt8(($0 + b) % 10)] }, firstImage: (b - 1) * perFile))
        }
        dir.write("test_batch.bin", cifarRecords([[7], [8]], firstImage: 100))
    }

    func testCIFAR10LayoutAndLabels() throws {
        let dir = TemporaryDirectory()
        writeCIFAR10(dir)
        dir.write("batches.meta.txt", Array("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".utf8))
        let train = try CIFARReader.loadCIFAR10(directory: dir.path, train: true)
        XCTAssertEqual(train.count, 15)
        XCTAssertEqual(train.sampleShape, [3, 32, 32])
        XCTAssertEqual(Array(train.labels.prefix(4)), [1, 2, 3, 2])
        XCTAssertEqual(train.classNames.last, "truck")
        // Image 4 (second record of data_batch_2): channel c, row y, column x.
        let image = Array(train.image(4)!)
        for c in 0..<3 { XCTAssertEqual(image[c * 1024 + 5 * 32 + 9], fixturePixel(4 + 50 * c, 5, 9)) }
        let test = try CIFARReader.loadCIFAR10(directory: dir.path, train: false)
        XCTAssertEqual(test.labels, [7, 8])
        XCTAssertEqual(test.image(1)!.first, fixturePixel(101, 0, 0))
        XCTAssertEqual(train.mean.count, 3)
    }

    func testCIFAR10MissingBatchNamesIt() {
        let dir = TemporaryDirectory()
        writeCIFAR10(dir)
        try? FileManager.default.removeItem(atPath: dir.path + "/data_batch_3.bin")
        assertDataError(.missingFile, mentioning: ["data_batch_3.bin", "missing file"]) {
            try CIFARReader.loadCIFAR10(directory: dir.path, train: true)
        }
    }

    func testCIFAR10SizeNotMultipleOfRecord() {
        let dir = TemporaryDirectory()
        writeCIFAR10(dir)
        let path = dir.write("data_batch_2.bin", Array(cifarRecords([[1], [2]]).dropLast(10)))
        assertDataError(.badSize, mentioning: [path, "3073-byte record", "truncated"]) {
            try CIFARReader.loadCIFAR10(directory: dir.path, train: true)
        }
        let empty = dir.write("test_batch.bin", [])
        assertDataError(.badSize, mentioning: [empty, "size 0"]) { try CIFARReader.loadCIFAR10(directory: dir.path, train: false) }
    }

    func testCIFAR10LabelOutOfRange() {
        let dir = TemporaryDirectory()
        writeCIFAR10(dir)
        let path = dir.write("test_batch.bin", cifarRecords([[3], [10]]))
        assertDataError(.labelOutOfRange, mentioning: [path, "label 10", "record 1", "0..<10"]) {
            try CIFARReader.loadCIFAR10(directory: dir.path, train: false)
        }
    }

    func testCIFAR100FineAndCoarseLabels() throws {
        let dir = TemporaryDirectory()
        dir.write("train.bin", gzipStored(cifarRecords([[3, 42], [19, 99], [0, 0]])))
        dir.write("test.bin", cifarRecords([[5, 7]]))
        let fine = try CIFARReader.loadCIFAR100(directory: dir.path, train: true)
        XCTAssertEqual(fine.labels, [42, 99, 0])
        XCTAssertEqual(fine.classCount, 100)
        XCTAssertEqual(fine.image(1)![1024 + 33], fixturePixel(1 + 50, 1, 1))
        let coarse = try CIFARReader.loadCIFAR100(directory: dir.path, train: true, coarse: true)
        XCTAssertEqual(coarse.labels, [3, 19, 0])
        XCTAssertEqual(coarse.classCount, 20)
        let spec = try DatasetSpec(parsing: "cifar100=\(dir.path),labels=coarse").load()
        XCTAssertEqual(spec.test.labels, [5])
    }

    func testCIFAR100CorruptFiles() {
        let dir = TemporaryDirectory()
        let fine = dir.write("train.bin", cifarRecords([[3, 42], [2, 100]]))
        assertDataError(.labelOutOfRange, mentioning: [fine, "fine label 100", "record 1", "0..<100"]) {
            try CIFARReader.loadCIFAR100(directory: dir.path, train: true)
        }
        let coarse = dir.write("train.bin", cifarRecords([[20, 1]]))
        assertDataError(.labelOutOfRange, mentioning: [coarse, "coarse label 20", "0..<20"]) {
            try CIFARReader.loadCIFAR100(directory: dir.path, train: true)
        }
        // A CIFAR-10 file read as CIFAR-100: 3073-byte records are not a multiple of 3074.
        let wrong = dir.write("test.bin", cifarRecords([[1], [2], [3]]))
        assertDataError(.badSize, mentioning: [wrong, "3074-byte record"]) { try CIFARReader.loadCIFAR100(directory: dir.path, train: false) }
        assertDataError(.missingFile, mentioning: [dir.path + "/nothere/train.bin"]) {
            try CIFARReader.loadCIFAR100(directory: dir.path + "/nothere", train: true)
        }
    }
}

final class FileReadTests: XCTestCase {
    private func read(_ path: String) -> (Int32, [UInt8]) {
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = tl_io_read_file(path, &data, &size)
        defer { tl_io_free(data) }
        return (status, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    }

    func testPlainGzipAndConcatenatedMembers() {
        let dir = TemporaryDirectory()
        let payload = (0..<200_000).map { UInt8(($0 * 7) % 251) }
        XCTAssertEqual(read(dir.write("plain", payload)).1, payload)
        XCTAssertEqual(read(dir.write("one.gz", gzipStored(payload))).1, payload)
        let joined = gzipStored(Array(payload[..<1000])) + gzipStored(Array(payload[1000...]))
        XCTAssertEqual(read(dir.write("two.gz", joined)).1, payload)
        let empty = read(dir.write("empty", []))
        XCTAssertEqual(empty.0, 0)
        XCTAssertEqual(empty.1, [])
    }

    func testErrorsNameThePath() {
        let dir = TemporaryDirectory()
        let missing = dir.path + "/absent.gz"
        XCTAssertEqual(read(missing).0, Int32(TL_ERR_IO.rawValue))
        XCTAssertTrue(String(cString: tl_last_error()).contains(missing))
        var gz = gzipStored(Array(repeating: 5, count: 5000))
        gz[gz.count - 6] ^= 0xFF // corrupt the CRC
        let path = dir.write("badcrc.gz", gz)
        XCTAssertEqual(read(path).0, Int32(TL_ERR_FORMAT.rawValue))
        XCTAssertTrue(String(cString: tl_last_error()).contains(path), String(cString: tl_last_error()))
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        XCTAssertEqual(tl_io_read_file(nil, &data, &size), Int32(TL_ERR_NULL_POINTER.rawValue))
    }
}

final class RealFashionMNISTTests: XCTestCase {
    func testLoadsTheDebianPackage() throws {
        let data = try RealFashionMNIST.load()
        XCTAssertEqual(data.train.count, 60000)
        XCTAssertEqual(data.test.count, 10000)
        XCTAssertEqual(data.classCount, 10)
        XCTAssertEqual(data.sampleShape, [1, 28, 28])
        XCTAssertEqual(data.train.classCounts(), [Int](repeating: 6000, count: 10))
        XCTAssertEqual(data.test.classCounts(), [Int](repeating: 1000, count: 10))
        XCTAssertEqual(Double(data.train.mean[0]), 0.2860, accuracy: 0.0005)
        XCTAssertEqual(Double(data.train.std[0]), 0.3530, accuracy: 0.0005)
        XCTAssertEqual(data.train.classNames[9], "Ankle boot")
        // The first training image of Fashion-MNIST is an ankle boot (label 9).
        XCTAssertEqual(data.train.labels[0], 9)
    }
}
