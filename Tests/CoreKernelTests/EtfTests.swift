import XCTest
import Foundation
import TrainingLab

/// The SSE-C refinement objective written out from its definition with plain loops in Double:
/// sum_c (||m_c|| - norm)^2 - mean_c acos(clamp(max_{j != c} cos(m_c, m_j), -limit, limit)), m (d, c) row-major.
private func referenceObjective(_ m: [Float], d: Int, c: Int, norm: Double, limit: Double) -> Double {
    func column(_ k: Int) -> [Double] { (0..<d).map { Double(m[$0 * c + k]) } }
    func length(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    var loss = 0.0
    for k in 0..<c { loss += (length(column(k)) - norm) * (length(column(k)) - norm) }
    for k in 0..<c {
        var best = -Double.infinity
        for j in 0..<c where j != k {
            let (a, b) = (column(k), column(j))
            best = max(best, zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (length(a) * length(b)))
        }
        loss -= Foundation.acos(min(max(best, -limit), limit)) / Double(c)
    }
    return loss
}

final class EtfTests: XCTestCase {
    func testObjectiveMatchesTheReferenceAndItsGradientFiniteDifferences() {
        for (d, c, seed) in [(7, 4, UInt64(1)), (16, 10, 2), (3, 3, 3)] {
            let m = randomFloats(d * c, seed: seed)
            var loss = 0.0
            var grad = [Float](repeating: 0, count: d * c)
            XCTAssertEqual(tl_etf_angle_objective(&loss, &grad, m, d, c, 0.1, 0.99999), 0)
            let expected = referenceObjective(m, d: d, c: c, norm: 0.1, limit: 0.99999)
            XCTAssertEqual(loss, expected, accuracy: 1e-10 * max(1, abs(expected)), "d \(d) c \(c)")
            let numeric = numericalGradient(at: m, eps: 1e-3) { referenceObjective($0, d: d, c: c, norm: 0.1, limit: 0.99999) }
            assertClose(grad, numeric, rtol: 1e-2, atol: 2e-3, "d \(d) c \(c)")
        }
    }

    /// d = 2, C = 2, columns (1, 0) and (0, 2): cos 0, so loss = 0.9^2 + 1.9^2 - pi/2 and each class's angle term
    /// 1/(C sqrt(1 - 0)) = 0.5 pulls both columns toward each other: grad m_0 = (1.8, 0) + 2 * 0.5 (0, 1) = (1.8, 1),
    /// grad m_1 = (0, 3.8) + 2 * 0.5 (1, 0) / 2 = (0.5, 3.8) (row-major (d, C): [1.8, 0.5, 1, 3.8]).
    func testHandComputedOrthogonalPair() {
        var loss = 0.0
        var grad = [Float](repeating: 0, count: 4)
        XCTAssertEqual(tl_etf_angle_objective(&loss, &grad, [1, 0, 0, 2], 2, 2, 0.1, 0.99999), 0)
        XCTAssertEqual(loss, 0.81 + 3.61 - Double.pi / 2, accuracy: 1e-12)
        assertClose(grad, [1.8, 0.5, 1, 3.8], rtol: 0, atol: 1e-6)
    }

    /// Parallel columns have cosine 1 > limit: the clamp holds the angle term at acos(limit) and passes no
    /// gradient, so only the norm term 2 (||m_c|| - 0.1) m_c / ||m_c|| remains.
    func testClampedCosinePassesNoGradient() {
        var loss = 0.0
        var grad = [Float](repeating: 0, count: 4)
        XCTAssertEqual(tl_etf_angle_objective(&loss, &grad, [1, 1, 0, 0], 2, 2, 0.1, 0.99999), 0)
        XCTAssertEqual(loss, 2 * 0.81 - Foundation.acos(0.99999), accuracy: 1e-12)
        assertClose(grad, [1.8, 1.8, 0, 0], rtol: 0, atol: 1e-6)
    }

    func testBadArguments() {
        var loss = 0.0
        var grad = [Float](repeating: 0, count: 4)
        assertFails(tl_etf_angle_objective(&loss, &grad, [1, 0, 0, 0], 2, 2, 0.1, 0.99999), TL_ERR_NUMERIC, mentioning: "column 1")
        assertFails(tl_etf_angle_objective(&loss, &grad, [1, 0], 2, 1, 0.1, 0.99999), TL_ERR_INVALID_ARGUMENT, mentioning: "classes")
        assertFails(tl_etf_angle_objective(&loss, &grad, [1, 0, 0, 1], 2, 2, 0.1, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "limit")
        assertFails(tl_etf_angle_objective(&loss, nil, [1, 0, 0, 1], 2, 2, 0.1, 0.5), TL_ERR_NULL_POINTER, mentioning: "grad")
    }
}
