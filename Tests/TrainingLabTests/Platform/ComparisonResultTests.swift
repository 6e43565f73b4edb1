import XCTest
import TrainingLab

/// The statistics of `tlab compare` on a case computed by hand.
final class ComparisonResultTests: XCTestCase {
    func testMeansStdsDifferencesAndRatiosAgainstTheReferenceArm() throws {
        func report(_ accuracy: Double, _ passes: Double) -> JSONValue {
            .object([("test", .object([("accuracy", .number(accuracy))])), ("sample_passes", .number(passes))])
        }
        let result = ComparisonResult(
            method: "m", arms: ["m", "base", "other"], referenceArm: "base", seeds: [0, 1],
            metrics: ["test.accuracy", "sample_passes", "missing"],
            reports: [[report(0.9, 60), report(0.8, 40)], [report(0.6, 100), report(0.8, 100)], [report(0.7, 50), report(0.7, 50)]])
        XCTAssertEqual(result.rows.map(\.metric), ["test.accuracy", "sample_passes"], "a metric no arm reports is left out")
        let accuracy = result.rows[0]
        XCTAssertEqual(accuracy.means[0]!, 0.85, accuracy: 1e-12)
        XCTAssertEqual(accuracy.stds[0]!, (0.005 as Double).squareRoot(), accuracy: 1e-12)  // sample std of 0.9, 0.8
        XCTAssertEqual(accuracy.means[1]!, 0.7, accuracy: 1e-12)
        XCTAssertEqual(accuracy.differences[0]!, 0.15, accuracy: 1e-12)
        XCTAssertNil(accuracy.differences[1], "no difference of the reference with itself")
        XCTAssertEqual(accuracy.ratios[2]!, 1.0, accuracy: 1e-12)
        let passes = result.rows[1]
        XCTAssertEqual(passes.ratios[0]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(passes.stds[1]!, 0)
        let json = result.json
        XCTAssertEqual(json["rows"]?.arrayValue?.first?["arms"]?["m"]?["ratio"]?.doubleValue ?? 0, 0.85 / 0.7, accuracy: 1e-12)
        XCTAssertTrue(result.table.contains("reference arm: base"))
    }
}
