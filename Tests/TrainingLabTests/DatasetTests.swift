import Foundation
import XCTest
import TrainingLab

final class SeededGeneratorTests: XCTestCase {
    func testStreamIsTheCoreStream() {
        var g = SeededGenerator(seed: 0xDEAD_BEEF_1234)
        for i in 0..<10 {
            let word = g.next()
            XCTAssertEqual(UInt32(truncatingIfNeeded: word), tl_rng_u32(0xDEAD_BEEF_1234, UInt64(2 * i)))
            XCTAssertEqual(UInt32(truncatingIfNeeded: word >> 32), tl_rng_u32(0xDEAD_BEEF_1234, UInt64(2 * i + 1)))
        }
    }

    func testSplitsAreDeterministicAndDistinct() {
        let root = SeededGenerator(seed: 7)
        XCTAssertEqual(root.split(3).seed, SeededGenerator(seed: 7).split(3).seed)
        XCTAssertEqual(root.split("shuffle").seed, root.split("shuffle").seed)
        let seeds = Set((0..<1000).map { root.split(UInt64($0)).seed } + [root.split("a").seed, root.split("b").seed, root.seed])
        XCTAssertEqual(seeds.count, 1003)
        XCTAssertNotEqual(SeededGenerator(seed: 8).split(3).seed, root.split(3).seed)
    }

    func testUniformIntAndPermutation() {
        var g = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[g.uniformInt(below: 7)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
        let p = g.permutation(1000)
        XCTAssertEqual(p.sorted(), Array(0..<1000))
        XCTAssertNotEqual(p, Array(0..<1000))
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        XCTAssertEqual(a.permutation(50), b.permutation(50))
        let s = a.sample(10, from: 20)
        XCTAssertEqual(Set(s).count, 10)
        XCTAssertTrue(s.allSatisfy { $0 >= 0 && $0 < 20 })
    }

    func testGammaAndDirichletMoments() {
        var g = SeededGenerator(seed: 2)
        for shape in [0.1, 0.5, 1.0, 3.0] {
            let draws = (0..<20_000).map { _ in g.gamma(shape: shape) }
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
            XCTAssertEqual(mean, shape, accuracy: 0.05 * max(1, shape), "Gamma(\(shape)) mean")
            XCTAssertEqual(variance, shape, accuracy: 0.12 * max(1, shape), "Gamma(\(shape)) variance")
        }
        let alpha = [0.5, 1.0, 2.5]
        var mean = [0.0, 0.0, 0.0]
        for _ in 0..<10_000 {
            let p = g.dirichlet(alpha)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
            for k in 0..<3 { mean[k] += p[k] / 10_000 }
        }
        for k in 0..<3 { XCTAssertEqual(mean[k], alpha[k] / 4, accuracy: 0.01) }
        // Tiny concentrations must not underflow into NaN.
        XCTAssertTrue(g.dirichlet([Double](repeating: 0.001, count: 50)).allSatisfy { $0.isFinite })
    }
}

final class DatasetTests: XCTestCase {
    func testValidationOfShapesAndLabels() {
        assertDataError(.shapeMismatch, mentioning: ["3 pixel bytes", "2 labels"]) {
            try Dataset(name: "x", channels: 1, height: 1, width: 1, pixels: [1, 2, 3], labels: [0, 1], classCount: 2)
        }
        assertDataError(.labelOutOfRange, mentioning: ["label 2", "sample 1"]) {
            try Dataset(name: "x", channels: 1, height: 1, width: 1, pixels: [1, 2], labels: [0, 2], classCount: 2)
        }
        assertDataError(.invalidArgument, mentioning: ["subset index 5"]) { try syntheticDataset(perClass: [2, 2]).subset([0, 5]) }
    }

    func testChannelStatisticsAreExact() throws {
        // Two 1x2 images with 2 channels: channel 0 = {0, 255, 255, 0}, channel 1 = {51, 51, 51, 51}.
        let data = try Dataset(name: "s", channels: 2, height: 1, width: 2, pixels: [0, 255, 51, 51, 255, 0, 51, 51],
                                    labels: [0, 0], classCount: 1)
        XCTAssertEqual(data.mean[0], 0.5, accuracy: 1e-7)
        XCTAssertEqual(data.std[0], 0.5, accuracy: 1e-7)
        XCTAssertEqual(data.mean[1], 0.2, accuracy: 1e-7)
        XCTAssertEqual(data.std[1], 1, "a constant channel gets std 1")
    }

