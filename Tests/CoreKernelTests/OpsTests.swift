import XCTest
import TrainingLab

final class OpsTests: XCTestCase {
    func testElementwiseAgainstReference() {
        for n in [1, 7, 100_003] {
            let a = randomFloats(n, seed: 1), b = randomFloats(n, seed: 2)
            var y = [Float](repeating: 0, count: n)
            XCTAssertEqual(tl_add(&y, a, b, n), 0); assertClose(y, zip(a, b).map(+), rtol: 0, atol: 0)
            XCTAssertEqual(tl_sub(&y, a, b, n), 0); assertClose(y, zip(a, b).map(-), rtol: 0, atol: 0)
            XCTAssertEqual(tl_mul(&y, a, b, n), 0); assertClose(y, zip(a, b).map(*), rtol: 0, atol: 0)
            XCTAssertEqual(tl_affine(&y, a, n, 2, 1), 0); assertClose(y, a.map { 2 * $0 + 1 }, rtol: 1e-6)
            y = b
            XCTAssertEqual(tl_axpy(&y, a, n, -0.5), 0); assertClose(y, zip(a, b).map { $1 - 0.5 * $0 }, rtol: 1e-6)
            y = b
            XCTAssertEqual(tl_lerp(&y, a, n, 0.25), 0); assertClose(y, zip(a, b).map { $1 + 0.25 * ($0 - $1) }, rtol: 1e-6, atol: 1e-7)
        }
    }

    func testChannelBiasAndSums() {
        let (outer, c, inner) = (3, 5, 7)
        let x = randomFloats(outer * c * inner, seed: 3), bias = randomFloats(c, seed: 4)
        var y = [Float](repeating: 0, count: x.count)
        XCTAssertEqual(tl_add_channel_bias(&y, x, bias, outer, c, inner), 0)
        assertClose(y, x.indices.map { x[$0] + bias[($0 / inner) % c] }, rtol: 0, atol: 0)
        var sums = [Float](repeating: 0, count: c)
        XCTAssertEqual(tl_sum_channels(&sums, x, outer, c, inner), 0)
        var expectedSums = [Float](repeating: 0, count: c)
        for o in 0..<outer { for ch in 0..<c { for i in 0..<inner { expectedSums[ch] += x[(o * c + ch) * inner + i] } } }
        assertClose(sums, expectedSums, rtol: 1e-5)
        var axisSum = [Float](repeating: 0, count: outer * inner)
        XCTAssertEqual(tl_sum_axis(&axisSum, x, outer, c, inner), 0)
        var expectedAxis = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer { for ch in 0..<c { for i in 0..<inner { expectedAxis[o * inner + i] += x[(o * c + ch) * inner + i] } } }
        assertClose(axisSum, expectedAxis, rtol: 1e-5)
        var back = [Float](repeating: 0, count: x.count)
        XCTAssertEqual(tl_broadcast_axis(&back, axisSum, outer, c, inner), 0)
        assertClose(back, x.indices.map { axisSum[$0 / (c * inner) * inner + $0 % inner] }, rtol: 0, atol: 0)
    }

    func testDeterministicSumsDoNotDependOnThreads() {
        let x = randomFloats(1_000_003, seed: 5), w = randomFloats(1_000_003, seed: 6)
        var s1 = 0.0, s2 = 0.0, d1 = 0.0, d2 = 0.0
        withThreads(1) { _ = tl_sum(&s1, x, x.count); _ = tl_dot(&d1, x, w, x.count) }
        withThreads(2) { _ = tl_sum(&s2, x, x.count); _ = tl_dot(&d2, x, w, x.count) }
        XCTAssertEqual(s1.bitPattern, s2.bitPattern)
        XCTAssertEqual(d1.bitPattern, d2.bitPattern)
        XCTAssertEqual(s1, x.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-6)
        XCTAssertEqual(d1, zip(x, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }, accuracy: 1e-6)
    }

    func testNonFiniteCount() {
        var x = randomFloats(1000, seed: 7)
        x[3] = .nan; x[500] = .infinity; x[999] = -.infinity
        var count = 0
        XCTAssertEqual(tl_count_nonfinite(&count, x, x.count), 0)
        XCTAssertEqual(count, 3)
    }

    func testTransposeGatherScatter() {
        let (r, c) = (37, 41)
        let x = randomFloats(r * c, seed: 8)
        var t = [Float](repeating: 0, count: r * c)
        XCTAssertEqual(tl_transpose(&t, x, r, c), 0)
        assertClose(t, (0..<r * c).map { x[($0 % r) * c + $0 / r] }, rtol: 0, atol: 0)
        let index: [Int64] = [3, 0, 3]
        var g = [Float](repeating: 0, count: 3 * c)
        XCTAssertEqual(tl_gather_rows(&g, x, index, 3, r, c), 0)
        assertClose(g, index.flatMap { Array(x[Int($0) * c..<Int($0 + 1) * c]) }, rtol: 0, atol: 0)
        var acc = [Float](repeating: 0, count: r * c)
        XCTAssertEqual(tl_scatter_add_rows(&acc, g, index, 3, r, c), 0)
        assertClose(Array(acc[3 * c..<4 * c]), Array(x[3 * c..<4 * c]).map { 2 * $0 }, rtol: 1e-6)
        assertFails(tl_gather_rows(&g, x, [Int64(r)], 1, r, c), TL_ERR_INVALID_ARGUMENT, mentioning: "index[0]")
    }

    func testL2NormalizeRowsForwardAndBackward() {
        let (rows, d) = (5, 9)
        var x = randomFloats(rows * d, seed: 9)
        for k in 0..<d { x[4 * d + k] = 0 }  // a zero row is clamped to eps
        var y = [Float](repeating: 0, count: x.count), norms = [Float](repeating: 0, count: rows)
        XCTAssertEqual(tl_l2_normalize_rows_forward(&y, &norms, x, rows, d, 1e-6), 0)
        for r in 0..<4 {
            let norm = sqrt(x[r * d..<(r + 1) * d].reduce(0) { $0 + $1 * $1 })
            assertClose(Array(y[r * d..<(r + 1) * d]), x[r * d..<(r + 1) * d].map { $0 / norm }, rtol: 1e-5)
        }
        let dy = randomFloats(x.count, seed: 10)
        var dx = [Float](repeating: 0, count: x.count)
        XCTAssertEqual(tl_l2_normalize_rows_backward(&dx, dy, y, norms, rows, d, 1e-6), 0)
        let numeric = numericalGradient(at: Array(x[0..<4 * d]), eps: 1e-3) { probe in
            var yy = [Float](repeating: 0, count: probe.count), nn = [Float](repeating: 0, count: 4)
            _ = tl_l2_normalize_rows_forward(&yy, &nn, probe, 4, d, 1e-6)
            return dot(yy, Array(dy[0..<4 * d]))
        }
        assertClose(Array(dx[0..<4 * d]), numeric, rtol: 1e-2, atol: 1e-3)
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
