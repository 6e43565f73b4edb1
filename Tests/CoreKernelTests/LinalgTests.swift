import XCTest
import Foundation
import TrainingLab

/// Linear algebra (include/tl_linalg.h) beyond the kernel table's checks: optional outputs give the same
/// values, NULL upstream gradients count as zero, and singular, indefinite or non-finite inputs are refused.
final class LinalgTests: XCTestCase {
    func testLogDeterminantWithoutTheInverseIsTheSame() {
        let n = 5
        let a = randomFloats(n * n, seed: 3).enumerated().map { $0.offset / n == $0.offset % n ? $0.element + 4 : $0.element }
        var value = 0.0, alone = 0.0
        var inverse = [Float](repeating: 0, count: n * n)
        XCTAssertEqual(tl_logdet_spd(&value, &inverse, a, n, 0.5), 0)
        XCTAssertEqual(tl_logdet_spd(&alone, nil, a, n, 0.5), 0)
        XCTAssertEqual(alone, value)
    }

    func testNotPositiveDefiniteAndNonFiniteInputsAreRefused() {
        var value = 0.0
        assertFails(tl_logdet_spd(&value, nil, [1, 2, 2, 1], 2, 0), TL_ERR_NUMERIC, mentioning: "pivot 1")
        assertFails(tl_logdet_spd(&value, nil, [0, 0, 0, 0], 2, -0.1), TL_ERR_NUMERIC, mentioning: "not positive definite")
        assertFails(tl_logdet_spd(&value, nil, [.nan, 0, 0, 1], 2, 0.5), TL_ERR_NUMERIC, mentioning: "pivot 0")
        assertFails(tl_logdet_spd(&value, nil, [1], 0, 0.5), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_logdet_spd(nil, nil, [1], 1, 0.5), TL_ERR_NULL_POINTER, mentioning: "logdet")
        assertFails(tl_logdet_spd(&value, nil, [1], 1, .infinity), TL_ERR_INVALID_ARGUMENT, mentioning: "ridge")
    }

    func testQRBackwardTreatsNullAsZeroAndRefusesRankDeficiency() {
        let (m, n) = (6, 4)
        let a = randomFloats(m * n, seed: 41), dq = randomFloats(m * n, seed: 42)
        var q = [Float](repeating: 0, count: m * n), r = [Float](repeating: 0, count: n * n)
        XCTAssertEqual(tl_qr(&q, &r, a, m, n), 0)
        var onlyQ = [Float](repeating: 0, count: m * n), da = onlyQ
        XCTAssertEqual(tl_qr_backward(&onlyQ, dq, nil, q, r, m, n), 0, "a NULL dr counts as zero")
        var zeroR = [Float](repeating: 0, count: n * n)
        XCTAssertEqual(tl_qr_backward(&da, dq, &zeroR, q, r, m, n), 0)
        XCTAssertEqual(onlyQ, da)
        assertFails(tl_qr_backward(&da, dq, nil, q, [Float](repeating: 0, count: n * n), m, n), TL_ERR_NUMERIC, mentioning: "rank")
        var q2 = [Float](repeating: 0, count: 6), r2 = [Float](repeating: 0, count: 9)
        assertFails(tl_qr(&q2, &r2, [Float](repeating: 1, count: 6), 2, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "m >= n")
    }

    func testLUInverseOptionalOutputsAndSingularInput() {
        let n = 9
        let a = randomFloats(n * n, seed: 59)
        var inverse = [Float](repeating: 0, count: n * n), value = 0.0, onlyValue = 0.0
        XCTAssertEqual(tl_lu_inverse(&inverse, &value, a, n), 0)
        XCTAssertEqual(tl_lu_inverse(nil, &onlyValue, a, n), 0)
        XCTAssertEqual(onlyValue, value)
        var small = [Float](repeating: 0, count: 4)
        assertFails(tl_lu_inverse(&small, nil, [1, 2, 2, 4], 2), TL_ERR_NUMERIC, mentioning: "singular")
    }
}
