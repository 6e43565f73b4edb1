import XCTest
import TrainingLab

final class ParameterVectorTests: XCTestCase {
    private func named(_ a: [Float], _ b: [Float]) throws -> [(String, Tensor)] {
        [("w", try Tensor(a, shape: [2, 2])), ("b", try Tensor(b, shape: [2]))]
    }

    func testConcatenatesInOrderAndWritesBackByName() throws {
        let v = try ParameterVector(from: named([1, 2, 3, 4], [5, 6]))
        XCTAssertEqual(v.values.scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(v.layout.names, ["w", "b"])
        XCTAssertEqual(v.layout.offsets, [0, 4, 6])
        XCTAssertEqual(v.layout.range(of: "b"), 4..<6)
        XCTAssertEqual(try v.tensor(named: "w").shape, [2, 2])

        let target = try named([0, 0, 0, 0], [0, 0])
        try v.write(to: target.reversed())
        XCTAssertEqual(target[0].1.scalars, [1, 2, 3, 4])
        XCTAssertEqual(target[1].1.scalars, [5, 6])

        XCTAssertThrowsError(try v.write(to: [target[0]])) { XCTAssertTrue("\($0)".contains("expected the tensors [\"w\", \"b\"]"), "\($0)") }
        XCTAssertThrowsError(try v.write(to: [target[0], ("b", Tensor(zeros: [3]))])) {
            XCTAssertTrue("\($0)".contains("'b' has shape [3], the vector holds [2]"), "\($0)")
        }
        XCTAssertThrowsError(try ParameterVector(from: [target[0], target[0]])) { XCTAssertTrue("\($0)".contains("occurs twice"), "\($0)") }
    }

    func testArithmeticByHand() throws {
        let x = try ParameterVector(from: named([1, 2, 3, 4], [5, 6]))
        let y = try ParameterVector(from: named([1, 0, -1, 0.5], [2, -2]))
        XCTAssertEqual(try x.dot(y), 1 + 0 - 3 + 2 + 10 - 12)
        XCTAssertEqual(try y.norm(), (1 + 1 + 0.25 + 4 + 4 as Double).squareRoot())

        let d = try x.subtracting(y)
        XCTAssertEqual(d.values.scalars, [0, 2, 4, 3.5, 3, 8])
        XCTAssertEqual(x.values.scalars, [1, 2, 3, 4, 5, 6], "subtracting leaves its operands alone")

        // Federated averaging with weights 0.25 and 0.75: zeros + 0.25 x + 0.75 y.
        let average = ParameterVector(zerosLike: x)
        try average.add(x, scaledBy: 0.25)
        try average.add(y, scaledBy: 0.75)
        XCTAssertEqual(average.values.scalars, [1, 0.5, 0, 1.375, 2.75, 0])

        let c = x.copy()
        try c.scale(by: -2)
        XCTAssertEqual(c.values.scalars, [-2, -4, -6, -8, -10, -12])
        XCTAssertEqual(x.values.scalars, [1, 2, 3, 4, 5, 6], "copies are independent")
    }

    func testDifferentLayoutsAreRefused() throws {
        let x = try ParameterVector(from: named([1, 2, 3, 4], [5, 6]))
        let other = try ParameterVector(from: [("w", try Tensor([1, 2, 3, 4], shape: [4])), ("b", try Tensor([5, 6], shape: [2]))])
        XCTAssertThrowsError(try x.add(other)) { XCTAssertTrue("\($0)".contains("'w' [2, 2] vs 'w' [4]"), "\($0)") }
        XCTAssertThrowsError(try x.dot(ParameterVector(from: [("w", try Tensor([1, 2, 3, 4], shape: [2, 2]))]))) {
            XCTAssertTrue("\($0)".contains("2 vs 1 tensors"), "\($0)")
        }
    }

    func testModelRoundTrip() throws {
        let a = try ModelZoo.make("mlp", channels: 1, height: 4, width: 4, classes: 3, seed: 1)
        let b = try ModelZoo.make("mlp", channels: 1, height: 4, width: 4, classes: 3, seed: 2)
        let va = try ParameterVector(from: a.namedParameters())
        XCTAssertEqual(va.values.count, a.parameters().map(\.count).reduce(0, +))
        XCTAssertEqual(try va.norm(), sqrt(a.parameters().flatMap(\.scalars).map { Double($0) * Double($0) }.reduce(0, +)), accuracy: 1e-9)
        try va.write(to: b.namedParameters())
        XCTAssertEqual(b.parameters().map(\.scalars), a.parameters().map(\.scalars))
    }
}