    func testSubsetKeepsProvenanceAndStatistics() throws {
        let data = syntheticDataset(perClass: [3, 4, 5])
        let sub = try data.subset([7, 2, 2])
        XCTAssertEqual(sub.sourceIndices, [7, 2, 2])
        XCTAssertEqual(sub.labels, [data.labels[7], data.labels[2], data.labels[2]])
        XCTAssertEqual(sub.image(0)!, data.image(7)!)
        XCTAssertEqual(sub.mean, data.mean)
        let subsub = try sub.subset([1])
        XCTAssertEqual(subsub.sourceIndices, [2])
    }

    func testKeepingClassesRelabels() throws {
        let data = syntheticDataset(perClass: [2, 3, 4, 5])
        let kept = try data.keepingClasses([3, 1])
        XCTAssertEqual(kept.classCount, 2)
        XCTAssertEqual(kept.classCounts(), [5, 3])
        for i in 0..<kept.count { XCTAssertEqual(data.labels[kept.sourceIndices[i]], kept.labels[i] == 0 ? 3 : 1) }
        assertDataError(.invalidArgument, mentioning: ["distinct"]) { try data.keepingClasses([1, 1]) }
    }
}

final class LongTailTests: XCTestCase {
    func testExponentialProfileCounts() {
        XCTAssertEqual(try Dataset.longTailedCounts(maxCount: 6000, classes: 10, ratio: 10),
                       [6000, 4645, 3596, 2784, 2156, 1669, 1292, 1000, 774, 600])
        XCTAssertEqual(try Dataset.longTailedCounts(maxCount: 500, classes: 10, ratio: 100),
                       [500, 299, 179, 107, 64, 38, 23, 13, 8, 5])
        XCTAssertEqual(try Dataset.longTailedCounts(maxCount: 100, classes: 5, ratio: 3), [100, 75, 57, 43, 33])
        XCTAssertEqual(try Dataset.longTailedCounts(maxCount: 100, classes: 5, ratio: 10, profile: .step), [100, 100, 10, 10, 10])
        XCTAssertEqual(try Dataset.longTailedCounts(maxCount: 7, classes: 3, ratio: 1), [7, 7, 7])
        assertDataError(.invalidArgument, mentioning: ["ratio >= 1"]) { try Dataset.longTailedCounts(maxCount: 7, classes: 3, ratio: 0.5) }
    }

    func testLongTailedSubsetHasExactCountsAndIsSeeded() throws {
        let data = syntheticDataset(perClass: [100, 100, 100, 100, 100])
        let lt = try data.longTailed(ratio: 3, seed: 1)
        XCTAssertEqual(lt.classCounts(), [100, 75, 57, 43, 33])
        XCTAssertEqual(lt.sourceIndices, try data.longTailed(ratio: 3, seed: 1).sourceIndices)
        XCTAssertNotEqual(lt.sourceIndices, try data.longTailed(ratio: 3, seed: 2).sourceIndices)
        XCTAssertEqual(lt.sourceIndices, lt.sourceIndices.sorted(), "the subset keeps the dataset order")
        for i in 0..<lt.count { XCTAssertEqual(lt.labels[i], data.labels[lt.sourceIndices[i]]) }
        XCTAssertThrowsError(try data.longTailed(ratio: 0.5, seed: 1))
    }

    func testFashionMNISTLongTailed() throws {
        let real = try RealFashionMNIST.load()
        let lt = try real.train.longTailed(ratio: 10, seed: 0)
        XCTAssertEqual(lt.classCounts(), [6000, 4645, 3596, 2784, 2156, 1669, 1292, 1000, 774, 600])
        XCTAssertEqual(lt.count, 24516)
    }
}

final class BalancedSplitTests: XCTestCase {
    func testBalancedQuotaFillsShortClasses() {
        XCTAssertEqual(try Dataset.balancedQuota(total: 10, available: [5, 5, 5]), [4, 3, 3])
        XCTAssertEqual(try Dataset.balancedQuota(total: 12, available: [1, 10, 10]), [1, 6, 5])
        XCTAssertEqual(try Dataset.balancedQuota(total: 6, available: [2, 2, 2]), [2, 2, 2])
        XCTAssertThrowsError(try Dataset.balancedQuota(total: 7, available: [2, 2, 2]))
    }

    func testBalancedSubsetIsBalancedAndSeeded() throws {
        let data = syntheticDataset(perClass: [50, 60, 70, 80])
        let sub = try data.balancedSubset(40, seed: 3)
        XCTAssertEqual(sub.classCounts(), [10, 10, 10, 10])
        XCTAssertEqual(sub.sourceIndices, try data.balancedSubset(40, seed: 3).sourceIndices)
        XCTAssertNotEqual(sub.sourceIndices, try data.balancedSubset(40, seed: 4).sourceIndices)
        XCTAssertEqual(Set(sub.sourceIndices).count, 40)
        XCTAssertThrowsError(try data.balancedSubset(0, seed: 1))
        XCTAssertThrowsError(try data.balancedSubset(261, seed: 1))
    }

