import XCTest
import TrainingLab

/// Layout kernels (include/tl_tensor.h) beyond the kernel table's checks: the inverse permutation undoes a
/// permutation, and shapes that do not fit are refused.
final class TensorKernelTests: XCTestCase {
    func testTheInversePermutationUndoesIt() {
        for (shape, perm) in [([3, 5], [1, 0]), ([2, 3, 4, 5], [0, 2, 1, 3]), ([4, 3, 2, 5, 3], [4, 2, 0, 3, 1])] {
            let n = shape.reduce(1, *)
            let x = randomFloats(n, seed: UInt64(n))
            var y = [Float](repeating: 0, count: n), back = y
            XCTAssertEqual(tl_permute(&y, x, Int32(shape.count), shape, perm.map(Int32.init)), 0)
            var inverse = perm
            for (k, a) in perm.enumerated() { inverse[a] = k }
            XCTAssertEqual(tl_permute(&back, y, Int32(shape.count), perm.map { shape[$0] }, inverse.map(Int32.init)), 0)
            XCTAssertEqual(back, x, "inverse of \(perm)")
        }
    }

    func testShapesThatDoNotFitAreRefused() {
        var y = [Float](repeating: 0, count: 6)
        assertFails(tl_permute(&y, [Float](repeating: 0, count: 6), 2, [2, 3], [0, 0]), TL_ERR_INVALID_ARGUMENT, mentioning: "permutation")
        assertFails(tl_broadcast_binary(0, &y, [1, 2], [2, 1], [1, 2, 3], [1, 3], [2, 2], 2), TL_ERR_INVALID_ARGUMENT, mentioning: "broadcast")
        let src = randomFloats(3 * 7 * 2, seed: 9)
        var dst = [Float](repeating: -1, count: 3 * 5 * 2)
        assertFails(tl_copy_axis_block(&dst, 5, 3, src, 7, 0, 3, 3, 2), TL_ERR_INVALID_ARGUMENT, mentioning: "outside")
    }
}
