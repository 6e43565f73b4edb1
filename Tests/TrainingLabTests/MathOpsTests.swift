import XCTest
import Foundation
import TrainingLab

/// Element-wise math, grid sampling and factorisations: forward values and finite-difference gradients.
final class MathOpsTests: XCTestCase {
    func testElementwiseMathValuesAndGradients() throws {
        // Values kept away from the kinks of abs and clamp, and inside acos's domain.
        let x = try Tensor([-1.5, -0.7, -0.2, 0.3, 0.8, 1.9], shape: [2, 3], requiresGrad: true)
        let p = Tensor.uniform([2, 3], low: 0.5, high: 2, seed: 1, requiresGrad: true)
        let e = Tensor.uniform([2, 3], low: -1, high: 2, seed: 2, requiresGrad: true)
        let xs = x.scalars
        XCTAssertEqual(try abs(x).scalars, xs.map { Swift.abs($0) })
        XCTAssertEqual(try sqrt(p).scalars, p.scalars.map { $0.squareRoot() })
        XCTAssertEqual(try clamp(x, min: -1, max: 1).scalars, [-1, -0.7, -0.2, 0.3, 0.8, 1])
        XCTAssertEqual(try clamp(x, min: 0).scalars, [0, 0, 0, 0.3, 0.8, 1.9])
        XCTAssertEqual(try pow(x, 2).scalars, xs.map { $0 * $0 })
        assertNear(try pow(p, e).scalars, zip(p.scalars, e.scalars).map { Foundation.pow($0, $1) })
        assertNear(try acos(x * 0.5).scalars, xs.map { Foundation.acos($0 * 0.5) })
        try assertGradientsMatch([x], eps: 1e-3) { try abs($0[0]) }
        try assertGradientsMatch([p], eps: 1e-3) { try sqrt($0[0]) }
        try assertGradientsMatch([x], eps: 1e-3) { try pow($0[0], 3) }
        try assertGradientsMatch([p], eps: 1e-3) { try pow($0[0], -0.5) }
        try assertGradientsMatch([p, e], eps: 1e-3) { try pow($0[0], $0[1]) }
        try assertGradientsMatch([x], eps: 1e-3) { try clamp($0[0], min: -1, max: 1) }
        try assertGradientsMatch([x], eps: 1e-3) { try acos($0[0] * 0.5) }
        XCTAssertThrowsError(try clamp(x, min: 1, max: 0)) { XCTAssertTrue("\($0)".contains("clamp")) }
        XCTAssertThrowsError(try pow(x, Tensor(zeros: [3, 2]))) { XCTAssertTrue("\($0)".contains("pow")) }
    }

    func testSelectAndMaskedFill() throws {
        let a = Tensor.uniform([2, 3], low: -1, high: 1, seed: 3, requiresGrad: true)
        let b = Tensor.uniform([2, 3], low: -1, high: 1, seed: 4, requiresGrad: true)
        let mask = [true, false, false, true, true, false]
        let picked = try select(mask, a, b).scalars
        for i in 0..<6 { XCTAssertEqual(picked[i], mask[i] ? a.scalars[i] : b.scalars[i]) }
        try assertGradientsMatch([a, b]) { try select(mask, $0[0], $0[1]) }
        let filled = try maskedFill(a, mask: mask, value: -9).scalars
        for i in 0..<6 { XCTAssertEqual(filled[i], mask[i] ? -9 : a.scalars[i]) }
        try assertGradientsMatch([a]) { try maskedFill($0[0], mask: mask, value: -9) }
        XCTAssertThrowsError(try select([true], a, b)) { XCTAssertTrue("\($0)".contains("select: mask of 1")) }
        XCTAssertThrowsError(try maskedFill(a, mask: [true], value: 0)) { XCTAssertTrue("\($0)".contains("maskedFill")) }
    }

