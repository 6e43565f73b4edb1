import XCTest
import TrainingLab

/// Normalisation (include/tl_norm.h): batch norm (training and inference), layer norm and group norm
/// against Double references, finite differences, hand-computed running statistics, accuracy with a
/// large mean, 1 vs 2 threads, NULL gradient outputs and bad arguments.

// MARK: - Reference

/// Mean and biased variance of the values at `indices`, two-pass in Double.
private func moments(_ x: [Float], _ indices: [Int]) -> (mean: Double, variance: Double) {
    let mean = indices.reduce(0.0) { $0 + Double(x[$1]) } / Double(indices.count)
    let variance = indices.reduce(0.0) { $0 + (Double(x[$1]) - mean) * (Double(x[$1]) - mean) } / Double(indices.count)
    return (mean, variance)
}

/// Normalisation over arbitrary index groups with per-element affine parameters, and its exact gradient:
/// the one reference behind batch, layer and group norm. `param[i]` is the gamma/beta index of element i.
private struct RefNorm {
    var groups: [[Int]]
    var param: [Int]
    var eps: Double

    func forward(_ x: [Float], _ gamma: [Float]?, _ beta: [Float]?) -> (y: [Float], mean: [Float], rstd: [Float]) {
        var y = [Float](repeating: 0, count: x.count), means: [Float] = [], rstds: [Float] = []
        for g in groups {
            let (m, v) = moments(x, g)
            let r = 1 / (v + eps).squareRoot()
            for i in g {
                let xhat = (Double(x[i]) - m) * r
                y[i] = Float(xhat * Double(gamma?[param[i]] ?? 1) + Double(beta?[param[i]] ?? 0))
            }
            means.append(Float(m))
            rstds.append(Float(r))
        }
        return (y, means, rstds)
    }

    func backward(_ dy: [Float], _ x: [Float], _ gamma: [Float]?, paramCount: Int) -> (dx: [Float], dgamma: [Float], dbeta: [Float]) {
        var dx = [Float](repeating: 0, count: x.count)
        var dgamma = [Double](repeating: 0, count: paramCount), dbeta = [Double](repeating: 0, count: paramCount)
        for g in groups {
            let (m, v) = moments(x, g)
            let r = 1 / (v + eps).squareRoot(), count = Double(g.count)
            var sg = 0.0, sgx = 0.0
            for i in g {
                let xhat = (Double(x[i]) - m) * r, gi = Double(dy[i]) * Double(gamma?[param[i]] ?? 1)
                sg += gi
                sgx += gi * xhat
                dgamma[param[i]] += Double(dy[i]) * xhat
                dbeta[param[i]] += Double(dy[i])
            }
            for i in g {
                let xhat = (Double(x[i]) - m) * r, gi = Double(dy[i]) * Double(gamma?[param[i]] ?? 1)
                dx[i] = Float(r * (gi - sg / count - xhat * sgx / count))
            }
        }
        return (dx, dgamma.map { Float($0) }, dbeta.map { Float($0) })
    }
}

/// Batch norm groups: channel c of (N,C,S) gathers n and s.
private func batchNormRef(_ n: Int, _ c: Int, _ s: Int, eps: Float) -> RefNorm {
    RefNorm(groups: (0..<c).map { ch in (0..<n).flatMap { b in (0..<s).map { (b * c + ch) * s + $0 } } },
            param: (0..<(n * c * s)).map { ($0 / s) % c }, eps: Double(eps))
}

private func layerNormRef(_ r: Int, _ d: Int, eps: Float) -> RefNorm {
    RefNorm(groups: (0..<r).map { row in Array((row * d)..<((row + 1) * d)) }, param: (0..<(r * d)).map { $0 % d }, eps: Double(eps))
}

