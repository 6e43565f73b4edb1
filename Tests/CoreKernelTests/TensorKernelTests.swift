import XCTest
import TrainingLab

/// Row-major strides of a shape.
private func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    for d in stride(from: shape.count - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] }
    return s
}

/// Multi-index of flat position `flat` in `shape`.
private func index(_ flat: Int, _ shape: [Int]) -> [Int] {
    var rest = flat
    return shape.indices.reversed().map { d -> Int in defer { rest /= shape[d] }; return rest % shape[d] }.reversed()
}

/// Flat position of a multi-index, repeating dims of size 1 (broadcast reads).
private func flat(_ idx: [Int], _ shape: [Int]) -> Int {
    let s = strides(shape)
    return shape.indices.reduce(0) { $0 + (shape[$1] == 1 ? 0 : idx[$1]) * s[$1] }
}

/// The layout kernels of tl_tensor.h against plain Swift loops, including odd shapes and thread counts.
final class TensorKernelTests: XCTestCase {
    func testPermuteMatchesTheReferenceAndItsInverse() {
        for (shape, perm) in [([3, 5], [1, 0]), ([2, 3, 4, 5], [0, 2, 1, 3]), ([7, 1, 3], [2, 0, 1]), ([4, 3, 2, 5, 3], [4, 2, 0, 3, 1]),
                              ([6], [0]), ([40, 33, 27], [2, 1, 0])] {
            let n = shape.reduce(1, *)
            let x = randomFloats(n, seed: UInt64(n))
            let outShape = perm.map { shape[$0] }
            var y = [Float](repeating: 0, count: n)
            XCTAssertEqual(tl_permute(&y, x, Int32(shape.count), shape, perm.map(Int32.init)), 0)
            let expected = (0..<n).map { o -> Float in
                let j = index(o, outShape)
                var i = [Int](repeating: 0, count: shape.count)
                for k in perm.indices { i[perm[k]] = j[k] }
                return x[flat(i, shape)]
            }
            XCTAssertEqual(y, expected, "\(shape) \(perm)")
            var inverse = perm
            for (k, a) in perm.enumerated() { inverse[a] = k }
            var back = [Float](repeating: 0, count: n)
            XCTAssertEqual(tl_permute(&back, y, Int32(shape.count), outShape, inverse.map(Int32.init)), 0)
            XCTAssertEqual(back, x, "inverse of \(perm)")
        }
        var y = [Float](repeating: 0, count: 6)
        assertFails(tl_permute(&y, [Float](repeating: 0, count: 6), 2, [2, 3], [0, 0]), TL_ERR_INVALID_ARGUMENT, mentioning: "permutation")
    }

    func testBroadcastBinaryMatchesTheReferenceForEveryOp() {
        let cases: [([Int], [Int], [Int])] = [([4, 3], [1, 3], [4, 3]), ([4, 1], [1, 5], [4, 5]), ([2, 3, 4], [2, 3, 4], [2, 3, 4]),
                                              ([1, 1, 1], [3, 1, 7], [3, 1, 7]), ([5, 1, 3, 1], [1, 4, 1, 6], [5, 4, 3, 6])]
        for (aShape, bShape, yShape) in cases {
            let a = randomFloats(aShape.reduce(1, *), seed: 1)
            let b = randomFloats(bShape.reduce(1, *), seed: 2, low: 0.5, high: 2)
            let n = yShape.reduce(1, *)
            let ops: [(tl_binary_op, (Float, Float) -> Float)] = [(TL_BINARY_ADD, (+)), (TL_BINARY_SUB, (-)),
                                                                 (TL_BINARY_MUL, (*)), (TL_BINARY_DIV, (/))]
            for (op, f) in ops {
                var y = [Float](repeating: 0, count: n)
                XCTAssertEqual(tl_broadcast_binary(Int32(op.rawValue), &y, a, aShape, b, bShape, yShape, Int32(yShape.count)), 0)
                let expected = (0..<n).map { o -> Float in let i = index(o, yShape); return f(a[flat(i, aShape)], b[flat(i, bShape)]) }
                XCTAssertEqual(y, expected, "\(aShape) op \(op.rawValue) \(bShape)")
            }
        }
        var y = [Float](repeating: 0, count: 6)
        assertFails(tl_broadcast_binary(0, &y, [1, 2], [2, 1], [1, 2, 3], [1, 3], [2, 2], 2), TL_ERR_INVALID_ARGUMENT, mentioning: "broadcast")
    }

