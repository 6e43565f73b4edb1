import XCTest
import Foundation
import TrainingLab

final class EtfTests: XCTestCase {
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
