import XCTest
import TrainingLab

/// Grid sampling (include/tl_sample.h) beyond the kernel table's checks: bad arguments.
final class SampleTests: XCTestCase {
    func testBadArguments() {
        var y = [Float](repeating: 0, count: 4)
        assertFails(tl_grid_sample_forward(&y, [0], [0, 0], 1, 1, 0, 1, 1, 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "h")
    }
}
