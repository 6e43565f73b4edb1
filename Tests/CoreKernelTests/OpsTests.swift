import XCTest
import TrainingLab

/// Ops (include/tl_ops.h) beyond the kernel table's checks: repeated PGD steps stay in the ball, an index out of
/// range is refused, and bad arguments.
final class OpsTests: XCTestCase {
    func testGatherRejectsAnIndexOutOfRange() {
        let (r, c) = (37, 41)
        let x = randomFloats(r * c, seed: 8)
        var g = [Float](repeating: 0, count: c)
        assertFails(tl_gather_rows(&g, x, [Int64(r)], 1, r, c), TL_ERR_INVALID_ARGUMENT, mentioning: "index[0]")
    }

    func testSignStepProjectStaysInBall() {
        let n = 1000
        let x0 = randomFloats(n, seed: 11, low: 0, high: 1), grad = randomFloats(n, seed: 12)
        var adv = x0
        for _ in 0..<10 { XCTAssertEqual(tl_sign_step_project(&adv, grad, x0, n, 0.03, 0.1, 0, 1), 0) }
        for i in 0..<n {
            XCTAssertLessThanOrEqual(abs(adv[i] - x0[i]), 0.1 + 1e-6)
            XCTAssertTrue(adv[i] >= 0 && adv[i] <= 1)
            let expected = min(max(x0[i] + (grad[i] > 0 ? 0.1 : -0.1), 0), 1)
            XCTAssertEqual(adv[i], expected, accuracy: 1e-6)
        }
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 4), z = y
        assertFails(tl_add(&y, nil, z, 4), TL_ERR_NULL_POINTER, mentioning: "tl_add")
        assertFails(tl_fill(&y, -1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_l2_normalize_rows_forward(&y, &z, z, 1, 0, 1e-6), TL_ERR_INVALID_ARGUMENT, mentioning: "d")
        assertFails(tl_sign_step_project(&y, z, z, 4, 0.1, -1, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
    }
}
