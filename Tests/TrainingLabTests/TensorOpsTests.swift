import XCTest
import TrainingLab

/// Shape, product, broadcasting and reduction ops: forward against plain Swift, gradients against
/// finite differences, and errors that name the op and the shapes.
final class TensorOpsTests: XCTestCase {
    func testPermuteAndTransposeOfAnyAxes() throws {
        let x = Tensor.uniform([2, 3, 4, 5], low: -1, high: 1, seed: 1, requiresGrad: true)
        let y = try x.permuted([0, 2, 1, 3])
        XCTAssertEqual(y.shape, [2, 4, 3, 5])
        let xs = x.scalars, ys = y.scalars
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 {
            XCTAssertEqual(ys[((a * 4 + c) * 3 + b) * 5 + d], xs[((a * 3 + b) * 4 + c) * 5 + d])
        } } } }
        XCTAssertEqual(try x.transposed(1, -2).scalars, ys)
        try assertGradientsMatch([x]) { try $0[0].permuted([3, 1, 0, 2]) }
        try assertGradientsMatch([x]) { try $0[0].transposed(0, 3) }
        let m = Tensor.uniform([3, 5], seed: 2)
        XCTAssertEqual(try m.transposed().scalars, try m.transposed(0, 1).scalars, "the 2-D transpose agrees")
        XCTAssertThrowsError(try x.permuted([0, 1, 2])) { XCTAssertTrue("\($0)".contains("permuted")) }
        XCTAssertThrowsError(try x.transposed(0, 4))
    }

    func testBatchedMatmulMatchesPerBatchProductsAndGradients() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor.uniform(ta ? [2, 3, 5, 4] : [2, 3, 4, 5], low: -1, high: 1, seed: 3, requiresGrad: true)
            let b = Tensor.uniform(tb ? [2, 3, 6, 5] : [2, 3, 5, 6], low: -1, high: 1, seed: 4, requiresGrad: true)
            let y = try batchedMatmul(a, b, transposeA: ta, transposeB: tb)
            XCTAssertEqual(y.shape, [2, 3, 4, 6])
            for i in 0..<6 {
                let ai = try a.reshaped([6] + Array(a.shape.suffix(2))).narrowed(axis: 0, start: i, length: 1).reshaped(Array(a.shape.suffix(2)))
                let bi = try b.reshaped([6] + Array(b.shape.suffix(2))).narrowed(axis: 0, start: i, length: 1).reshaped(Array(b.shape.suffix(2)))
                let expected = try matmul(ai, bi, transposeA: ta, transposeB: tb).scalars
                XCTAssertEqual(Array(y.scalars[(i * 24)..<((i + 1) * 24)]), expected, "batch \(i) ta \(ta) tb \(tb)")
            }
            try assertGradientsMatch([a, b]) { try batchedMatmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
        }
        XCTAssertThrowsError(try batchedMatmul(Tensor(zeros: [2, 3, 4]), Tensor(zeros: [3, 4, 5]))) { XCTAssertTrue("\($0)".contains("batch")) }
        XCTAssertThrowsError(try batchedMatmul(Tensor(zeros: [2, 3, 4]), Tensor(zeros: [2, 5, 5]))) { XCTAssertTrue("\($0)".contains("inner")) }
    }

    func testBroadcastingArithmeticAndItsGradients() throws {
        let a = Tensor.uniform([4, 1, 3], low: -1, high: 1, seed: 5, requiresGrad: true)
        let b = Tensor.uniform([5, 1], low: 0.5, high: 2, seed: 6, requiresGrad: true)
        let sum = try a + b
        XCTAssertEqual(sum.shape, [4, 5, 3])
        let (av, bv) = (a.scalars, b.scalars)
        for i in 0..<4 { for j in 0..<5 { for k in 0..<3 {
            let e = (i * 5 + j) * 3 + k
            XCTAssertEqual(sum.scalars[e], av[i * 3 + k] + bv[j])
            XCTAssertEqual(try (a / b).scalars[e], av[i * 3 + k] / bv[j])
        } } }
        try assertGradientsMatch([a, b]) { try $0[0] + $0[1] }
        try assertGradientsMatch([a, b]) { try $0[0] - $0[1] }
        try assertGradientsMatch([a, b]) { try $0[0] * $0[1] }
        try assertGradientsMatch([a, b]) { try $0[0] / $0[1] }
        try assertGradientsMatch([a, b]) { try $0[1] / $0[0].sum() }  // a scalar tensor broadcasts too
        let c = Tensor.uniform([4, 5, 3], low: 0.5, high: 2, seed: 7, requiresGrad: true)
        try assertGradientsMatch([c, a]) { try $0[0] / $0[1] }  // equal-rank division of the same shape path
        XCTAssertEqual(try (c / 2).scalars, try (c * 0.5).scalars)
        XCTAssertThrowsError(try Tensor(zeros: [2, 3]) + Tensor(zeros: [3, 2])) { XCTAssertTrue("\($0)".contains("add: shapes [2, 3] and [3, 2]")) }
    }

    func testNarrowSliceConcatAndStackOnAnyAxis() throws {
        let x = Tensor.uniform([3, 5, 2], low: -1, high: 1, seed: 8, requiresGrad: true)
        let n = try x.narrowed(axis: 1, start: 1, length: 3)
        XCTAssertEqual(n.shape, [3, 3, 2])
        for i in 0..<3 { for j in 0..<3 { for k in 0..<2 { XCTAssertEqual(n.scalars[(i * 3 + j) * 2 + k], x.scalars[(i * 5 + j + 1) * 2 + k]) } } }
        XCTAssertEqual(try x.sliced(axis: -2, 1..<4).scalars, n.scalars)
        try assertGradientsMatch([x]) { try $0[0].narrowed(axis: 1, start: 1, length: 3) }
        let y = Tensor.uniform([3, 2, 2], low: -1, high: 1, seed: 9, requiresGrad: true)
        let joined = try concatenated([x, y], axis: 1)
        XCTAssertEqual(joined.shape, [3, 7, 2])
        XCTAssertEqual(try joined.narrowed(axis: 1, start: 5, length: 2).scalars, y.scalars)
        XCTAssertEqual(try joined.narrowed(axis: 1, start: 0, length: 5).scalars, x.scalars)
        try assertGradientsMatch([x, y]) { try concatenated($0, axis: -2) }
        let rows = try concatenated([x, x.narrowed(axis: 0, start: 0, length: 1)])  // the default axis 0
        XCTAssertEqual(rows.shape, [4, 5, 2])
        let s = try stacked([x, x * 2], axis: 2)
        XCTAssertEqual(s.shape, [3, 5, 2, 2])
        XCTAssertEqual(s.scalars[2], x.scalars[0] * 2)  // s[0, 0, 1, 0]
        let z = Tensor.uniform([3, 5, 2], low: -1, high: 1, seed: 10, requiresGrad: true)
        try assertGradientsMatch([x, z]) { try stacked($0, axis: -1) }
        XCTAssertThrowsError(try x.narrowed(axis: 1, start: 3, length: 3)) { XCTAssertTrue("\($0)".contains("narrowed")) }
        XCTAssertThrowsError(try concatenated([x, y], axis: 0)) { XCTAssertTrue("\($0)".contains("differ outside axis 0")) }
        XCTAssertThrowsError(try stacked([x, y]))
    }

    func testAxisReductionsWithKeepDims() throws {
        let x = Tensor.uniform([3, 4, 5], low: -2, high: 2, seed: 11, requiresGrad: true)
        let v = x.scalars
        for axis in [0, 1, 2, -1] {
            let a = (axis + 3) % 3
            let sizes = x.shape
            var expectedShape = sizes
            expectedShape[a] = 1
            XCTAssertEqual(try x.sum(alongAxis: axis, keepDims: true).shape, expectedShape)
            let maxima = try x.maximum(alongAxis: axis).scalars, minima = try x.minimum(alongAxis: axis, keepDims: true).scalars
            let means = try x.mean(alongAxis: axis).scalars
            var rest = sizes
            rest.remove(at: a)
            for o in 0..<(rest[0] * rest[1]) {
                let slice = (0..<sizes[a]).map { j -> Float in
                    var idx = [o / rest[1], o % rest[1]]
                    idx.insert(j, at: a)
                    return v[(idx[0] * 4 + idx[1]) * 5 + idx[2]]
                }
                XCTAssertEqual(maxima[o], slice.max()!)
                XCTAssertEqual(minima[o], slice.min()!)
                XCTAssertEqual(means[o], slice.reduce(0, +) / Float(slice.count), accuracy: 1e-6)
            }
            try assertGradientsMatch([x]) { try $0[0].sum(alongAxis: axis, keepDims: true) }
            try assertGradientsMatch([x]) { try $0[0].mean(alongAxis: axis) }
            try assertGradientsMatch([x], eps: 1e-3) { try $0[0].maximum(alongAxis: axis, keepDims: true) }
            try assertGradientsMatch([x], eps: 1e-3) { try $0[0].minimum(alongAxis: axis) }
            try assertGradientsMatch([x], eps: 1e-3) { try logSumExp($0[0], axis: axis, keepDims: true) }
        }
        // Ties: the whole gradient goes to the first maximal element.
        let tied = try Tensor([1, 3, 3, 2], shape: [1, 4], requiresGrad: true)
        try tied.maximum(alongAxis: 1).sum().backward()
        XCTAssertEqual(tied.grad?.scalars, [0, 1, 0, 0])
        // keepDims results broadcast back: x - max over the last axis.
        let centred = try x - x.maximum(alongAxis: -1, keepDims: true)
        XCTAssertEqual(try centred.maximum(alongAxis: -1).scalars, [Float](repeating: 0, count: 12))
        XCTAssertThrowsError(try x.maximum(alongAxis: 3)) { XCTAssertTrue("\($0)".contains("maximum(alongAxis:)")) }
        XCTAssertThrowsError(try Tensor(zeros: [2, 0]).mean(alongAxis: 1))
    }
}
