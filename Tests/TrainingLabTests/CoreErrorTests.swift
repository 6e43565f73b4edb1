import XCTest
import TrainingLab

final class CoreErrorTests: XCTestCase {
    func testFailureBecomesSwiftErrorWithMessage() {
        XCTAssertThrowsError(try tlCheck(tl_rng_uniform(nil, 1, 0, 0, 0, 1))) { error in
            let coreError = error as? CoreError
            XCTAssertEqual(coreError?.status, Int32(TL_ERR_NULL_POINTER.rawValue))
            XCTAssertEqual(coreError?.description, "tl_rng_uniform: out is NULL (null pointer)")
        }
        XCTAssertNoThrow(try tlCheck(0))
    }
}
