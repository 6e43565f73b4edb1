import XCTest
import KernelTable
import TrainingLab

/// Normalisation (include/tl_norm.h) beyond the kernel table's checks: hand-computed running statistics,
/// accuracy with a large mean, NULL affine parameters and gradient outputs, in-place use, instance norm per
/// plane, and bad arguments.

/// Mean and biased variance of the values at `indices`, two-pass in Double.
private func moments(_ x: [Float], _ indices: [Int]) -> (mean: Double, variance: Double) {
    let mean = indices.reduce(0.0) { $0 + Double(x[$1]) } / Double(indices.count)
    let variance = indices.reduce(0.0) { $0 + (Double(x[$1]) - mean) * (Double(x[$1]) - mean) } / Double(indices.count)
    return (mean, variance)
}

/// The table's reference normalisation of float data, as floats.
private func reference(_ x: [Float], _ layout: NormLayout, eps: Float) -> (y: [Float], mean: [Float], rstd: [Float]) {
    let r = Reference.normalize(x.map(Double.init), nil, nil, layout, eps: eps)
    return (r.y.map(Float.init), r.mean.map(Float.init), r.rstd.map(Float.init))
}

// MARK: - Calling helpers

private let eps: Float = 1e-5

private func bnTrain(_ x: [Float], _ gamma: [Float]?, _ beta: [Float]?, _ n: Int, _ c: Int, _ s: Int,
                     running: (mean: [Float], variance: [Float])? = nil, momentum: Float = 0.1)
    -> (y: [Float], mean: [Float], rstd: [Float], running: (mean: [Float], variance: [Float])?) {
    var y = [Float](repeating: .nan, count: x.count), mean = [Float](repeating: .nan, count: c), rstd = mean
    var rm = running?.mean ?? [], rv = running?.variance ?? []
    let status = rm.withUnsafeMutableBufferPointer { rmp in
        rv.withUnsafeMutableBufferPointer { rvp in
            tl_batchnorm_train_forward(&y, &mean, &rstd, running == nil ? nil : rmp.baseAddress, running == nil ? nil : rvp.baseAddress,
                                       x, gamma, beta, n, c, s, momentum, eps)
        }
    }
    XCTAssertEqual(status, 0, String(cString: tl_last_error()))
    return (y, mean, rstd, running == nil ? nil : (rm, rv))
}

private typealias Grads = (dx: [Float], dgamma: [Float], dbeta: [Float])

/// Runs a backward kernel with fresh NaN-filled outputs (so an unwritten output shows).
private func grads(_ inputCount: Int, _ paramCount: Int,
                   _ kernel: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Int32) -> Grads {
    var dx = [Float](repeating: .nan, count: inputCount), dg = [Float](repeating: .nan, count: paramCount), db = dg
    XCTAssertEqual(kernel(&dx, &dg, &db), 0, String(cString: tl_last_error()))
    return (dx, dg, db)
}

private func bnTrainBackward(_ dy: [Float], _ x: [Float], _ gamma: [Float]?, _ mean: [Float], _ rstd: [Float],
                             _ n: Int, _ c: Int, _ s: Int) -> Grads {
    grads(x.count, c) { tl_batchnorm_train_backward($0, $1, $2, dy, x, gamma, mean, rstd, n, c, s) }
}

private func lnForward(_ x: [Float], _ gamma: [Float]?, _ beta: [Float]?, _ r: Int, _ d: Int) -> (y: [Float], mean: [Float], rstd: [Float]) {
    var y = [Float](repeating: .nan, count: x.count), mean = [Float](repeating: .nan, count: r), rstd = mean
    XCTAssertEqual(tl_layernorm_forward(&y, &mean, &rstd, x, gamma, beta, r, d, eps), 0)
    return (y, mean, rstd)
}

private func gnForward(_ x: [Float], _ gamma: [Float]?, _ beta: [Float]?, _ n: Int, _ c: Int, _ s: Int, _ g: Int)
    -> (y: [Float], mean: [Float], rstd: [Float]) {
    var y = [Float](repeating: .nan, count: x.count), mean = [Float](repeating: .nan, count: n * g), rstd = mean
    XCTAssertEqual(tl_groupnorm_forward(&y, &mean, &rstd, x, gamma, beta, n, c, s, g, eps), 0)
    return (y, mean, rstd)
}

// MARK: - Batch norm

