import XCTest
import Foundation
import TrainingLab

final class LinearProbeTests: XCTestCase {
    /// Features whose class is the index of the largest of the first `classes` coordinates, plus noise.
    private func separable(_ n: Int, classes: Int, dimension: Int, seed: UInt64) throws -> (Tensor, [Int32]) {
        let noise = Tensor.uniform([n, dimension], low: -0.3, high: 0.3, seed: seed).scalars
        var values = noise, labels: [Int32] = []
        for i in 0..<n {
            let c = i % classes
            values[i * dimension + c] += 2
            labels.append(Int32(c))
        }
        return (try Tensor(values, shape: [n, dimension]), labels)
    }

    func testProbeLearnsSeparableFeaturesDeterministically() throws {
        let (x, y) = try separable(600, classes: 4, dimension: 8, seed: 1)
        let probe = LinearProbe(epochs: 5, batchSize: 64)
        let result = try probe.fit(features: x, labels: y, classes: 4, seed: 3)
        XCTAssertEqual(result.epochs.map(\.epoch), [0, 1, 2, 3, 4])
        XCTAssertGreaterThan(result.epochs.last!.accuracy, 0.98)
        XCTAssertLessThan(result.epochs.last!.loss, result.epochs.first!.loss)
        XCTAssertEqual(result.nonfiniteSteps, 0)
        let predictions = try withoutGradients { try result.classifier(x) }.scalars
        func predicted(_ i: Int) -> Int { (0..<4).max { predictions[i * 4 + $0] < predictions[i * 4 + $1] }! }
        let correct = (0..<600).filter { predicted($0) == Int(y[$0]) }.count
        XCTAssertGreaterThan(correct, 590)
        let again = try probe.fit(features: x, labels: y, classes: 4, seed: 3)
        XCTAssertEqual(again.classifier.weight.scalars, result.classifier.weight.scalars)
        XCTAssertThrowsError(try probe.fit(features: x, labels: Array(y.dropLast()), classes: 4, seed: 3))
        XCTAssertThrowsError(try probe.fit(features: x, labels: y.map { $0 + 1 }, classes: 4, seed: 3))
    }

    func testNonFiniteStepsAreSkippedAndCounted() throws {
        var (x, y) = try separable(64, classes: 2, dimension: 3, seed: 2)
        var values = x.scalars
        values[0] = .nan
        x = try Tensor(values, shape: x.shape)
        let result = try LinearProbe(epochs: 2, batchSize: 64).fit(features: x, labels: y, classes: 2, seed: 1)
        XCTAssertEqual(result.nonfiniteSteps, 2)
        XCTAssertTrue(result.classifier.weight.scalars.allSatisfy(\.isFinite))
    }

    func testClassMeanCosineByHand() throws {
        // Class 0 mean (1, 0), class 1 mean (1, 1)/2 * 2 = (1, 1), class 2 mean (-1, 0); class 3 absent.
        let embeddings: [Float] = [1, 0, 1, 0, 2, 0, 0, 2, -3, 0]
        let cosine = try ClassMeanCosine(embeddings: embeddings, dimension: 2, labels: [0, 0, 1, 1, 2], classes: 4)
        XCTAssertEqual(cosine.matrix[0 * 4 + 1]!, 1 / 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(cosine.matrix[0 * 4 + 2]!, -1, accuracy: 1e-12)
        XCTAssertEqual(cosine.matrix[1 * 4 + 2]!, -1 / 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(cosine.matrix[0]!, 1, accuracy: 1e-12)
        XCTAssertNil(cosine.matrix[3 * 4 + 0])
        XCTAssertEqual(cosine.maximum!, 1 / 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(cosine.maximumPair?.0, 0)
        XCTAssertEqual(cosine.maximumPair?.1, 1)
        XCTAssertThrowsError(try ClassMeanCosine(embeddings: [1, 2, 3], dimension: 2, labels: [0, 1], classes: 2))
        XCTAssertThrowsError(try ClassMeanCosine(embeddings: [1, 2], dimension: 2, labels: [5], classes: 2))
    }
}