    func testSumToShapeMatchesTheReference() {
        for (xShape, outShape) in [([4, 3], [1, 3]), ([4, 3], [4, 1]), ([5, 4, 3, 6], [1, 4, 1, 6]), ([3, 7, 2], [1, 1, 1]), ([3, 7], [3, 7])] {
            let n = xShape.reduce(1, *), m = outShape.reduce(1, *)
            let x = randomFloats(n, seed: UInt64(n))
            var out = [Float](repeating: 0, count: m)
            XCTAssertEqual(tl_sum_to_shape(&out, x, xShape, outShape, Int32(xShape.count)), 0)
            var expected = [Double](repeating: 0, count: m)
            for o in 0..<n { expected[flat(index(o, xShape), outShape)] += Double(x[o]) }
            assertClose(out, expected.map(Float.init), rtol: 1e-6, atol: 1e-6, "\(xShape) -> \(outShape)")
        }
    }

    func testExtremesAlongAnAxisPickTheFirstExtremeAndScatterBack() {
        let (outer, axis, inner) = (3, 5, 4)
        var x = randomFloats(outer * axis * inner, seed: 7).map { ($0 * 4).rounded() }  // many ties
        x[0] = .nan  // a NaN first entry is replaced by the first number
        for minimum in [0, 1] {
            var out = [Float](repeating: 0, count: outer * inner)
            var idx = [Int64](repeating: -1, count: outer * inner)
            XCTAssertEqual(tl_extreme_axis_forward(&out, &idx, x, outer, axis, inner, Int32(minimum)), 0)
            for o in 0..<outer {
                for i in 0..<inner {
                    let column = (0..<axis).map { x[(o * axis + $0) * inner + i] }.enumerated().filter { !$0.element.isNaN }
                    let best = minimum == 1 ? column.min { $0.element < $1.element }! : column.max { $0.element < $1.element }!
                    let first = column.first { $0.element == best.element }!
                    XCTAssertEqual(out[o * inner + i], first.element)
                    XCTAssertEqual(idx[o * inner + i], Int64(first.offset))
                }
            }
            let dout = randomFloats(outer * inner, seed: 8)
            var dx = [Float](repeating: 9, count: x.count)
            XCTAssertEqual(tl_extreme_axis_backward(&dx, dout, idx, outer, axis, inner), 0)
            for e in 0..<x.count {
                let (o, j, i) = (e / (axis * inner), (e / inner) % axis, e % inner)
                XCTAssertEqual(dx[e], idx[o * inner + i] == Int64(j) ? dout[o * inner + i] : 0)
            }
        }
    }

    func testCopyAxisBlockCopiesTheBlockOnly() {
        let (outer, srcAxis, dstAxis, inner) = (3, 7, 5, 2)
        let src = randomFloats(outer * srcAxis * inner, seed: 9)
        var dst = [Float](repeating: -1, count: outer * dstAxis * inner)
        XCTAssertEqual(tl_copy_axis_block(&dst, dstAxis, 1, src, srcAxis, 4, outer, 3, inner), 0)
        for o in 0..<outer {
            for j in 0..<dstAxis {
                for i in 0..<inner {
                    let expected = (1..<4).contains(j) ? src[(o * srcAxis + j + 3) * inner + i] : -1
                    XCTAssertEqual(dst[(o * dstAxis + j) * inner + i], expected)
                }
            }
        }
        assertFails(tl_copy_axis_block(&dst, dstAxis, 3, src, srcAxis, 0, outer, 3, inner), TL_ERR_INVALID_ARGUMENT, mentioning: "outside")
    }

    func testKernelsAreBitwiseIndependentOfTheThreadCount() {
        let shape = [17, 33, 9, 13], n = shape.reduce(1, *)  // above the parallel threshold
        let x = randomFloats(n, seed: 11), b = randomFloats(33 * 13, seed: 12)
        func run() -> [[Float]] {
            var p = [Float](repeating: 0, count: n), y = p, s = [Float](repeating: 0, count: 33 * 13)
            var m = [Float](repeating: 0, count: 17 * 9 * 13), idx = [Int64](repeating: 0, count: m.count)
            var dx = p
            _ = tl_permute(&p, x, 4, shape, [3, 1, 0, 2])
            _ = tl_broadcast_binary(Int32(TL_BINARY_DIV.rawValue), &y, x, shape, b, [1, 33, 1, 13], shape, 4)
            _ = tl_sum_to_shape(&s, x, shape, [1, 33, 1, 13], 4)
            _ = tl_extreme_axis_forward(&m, &idx, x, 17, 33, 9 * 13, 0)
            _ = tl_extreme_axis_backward(&dx, m, idx, 17, 33, 9 * 13)
            return [p, y, s, m, dx]
        }
        let one = withThreads(1) { run() }, two = withThreads(2) { run() }
        for (a, b) in zip(one, two) { assertBitwiseEqual(a, b) }
    }
}