    func testValidationSplitIsDisjointAndComplete() throws {
        let data = syntheticDataset(perClass: [30, 30, 30])
        let (train, validation) = try data.splittingValidation(12, seed: 5)
        XCTAssertEqual(validation.classCounts(), [4, 4, 4])
        XCTAssertEqual(train.count, 78)
        XCTAssertEqual(Set(train.sourceIndices).intersection(validation.sourceIndices).count, 0)
        XCTAssertEqual((train.sourceIndices + validation.sourceIndices).sorted(), Array(0..<90))
    }

    func testIndicesMatchingHistogram() throws {
        let data = syntheticDataset(perClass: [20, 20, 20])
        let picked = try data.indicesMatching(histogram: [6, 3, 1], total: 10, seed: 1)
        let counts = picked.reduce(into: [0, 0, 0]) { $0[Int(data.labels[$1])] += 1 }
        XCTAssertEqual(counts, [6, 3, 1])
        XCTAssertEqual(try data.indicesMatching(histogram: [1, 1, 0], total: 5, seed: 1).count, 5)
    }
}

final class FederatedSplitTests: XCTestCase {
    private let labels: [Int32] = syntheticDataset(perClass: [400, 300, 200, 150, 100, 80, 60, 40, 30, 20]).labels

    func testLabelSkewCoversEverySampleOnceAndIsSeeded() throws {
        for alpha in [0.05, 0.5, 100] {
            let parts = try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 30, alpha: alpha, seed: 9)
            XCTAssertEqual(parts.count, 30)
            XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<labels.count), "alpha \(alpha): every sample exactly once")
            XCTAssertTrue(parts.allSatisfy { !$0.isEmpty }, "alpha \(alpha): every client non-empty")
            XCTAssertEqual(parts, try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 30, alpha: alpha, seed: 9))
            XCTAssertNotEqual(parts, try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 30, alpha: alpha, seed: 10))
        }
    }

    func testSmallAlphaSkewsLabels() throws {
        func meanTopShare(_ alpha: Double) throws -> Double {
            let parts = try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 10, alpha: alpha, seed: 1)
            let histograms = FederatedSplit.classHistograms(parts, labels: labels, classCount: 10)
            return histograms.map { Double($0.max()!) / Double($0.reduce(0, +)) }.reduce(0, +) / 10
        }
        XCTAssertGreaterThan(try meanTopShare(0.05), 0.7)
        XCTAssertLessThan(try meanTopShare(1000), 0.35)
    }

    func testMinimumSizeAndBadArguments() throws {
        let parts = try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 50, alpha: 0.01, seed: 2, minimumSize: 5)
        XCTAssertTrue(parts.allSatisfy { $0.count >= 5 })
        XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<labels.count))
        assertDataError(.invalidArgument, mentioning: ["clients"]) {
            try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 0, alpha: 0.5, seed: 1)
        }
        assertDataError(.invalidArgument, mentioning: ["alpha"]) {
            try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 3, alpha: 0, seed: 1)
        }
        assertDataError(.invalidArgument, mentioning: ["cannot give 2000 clients"]) {
            try FederatedSplit.dirichletLabelSkew(labels: labels, classCount: 10, clients: 2000, alpha: 0.5, seed: 1)
        }
    }

    func testClientSamplingGivesFixedSizes() throws {
        let parts = try FederatedSplit.dirichletClientSampling(labels: labels, classCount: 10, clients: 12, samplesPerClient: 100,
                                                               alpha: 0.1, seed: 4)
        XCTAssertEqual(parts.map(\.count), [Int](repeating: 100, count: 12))
        XCTAssertTrue(parts.joined().allSatisfy { $0 >= 0 && $0 < labels.count })
        XCTAssertEqual(parts, try FederatedSplit.dirichletClientSampling(labels: labels, classCount: 10, clients: 12, samplesPerClient: 100,
                                                                         alpha: 0.1, seed: 4))
        let histograms = FederatedSplit.classHistograms(parts, labels: labels, classCount: 10)
        let topShare = histograms.map { Double($0.max()!) / 100 }.reduce(0, +) / 12
        XCTAssertGreaterThan(topShare, 0.6, "alpha 0.1: most clients see one or two classes")
    }
}