    func testGridSampleIdentityGridAndGradients() throws {
        let (n, c, h, w) = (2, 3, 4, 5)
        let x = Tensor.uniform([n, c, h, w], low: -1, high: 1, seed: 5, requiresGrad: true)
        // With alignCorners the grid of pixel centres (-1 ... 1) reproduces the input.
        var identity = [Float]()
        for _ in 0..<n { for i in 0..<h { for j in 0..<w { identity += [Float(2 * j) / Float(w - 1) - 1, Float(2 * i) / Float(h - 1) - 1] } } }
        let grid = try Tensor(identity, shape: [n, h, w, 2])
        assertNear(try gridSample(x, grid: grid, alignCorners: true).scalars, x.scalars)
        let warped = Tensor.uniform([n, 3, 2, 2], low: -1.1, high: 1.1, seed: 6, requiresGrad: true)
        for align in [false, true] {
            XCTAssertEqual(try gridSample(x, grid: warped, alignCorners: align).shape, [n, c, 3, 2])
            try assertGradientsMatch([x, warped], eps: 1e-3, rtol: 3e-2, atol: 3e-3) { try gridSample($0[0], grid: $0[1], alignCorners: align) }
        }
        XCTAssertThrowsError(try gridSample(x, grid: Tensor(zeros: [n, 3, 2, 3]))) { XCTAssertTrue("\($0)".contains("gridSample")) }
    }

    func testQRInverseAndLogAbsDeterminant() throws {
        for shape in [[5, 3], [4, 4]] {
            let a = Tensor.uniform(shape, low: -1, high: 1, seed: 7, requiresGrad: true)
            let (q, r) = try qr(a)
            XCTAssertEqual(q.shape, shape)
            XCTAssertEqual(r.shape, [shape[1], shape[1]])
            assertNear(try matmul(q, r).scalars, a.scalars)
            assertNear(try matmul(q, q, transposeA: true).scalars,
                       (0..<(shape[1] * shape[1])).map { $0 / shape[1] == $0 % shape[1] ? 1 : 0 })
            try assertGradientsMatch([a], eps: 1e-3, rtol: 3e-2, atol: 3e-3) { t in
                let (q, r) = try qr(t[0])
                return try concatenated([q, r])
            }
            try assertGradientsMatch([a], eps: 1e-3, rtol: 3e-2, atol: 3e-3) { try qr($0[0]).r }  // one factor used
        }
        let base = Tensor.uniform([4, 4], low: -1, high: 1, seed: 8)
        let m = base.copy()
        for i in 0..<4 { m.pointer[i * 5] += 3 }  // well conditioned
        m.requiresGrad = true
        let inv = try inverse(m)
        assertNear(try matmul(m, inv).scalars, (0..<16).map { $0 / 4 == $0 % 4 ? 1 : 0 })
        try assertGradientsMatch([m], eps: 1e-3, rtol: 2e-2, atol: 2e-3) { try inverse($0[0]) }
        // log|det| agrees with the Cholesky log-determinant on a positive definite matrix, and has gradient a⁻ᵀ.
        let spd = try matmul(base, base, transposeB: true) + matmul(m, m, transposeA: true)
        XCTAssertEqual(try logAbsDeterminant(spd).item(), try logDeterminant(spd).item(), accuracy: 1e-4)
        try assertGradientsMatch([m], eps: 1e-3, rtol: 2e-2, atol: 2e-3) { try logAbsDeterminant($0[0]) }
        // A negative determinant (one row negated) has the same log|det|.
        let flipped = m.copy()
        for j in 0..<4 { flipped.pointer[j] = -flipped.pointer[j] }
        XCTAssertEqual(try logAbsDeterminant(flipped).item(), try logAbsDeterminant(m).item(), accuracy: 1e-5)
        flipped.requiresGrad = true
        try assertGradientsMatch([flipped], eps: 1e-3, rtol: 2e-2, atol: 2e-3) { try logAbsDeterminant($0[0]) }
        XCTAssertThrowsError(try inverse(Tensor([1, 2, 2, 4], shape: [2, 2]))) { XCTAssertTrue("\($0)".contains("singular")) }
        XCTAssertThrowsError(try qr(Tensor(zeros: [2, 3]))) { XCTAssertTrue("\($0)".contains("qr")) }
        XCTAssertThrowsError(try logAbsDeterminant(Tensor(zeros: [2, 3]))) { XCTAssertTrue("\($0)".contains("logAbsDeterminant")) }
    }

    private func assertNear(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) where !(Swift.abs(x - y) <= 1e-4 + 1e-4 * Swift.abs(y)) {
            XCTFail("\(x) vs \(y)", file: file, line: line)
            return
        }
    }
}