private func groupNormRef(_ n: Int, _ c: Int, _ s: Int, _ g: Int, eps: Float) -> RefNorm {
    let size = c / g * s
    return RefNorm(groups: (0..<(n * g)).map { q in Array((q * size)..<((q + 1) * size)) },
                   param: (0..<(n * c * s)).map { ($0 / s) % c }, eps: Double(eps))
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

/// Finite-difference gradients of dot(forward(x, gamma, beta), dir) with respect to x, gamma and beta.
private func numericGrads(_ x: [Float], _ gamma: [Float], _ beta: [Float], _ dir: [Float], eps: Float = 1e-2,
                          _ forward: ([Float], [Float], [Float]) -> [Float]) -> Grads {
    (numericalGradient(at: x, eps: eps) { dot(forward($0, gamma, beta), dir) },
     numericalGradient(at: gamma, eps: eps) { dot(forward(x, $0, beta), dir) },
     numericalGradient(at: beta, eps: eps) { dot(forward(x, gamma, $0), dir) })
}

private func assertGradsClose(_ a: Grads, _ b: Grads, rtol: Float, atol: Float, _ message: String,
                              file: StaticString = #filePath, line: UInt = #line) {
    assertClose(a.dx, b.dx, rtol: rtol, atol: atol, "dx " + message, file: file, line: line)
    assertClose(a.dgamma, b.dgamma, rtol: rtol, atol: atol, "dgamma " + message, file: file, line: line)
    assertClose(a.dbeta, b.dbeta, rtol: rtol, atol: atol, "dbeta " + message, file: file, line: line)
}

// MARK: - Batch norm

final class BatchNormTests: XCTestCase {
    /// (N, C, S): planes, the (N,C) row path (S = 1), batch 1, uneven row blocks (130 rows in 64 blocks).
    let shapes = [(4, 3, 5), (2, 5, 1), (1, 2, 7), (3, 4, 16), (130, 3, 1), (2, 1, 2), (5, 2, 19)]

    func testTrainForwardMatchesReference() {
        for (n, c, s) in shapes {
            let x = randomFloats(n * c * s, seed: UInt64(n * 100 + c * 10 + s), low: -2, high: 3)
            let gamma = randomFloats(c, seed: 1, low: 0.5, high: 1.5), beta = randomFloats(c, seed: 2)
            let out = bnTrain(x, gamma, beta, n, c, s)
            let ref = batchNormRef(n, c, s, eps: eps).forward(x, gamma, beta)
            assertClose(out.y, ref.y, rtol: 1e-5, atol: 1e-5, "y \((n, c, s))")
            assertClose(out.mean, ref.mean, rtol: 1e-6, atol: 1e-6, "mean \((n, c, s))")
            assertClose(out.rstd, ref.rstd, rtol: 1e-6, atol: 0, "rstd \((n, c, s))")
        }
    }

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
            let ref = batchNormRef(n, c, s, eps: 1e-12).forward(x, nil, nil)
            assertClose(out.mean, ref.mean, rtol: 1e-7, atol: 0)
            // eps (1e-5) is not negligible next to var (~3e-3): compare rstd with the same eps.
            let refWithEps = batchNormRef(n, c, s, eps: eps).forward(x, nil, nil)
            assertClose(out.rstd, refWithEps.rstd, rtol: 1e-5, atol: 0, "\((n, c, s))")
            assertClose(out.y, refWithEps.y, rtol: 1e-3, atol: 2e-3, "\((n, c, s))")
        }
    }

    func testTrainBackwardMatchesReferenceAndFiniteDifferences() {
        for (n, c, s) in shapes {
            let x = randomFloats(n * c * s, seed: UInt64(n * 7 + c * 3 + s), low: -2, high: 2)
            let gamma = randomFloats(c, seed: 3, low: 0.5, high: 1.5), beta = randomFloats(c, seed: 4)
            let dir = randomFloats(x.count, seed: 5)
            let out = bnTrain(x, gamma, beta, n, c, s)
            let got = bnTrainBackward(dir, x, gamma, out.mean, out.rstd, n, c, s)
            let ref = batchNormRef(n, c, s, eps: eps).backward(dir, x, gamma, paramCount: c)
            assertGradsClose(got, ref, rtol: 1e-4, atol: 1e-5, "reference \((n, c, s))")
            if x.count <= 400 {
                let numeric = numericGrads(x, gamma, beta, dir, eps: 5e-3) { bnTrain($0, $1, $2, n, c, s).y }
                assertGradsClose(got, numeric, rtol: 1e-2, atol: 2e-3, "finite differences \((n, c, s))")
            }
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

    func testEvalForwardBackward() {
        for (n, c, s) in [(2, 3, 5), (4, 5, 1), (1, 1, 1)] {
            let x = randomFloats(n * c * s, seed: 9, low: -2, high: 2)
            let gamma = randomFloats(c, seed: 10, low: 0.5, high: 1.5), beta = randomFloats(c, seed: 11)
            let rm = randomFloats(c, seed: 12), rv = randomFloats(c, seed: 13, low: 0.2, high: 2)
            let forward = { (x: [Float], g: [Float], b: [Float]) -> [Float] in
                var y = [Float](repeating: .nan, count: x.count)
                XCTAssertEqual(tl_batchnorm_eval_forward(&y, x, g, b, rm, rv, n, c, s, eps), 0)
                return y
            }
            let expected = x.indices.map { i -> Float in
                let ch = (i / s) % c
                return Float((Double(x[i]) - Double(rm[ch])) / (Double(rv[ch]) + Double(eps)).squareRoot() * Double(gamma[ch]) + Double(beta[ch]))
            }
            assertClose(forward(x, gamma, beta), expected, rtol: 1e-5, atol: 1e-6, "\((n, c, s))")
            let dir = randomFloats(x.count, seed: 14)
            let got = grads(x.count, c) { tl_batchnorm_eval_backward($0, $1, $2, dir, x, gamma, rm, rv, n, c, s, eps) }
            assertGradsClose(got, numericGrads(x, gamma, beta, dir, forward), rtol: 1e-2, atol: 1e-3, "\((n, c, s))")
        }
    }

    func testOneAndTwoThreadsBitwiseEqual() {
        for (n, c, s) in [(16, 16, 256), (4096, 16, 1), (8, 3, 1500)] {
            let x = randomFloats(n * c * s, seed: 15), dy = randomFloats(n * c * s, seed: 16)
            let gamma = randomFloats(c, seed: 17), beta = randomFloats(c, seed: 18)
            let run = { () -> [Float] in
                let out = bnTrain(x, gamma, beta, n, c, s, running: ([Float](repeating: 0, count: c), [Float](repeating: 1, count: c)))
                let g = bnTrainBackward(dy, x, gamma, out.mean, out.rstd, n, c, s)
                var e = [Float](repeating: 0, count: x.count)
                XCTAssertEqual(tl_batchnorm_eval_forward(&e, x, gamma, beta, out.running!.mean, out.running!.variance, n, c, s, eps), 0)
                let ge = grads(x.count, c) { tl_batchnorm_eval_backward($0, $1, $2, dy, x, gamma, out.running!.mean, out.running!.variance, n, c, s, eps) }
                return out.y + out.mean + out.rstd + out.running!.mean + out.running!.variance + g.dx + g.dgamma + g.dbeta
                    + e + ge.dx + ge.dgamma + ge.dbeta
            }
            assertBitwiseEqual(withThreads(1, run), withThreads(2, run), "\((n, c, s))")
        }
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
    /// (R, D): odd sizes, uneven row blocks (130 rows), D = 1, and 4100 rows (64-row blocks: the float accumulators flush).
    let shapes = [(3, 7), (5, 33), (130, 17), (2, 1), (1, 64), (4, 16), (4100, 3)]

    func testForwardMatchesReference() {
        for (r, d) in shapes {
            let x = randomFloats(r * d, seed: UInt64(r * 100 + d), low: -3, high: 2)
            let gamma = randomFloats(d, seed: 1, low: 0.5, high: 1.5), beta = randomFloats(d, seed: 2)
            let ref = layerNormRef(r, d, eps: eps)
            for (g, b) in [(gamma, beta), (nil, nil), (gamma, nil), (nil, beta)] as [([Float]?, [Float]?)] {
                let out = lnForward(x, g, b, r, d)
                let expected = ref.forward(x, g, b)
                assertClose(out.y, expected.y, rtol: 1e-5, atol: 1e-5, "\((r, d)) affine \(g != nil) \(b != nil)")
                assertClose(out.mean, expected.mean, rtol: 1e-6, atol: 1e-6)
                assertClose(out.rstd, expected.rstd, rtol: 1e-5, atol: 0)
            }
        }
        // Large offset: the shifted double sums keep the variance.
        let x = randomFloats(4 * 512, seed: 3, low: -0.1, high: 0.1).map { $0 + 3000 }
        assertClose(lnForward(x, nil, nil, 4, 512).rstd, layerNormRef(4, 512, eps: eps).forward(x, nil, nil).rstd, rtol: 1e-4, atol: 0)
    }

    func testBackwardMatchesReferenceAndFiniteDifferences() {
        for (r, d) in shapes {
            let x = randomFloats(r * d, seed: UInt64(r + d), low: -2, high: 2)
            let gamma = randomFloats(d, seed: 3, low: 0.5, high: 1.5), beta = randomFloats(d, seed: 4)
            let dir = randomFloats(x.count, seed: 5)
            let out = lnForward(x, gamma, beta, r, d)
            let got = grads(x.count, d) { tl_layernorm_backward($0, $1, $2, dir, x, gamma, out.mean, out.rstd, r, d) }
            // D = 1: the exact dx is 0 = rstd*g - rstd*g with rstd = 1/sqrt(eps) ~ 316, so float rounding leaves ~316 ulp.
            assertGradsClose(got, layerNormRef(r, d, eps: eps).backward(dir, x, gamma, paramCount: d), rtol: 1e-4,
                             atol: d == 1 ? 1e-4 : 1e-5, "\((r, d))")
            if x.count <= 300 {
                let numeric = numericGrads(x, gamma, beta, dir, eps: 5e-3) { lnForward($0, $1, $2, r, d).y }
                assertGradsClose(got, numeric, rtol: 1e-2, atol: 2e-3, "finite differences \((r, d))")
            }
            // Without gamma the gradient is that of gamma = 1.
            let plain = grads(x.count, d) { tl_layernorm_backward($0, $1, $2, dir, x, nil, out.mean, out.rstd, r, d) }
            assertClose(plain.dx, layerNormRef(r, d, eps: eps).backward(dir, x, nil, paramCount: d).dx, rtol: 1e-4, atol: 1e-5)
        }
    }

    func testNullOutputsInPlaceAndThreads() {
        let (r, d) = (512, 256)
        let x = randomFloats(r * d, seed: 6), dy = randomFloats(r * d, seed: 7)
        let gamma = randomFloats(d, seed: 8), beta = randomFloats(d, seed: 9)
        let run = { () -> [Float] in
            let out = lnForward(x, gamma, beta, r, d)
            let g = grads(x.count, d) { tl_layernorm_backward($0, $1, $2, dy, x, gamma, out.mean, out.rstd, r, d) }
            return out.y + out.mean + out.rstd + g.dx + g.dgamma + g.dbeta
        }
        let one = withThreads(1, run)
        assertBitwiseEqual(one, withThreads(2, run))

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
    /// (N, C, S, G): several groupings of one shape, instance norm (G = C), layer-norm-like (G = 1), S = 1.
    let shapes = [(2, 6, 5, 3), (2, 6, 5, 1), (2, 6, 5, 6), (2, 6, 5, 2), (3, 4, 1, 2), (1, 8, 9, 4), (1, 3, 17, 3)]

    func testForwardMatchesReference() {
        for (n, c, s, g) in shapes {
            let x = randomFloats(n * c * s, seed: UInt64(n * 1000 + c * 100 + s * 10 + g), low: -2, high: 3)
            let gamma = randomFloats(c, seed: 1, low: 0.5, high: 1.5), beta = randomFloats(c, seed: 2)
            let ref = groupNormRef(n, c, s, g, eps: eps)
            for (ga, be) in [(gamma, beta), (nil, nil)] as [([Float]?, [Float]?)] {
                let out = gnForward(x, ga, be, n, c, s, g)
                let expected = ref.forward(x, ga, be)
                assertClose(out.y, expected.y, rtol: 1e-5, atol: 2e-5, "\((n, c, s, g))")
                assertClose(out.mean, expected.mean, rtol: 1e-6, atol: 1e-6)
                assertClose(out.rstd, expected.rstd, rtol: 1e-5, atol: 0)
            }
        }
    }

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

    func testBackwardMatchesReferenceAndFiniteDifferences() {
        for (n, c, s, g) in shapes {
            let x = randomFloats(n * c * s, seed: UInt64(n + c + s + g), low: -2, high: 2)
            let gamma = randomFloats(c, seed: 3, low: 0.5, high: 1.5), beta = randomFloats(c, seed: 4)
            let dir = randomFloats(x.count, seed: 5)
            let out = gnForward(x, gamma, beta, n, c, s, g)
            let got = grads(x.count, c) { tl_groupnorm_backward($0, $1, $2, dir, x, gamma, out.mean, out.rstd, n, c, s, g) }
            assertGradsClose(got, groupNormRef(n, c, s, g, eps: eps).backward(dir, x, gamma, paramCount: c),
                             rtol: 1e-4, atol: 2e-5, "\((n, c, s, g))")
            let numeric = numericGrads(x, gamma, beta, dir, eps: 5e-3) { gnForward($0, $1, $2, n, c, s, g).y }
            assertGradsClose(got, numeric, rtol: 1e-2, atol: 2e-3, "finite differences \((n, c, s, g))")
        }
    }

    func testNullOutputsInPlaceAndThreads() {
        let (n, c, s, g) = (8, 16, 512, 4)
        let x = randomFloats(n * c * s, seed: 6), dy = randomFloats(n * c * s, seed: 7)
        let gamma = randomFloats(c, seed: 8), beta = randomFloats(c, seed: 9)
        let run = { () -> [Float] in
            let out = gnForward(x, gamma, beta, n, c, s, g)
            let gr = grads(x.count, c) { tl_groupnorm_backward($0, $1, $2, dy, x, gamma, out.mean, out.rstd, n, c, s, g) }
            return out.y + out.mean + out.rstd + gr.dx + gr.dgamma + gr.dbeta
        }
        assertBitwiseEqual(withThreads(1, run), withThreads(2, run))

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