final class DatasetSpecTests: XCTestCase {
    func testParsesSourcesAndKeys() throws {
        let plain = try DatasetSpec(parsing: "fashion-mnist")
        XCTAssertEqual(plain.source, .fashionMNIST(directory: "/usr/share/datasets/fashion-mnist"))
        XCTAssertEqual(plain.description, "fashion-mnist")
        let full = try DatasetSpec(parsing: "cifar100=/data/c100, val=500,subset=5000,imbalance=100,profile=step,clients=20,alpha=0.1,labels=coarse,data-seed=3")
        XCTAssertEqual(full.source, .cifar100(directory: "/data/c100"))
        XCTAssertEqual(full.validation, 500)
        XCTAssertEqual(full.subset, 5000)
        XCTAssertEqual(full.imbalance, 100)
        XCTAssertEqual(full.profile, .step)
        XCTAssertEqual(full.clients, 20)
        XCTAssertEqual(full.alpha, 0.1)
        XCTAssertTrue(full.coarseLabels)
        XCTAssertEqual(full.dataSeed, 3)
        XCTAssertEqual(try DatasetSpec(parsing: full.description), full, "the canonical string parses back")
        let fed = try DatasetSpec(parsing: "mnist=/m,clients=30,client-size=1000,alpha=0.1")
        XCTAssertEqual(fed.clientSize, 1000)
        XCTAssertEqual(fed.description, "mnist=/m,clients=30,alpha=0.1,client-size=1000")
        XCTAssertEqual(try DatasetSpec(parsing: "fashion-mnist,imbalance=10").description, "fashion-mnist,imbalance=10")
    }

    func testRejectsBadSpecs() {
        assertDataError(.badSpec, mentioning: ["unknown key 'ratio'", "valid keys: val, subset, imbalance"]) {
            try DatasetSpec(parsing: "fashion-mnist,ratio=10")
        }
        assertDataError(.badSpec, mentioning: ["unknown dataset 'imagenet'", "fashion-mnist", "cifar10=DIR"]) {
            try DatasetSpec(parsing: "imagenet")
        }
        assertDataError(.badSpec, mentioning: ["needs a directory", "cifar10=DIR"]) { try DatasetSpec(parsing: "cifar10") }
        assertDataError(.badSpec, mentioning: ["imbalance=0.5", ">= 1"]) { try DatasetSpec(parsing: "fashion-mnist,imbalance=0.5") }
        assertDataError(.badSpec, mentioning: ["subset=ten"]) { try DatasetSpec(parsing: "fashion-mnist,subset=ten") }
        assertDataError(.badSpec, mentioning: ["given twice"]) { try DatasetSpec(parsing: "fashion-mnist,val=1,val=2") }
        assertDataError(.badSpec, mentioning: ["needs a value"]) { try DatasetSpec(parsing: "fashion-mnist,val") }
        assertDataError(.badSpec, mentioning: ["cifar100 only"]) { try DatasetSpec(parsing: "cifar10=/x,labels=coarse") }
        assertDataError(.badSpec, mentioning: ["need clients=K"]) { try DatasetSpec(parsing: "fashion-mnist,alpha=0.1") }
        assertDataError(.badSpec, mentioning: ["empty dataset spec"]) { try DatasetSpec(parsing: "") }
    }

    func testDerivationsOnFixtureFiles() throws {
        let dir = TemporaryDirectory()
        let labels = (0..<300).map { UInt8($0 % 10) }
        dir.write("train-images-idx3-ubyte.gz", gzipStored(idxImages(count: 300, height: 4, width: 4)))
        dir.write("train-labels-idx1-ubyte.gz", gzipStored(idxLabels(labels)))
        dir.write("t10k-images-idx3-ubyte.gz", gzipStored(idxImages(count: 50, height: 4, width: 4)))
        dir.write("t10k-labels-idx1-ubyte.gz", gzipStored(idxLabels((0..<50).map { UInt8($0 % 10) })))
        let data = try DatasetSpec(parsing: "mnist=\(dir.path),val=20,subset=200,imbalance=4,clients=5,alpha=0.3").load()
        XCTAssertEqual(data.validation?.classCounts(), [Int](repeating: 2, count: 10))
        XCTAssertEqual(data.train.classCounts(), try Dataset.longTailedCounts(maxCount: 20, classes: 10, ratio: 4))
        XCTAssertEqual(Set(data.train.sourceIndices).intersection(data.validation!.sourceIndices).count, 0)
        XCTAssertEqual(data.clients?.flatMap { $0 }.sorted(), Array(0..<data.train.count))
        XCTAssertEqual(data.test.count, 50, "the test set is never derived")
        let again = try DatasetSpec(parsing: "mnist=\(dir.path),val=20,subset=200,imbalance=4,clients=5,alpha=0.3").load()
        XCTAssertEqual(again.train.sourceIndices, data.train.sourceIndices)
        XCTAssertEqual(again.clients!, data.clients!)
        assertDataError(.badSpec, mentioning: ["subset=1000", "300"]) { try DatasetSpec(parsing: "mnist=\(dir.path),subset=1000").load() }
    }
}