final class BatchNormTests: XCTestCase {
    func testNullAffineIsIdentityAffine() {
        let (n, c, s) = (3, 4, 6)
        let x = randomFloats(n * c * s, seed: 5)
        assertBitwiseEqual(bnTrain(x, nil, nil, n, c, s).y,
                           bnTrain(x, [Float](repeating: 1, count: c), [Float](repeating: 0, count: c), n, c, s).y)
    }

    func testRunningStatisticsByHand() {
        // x = 1, 2, 3, 4 in one channel: mean 2.5, biased variance 1.25, unbiased 5/3.
        // running mean 0 -> 0.9 * 0 + 0.1 * 2.5 = 0.25; running var 1 -> 0.9 * 1 + 0.1 * 5/3 = 1.0666667.
        for (n, s) in [(4, 1), (2, 2), (1, 4)] {
            let out = bnTrain([1, 2, 3, 4], nil, nil, n, 1, s, running: ([0], [1]), momentum: 0.1)
            XCTAssertEqual(out.running!.mean[0], 0.25, accuracy: 1e-7)
            XCTAssertEqual(out.running!.variance[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-6)
            XCTAssertEqual(out.mean[0], 2.5)
            XCTAssertEqual(out.rstd[0], Float(1 / (1.25 + Double(eps)).squareRoot()), accuracy: 1e-7)
        }
        // Two channels, momentum 1 replaces the running values; momentum 0 keeps them.
        let x: [Float] = [0, 10, 2, 30, 4, 50]  // (N=3, C=2): channel 0 = 0, 2, 4; channel 1 = 10, 30, 50
        let replaced = bnTrain(x, nil, nil, 3, 2, 1, running: ([7, 7], [7, 7]), momentum: 1)
        XCTAssertEqual(replaced.running!.mean, [2, 30])
        XCTAssertEqual(replaced.running!.variance[0], 4, accuracy: 1e-6)
        XCTAssertEqual(replaced.running!.variance[1], 400, accuracy: 1e-4)
        let kept = bnTrain(x, nil, nil, 3, 2, 1, running: ([7, 8], [9, 10]), momentum: 0)
        XCTAssertEqual(kept.running!.mean, [7, 8])
        XCTAssertEqual(kept.running!.variance, [9, 10])
    }

    func testLargeMeanStaysAccurate() {
        // mean / std = 1e4: a float E[x^2] - E[x]^2 would lose every digit of the variance.
        for (n, c, s) in [(64, 2, 49), (2048, 2, 1)] {
            let noise = randomFloats(n * c * s, seed: 3, low: -0.1, high: 0.1)
            let x = noise.map { 1000 + $0 }
            let out = bnTrain(x, nil, nil, n, c, s)
            let ref = reference(x, .batch(n, c, s), eps: 1e-12)
            assertClose(out.mean, ref.mean, rtol: 1e-7, atol: 0)
            // eps (1e-5) is not negligible next to var (~3e-3): compare rstd with the same eps.
            let refWithEps = reference(x, .batch(n, c, s), eps: eps)
            assertClose(out.rstd, refWithEps.rstd, rtol: 1e-5, atol: 0, "\((n, c, s))")
            assertClose(out.y, refWithEps.y, rtol: 1e-3, atol: 2e-3, "\((n, c, s))")
        }
    }

    func testBackwardNullOutputsAndInPlace() {
        let (n, c, s) = (3, 4, 5)
        let x = randomFloats(n * c * s, seed: 6), dy = randomFloats(n * c * s, seed: 7), gamma = randomFloats(c, seed: 8)
        let out = bnTrain(x, gamma, nil, n, c, s)
        let all = bnTrainBackward(dy, x, gamma, out.mean, out.rstd, n, c, s)
        var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: c), db = dg
        XCTAssertEqual(tl_batchnorm_train_backward(&dx, nil, nil, dy, x, gamma, out.mean, out.rstd, n, c, s), 0)
        XCTAssertEqual(tl_batchnorm_train_backward(nil, &dg, nil, dy, x, gamma, out.mean, out.rstd, n, c, s), 0)
        XCTAssertEqual(tl_batchnorm_train_backward(nil, nil, &db, dy, x, gamma, out.mean, out.rstd, n, c, s), 0)
        XCTAssertEqual(tl_batchnorm_train_backward(nil, nil, nil, dy, x, gamma, out.mean, out.rstd, n, c, s), 0)
        assertBitwiseEqual(dx, all.dx)
        assertBitwiseEqual(dg, all.dgamma)
        assertBitwiseEqual(db, all.dbeta)
        // dx == dy, and y == x.
        var g = dy
        XCTAssertEqual(g.withUnsafeMutableBufferPointer { tl_batchnorm_train_backward($0.baseAddress, nil, nil, $0.baseAddress, x, gamma, out.mean, out.rstd, n, c, s) }, 0)
        assertBitwiseEqual(g, all.dx)
        var z = x, m = [Float](repeating: 0, count: c), r = m
        XCTAssertEqual(z.withUnsafeMutableBufferPointer { tl_batchnorm_train_forward($0.baseAddress, &m, &r, nil, nil, $0.baseAddress, gamma, nil, n, c, s, 0.1, eps) }, 0)
        assertBitwiseEqual(z, out.y)
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 24), m = [Float](repeating: 0, count: 4), r = m
        let x = [Float](repeating: 1, count: 24), v = [Float](repeating: 1, count: 4)
        assertFails(tl_batchnorm_train_forward(nil, &m, &r, nil, nil, x, nil, nil, 2, 4, 3, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: "tl_batchnorm_train_forward: y")
        assertFails(tl_batchnorm_train_forward(&y, nil, &r, nil, nil, x, nil, nil, 2, 4, 3, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: "save_mean")
        assertFails(tl_batchnorm_train_forward(&y, &m, &r, nil, nil, nil, nil, nil, 2, 4, 3, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: "x is NULL")
        assertFails(tl_batchnorm_train_forward(&y, &m, &r, nil, nil, x, nil, nil, 0, 4, 3, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_batchnorm_train_forward(&y, &m, &r, nil, nil, x, nil, nil, 2, -4, 3, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_batchnorm_train_forward(&y, &m, &r, nil, nil, x, nil, nil, 1, 4, 1, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "N*S >= 2")
        assertFails(tl_batchnorm_train_forward(&y, &m, &r, nil, nil, x, nil, nil, 2, 4, 3, 1.5, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "momentum")
        assertFails(tl_batchnorm_train_forward(&y, &m, &r, nil, nil, x, nil, nil, 2, 4, 3, 0.1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
        assertFails(tl_batchnorm_train_backward(&y, nil, nil, nil, x, nil, m, r, 2, 4, 3), TL_ERR_NULL_POINTER, mentioning: "dy")
        assertFails(tl_batchnorm_train_backward(&y, nil, nil, x, x, nil, nil, r, 2, 4, 3), TL_ERR_NULL_POINTER, mentioning: "save_mean")
        assertFails(tl_batchnorm_train_backward(&y, nil, nil, x, x, nil, m, r, 2, 4, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "S")
        assertFails(tl_batchnorm_eval_forward(&y, x, nil, nil, nil, v, 2, 4, 3, eps), TL_ERR_NULL_POINTER, mentioning: "running_mean")
        assertFails(tl_batchnorm_eval_forward(&y, x, nil, nil, v, [1, -1, 1, 1], 2, 4, 3, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "running_var[1]")
        assertFails(tl_batchnorm_eval_backward(&y, nil, nil, x, x, nil, v, v, 2, 4, 3, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
    }
}

// MARK: - Layer norm

final class LayerNormTests: XCTestCase {
    func testLargeOffsetKeepsTheVariance() {
        // The shifted double sums keep the variance of rows near 3000.
        let x = randomFloats(4 * 512, seed: 3, low: -0.1, high: 0.1).map { $0 + 3000 }
        assertClose(lnForward(x, nil, nil, 4, 512).rstd, reference(x, .rows(4, 512), eps: eps).rstd, rtol: 1e-4, atol: 0)
    }

    func testNullOutputsAndInPlace() {
        let (r, d) = (512, 256)
        let x = randomFloats(r * d, seed: 6), dy = randomFloats(r * d, seed: 7)
        let gamma = randomFloats(d, seed: 8), beta = randomFloats(d, seed: 9)
        let out = lnForward(x, gamma, beta, r, d)
        let all = grads(x.count, d) { tl_layernorm_backward($0, $1, $2, dy, x, gamma, out.mean, out.rstd, r, d) }
        var dg = [Float](repeating: 0, count: d), g = dy
        XCTAssertEqual(tl_layernorm_backward(nil, &dg, nil, dy, x, gamma, out.mean, out.rstd, r, d), 0)
        assertBitwiseEqual(dg, all.dgamma)
        XCTAssertEqual(g.withUnsafeMutableBufferPointer { tl_layernorm_backward($0.baseAddress, nil, nil, $0.baseAddress, x, gamma, out.mean, out.rstd, r, d) }, 0)
        assertBitwiseEqual(g, all.dx)
        var z = x, m = [Float](repeating: 0, count: r), rs = m
        XCTAssertEqual(z.withUnsafeMutableBufferPointer { tl_layernorm_forward($0.baseAddress, &m, &rs, $0.baseAddress, gamma, beta, r, d, eps) }, 0)
        assertBitwiseEqual(z, out.y)
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 12), m = [Float](repeating: 0, count: 3), r = m
        let x = [Float](repeating: 0, count: 12)
        assertFails(tl_layernorm_forward(&y, nil, &r, x, nil, nil, 3, 4, eps), TL_ERR_NULL_POINTER, mentioning: "tl_layernorm_forward: mean")
        assertFails(tl_layernorm_forward(&y, &m, &r, x, nil, nil, 0, 4, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "R")
        assertFails(tl_layernorm_forward(&y, &m, &r, x, nil, nil, 3, -4, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "D")
        assertFails(tl_layernorm_forward(&y, &m, &r, x, nil, nil, 3, 4, .nan), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
        assertFails(tl_layernorm_backward(&y, nil, nil, x, x, nil, m, nil, 3, 4), TL_ERR_NULL_POINTER, mentioning: "rstd")
        assertFails(tl_layernorm_backward(&y, nil, nil, x, x, nil, m, r, 3, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "D")
    }
}

// MARK: - Group norm

final class GroupNormTests: XCTestCase {
    func testInstanceNormIsPerPlane() {
        // G = C normalises every (n, c) plane on its own: each plane of y has mean 0 and variance ~1.
        let (n, c, s) = (2, 3, 50)
        let y = gnForward(randomFloats(n * c * s, seed: 4, low: 5, high: 9), nil, nil, n, c, s, c).y
        for p in 0..<(n * c) {
            let (m, v) = moments(y, Array((p * s)..<((p + 1) * s)))
            XCTAssertEqual(m, 0, accuracy: 1e-5)
            XCTAssertEqual(v, 1, accuracy: 1e-3)
        }
    }

    func testNullOutputsAndInPlace() {
        let (n, c, s, g) = (8, 16, 512, 4)
        let x = randomFloats(n * c * s, seed: 6), dy = randomFloats(n * c * s, seed: 7)
        let gamma = randomFloats(c, seed: 8), beta = randomFloats(c, seed: 9)
        let out = gnForward(x, gamma, beta, n, c, s, g)
        let all = grads(x.count, c) { tl_groupnorm_backward($0, $1, $2, dy, x, gamma, out.mean, out.rstd, n, c, s, g) }
        var db = [Float](repeating: 0, count: c), gd = dy
        XCTAssertEqual(tl_groupnorm_backward(nil, nil, &db, dy, x, gamma, out.mean, out.rstd, n, c, s, g), 0)
        assertBitwiseEqual(db, all.dbeta)
        XCTAssertEqual(gd.withUnsafeMutableBufferPointer { tl_groupnorm_backward($0.baseAddress, nil, nil, $0.baseAddress, x, gamma, out.mean, out.rstd, n, c, s, g) }, 0)
        assertBitwiseEqual(gd, all.dx)
        var z = x, m = [Float](repeating: 0, count: n * g), r = m
        XCTAssertEqual(z.withUnsafeMutableBufferPointer { tl_groupnorm_forward($0.baseAddress, &m, &r, $0.baseAddress, gamma, beta, n, c, s, g, eps) }, 0)
        assertBitwiseEqual(z, out.y)
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 24), m = [Float](repeating: 0, count: 4), r = m
        let x = [Float](repeating: 0, count: 24)
        assertFails(tl_groupnorm_forward(&y, &m, &r, x, nil, nil, 2, 6, 2, 4, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "divide")
        assertFails(tl_groupnorm_forward(&y, &m, &r, x, nil, nil, 2, 6, 2, 0, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "G")
        assertFails(tl_groupnorm_forward(&y, &m, nil, x, nil, nil, 2, 6, 2, 2, eps), TL_ERR_NULL_POINTER, mentioning: "rstd")
        assertFails(tl_groupnorm_forward(&y, &m, &r, x, nil, nil, 2, 6, 2, 2, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
        assertFails(tl_groupnorm_backward(&y, nil, nil, x, nil, nil, m, r, 2, 6, 2, 2), TL_ERR_NULL_POINTER, mentioning: "tl_groupnorm_backward: x")
        assertFails(tl_groupnorm_backward(&y, nil, nil, x, x, nil, m, r, 2, 6, -2, 2), TL_ERR_INVALID_ARGUMENT, mentioning: "S")
    }
}
