import XCTest
import Foundation
import TrainingLab

/// Exp, log and masked log-sum-exp beyond the kernel table's checks: libm's edge values, large and non-finite
/// inputs, and bad arguments.
final class ExpLogTests: XCTestCase {
    func testLogOfZeroAndNegativeAsInLibm() {
        var edge = [Float](repeating: 0, count: 2)
        XCTAssertEqual(tl_log_forward(&edge, [0, -1], 2), 0)
        XCTAssertEqual(edge[0], -.infinity)
        XCTAssertTrue(edge[1].isNaN)
    }

    func testMaskedLogSumExpHandlesLargeValuesAndNonFiniteInput() {
        var out = [Float](repeating: 0, count: 1)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [1000, 1000, -5], nil, 1, 3, 1), 0)
        XCTAssertEqual(out[0], 1000 + Float(Foundation.log(2.0)), accuracy: 1e-3)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [.nan, 1, 2], nil, 1, 3, 1), 0)
        XCTAssertTrue(out[0].isNaN)
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [.infinity, 1], nil, 1, 2, 1), 0)
        XCTAssertEqual(out[0], .infinity)
        // A masked-out NaN is not read.
        XCTAssertEqual(tl_masked_logsumexp_forward(&out, [.nan, 1, 2], [0, 1, 1], 1, 3, 1), 0)
        XCTAssertEqual(Double(out[0]), 2 + Foundation.log(1 + Foundation.exp(-1.0)), accuracy: 1e-6)
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 4)
        let x = [Float](repeating: 0, count: 4)
        assertFails(tl_exp_forward(&y, nil, 4), TL_ERR_NULL_POINTER, mentioning: "tl_exp_forward")
        assertFails(tl_log_backward(&y, x, nil, 4), TL_ERR_NULL_POINTER, mentioning: "tl_log_backward")
        assertFails(tl_log_forward(&y, x, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_masked_logsumexp_forward(&y, x, nil, 1, -2, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "axis")
        assertFails(tl_masked_logsumexp_backward(&y, nil, x, x, nil, 1, 4, 1), TL_ERR_NULL_POINTER, mentioning: "dout")
    }
}
