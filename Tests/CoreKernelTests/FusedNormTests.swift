import XCTest
import TrainingLab

/// Batch norm fused with ReLU, with a residual add before the ReLU, and with 2x2 max pooling after it
/// (include/tl_norm.h) beyond the kernel table's checks: against the unfused kernels they replace (bitwise
/// where the header promises it), NULL gradient outputs, in-place use and bad arguments.

private let eps: Float = 1e-5

// MARK: - Calling helpers

private struct Forward {
    var y: [Float], mean: [Float], rstd: [Float], runningMean: [Float], runningVar: [Float]
}

/// The fused training forward (with a residual when r is given), outputs prefilled with NaN.
private func fusedForward(_ x: [Float], _ r: [Float]?, _ gamma: [Float], _ beta: [Float], _ n: Int, _ c: Int, _ s: Int) -> Forward {
    var out = Forward(y: [Float](repeating: .nan, count: x.count), mean: [Float](repeating: .nan, count: c),
                      rstd: [Float](repeating: .nan, count: c), runningMean: [Float](repeating: 0.5, count: c),
                      runningVar: [Float](repeating: 2, count: c))
    let status = r.map {
        tl_batchnorm_add_relu_train_forward(&out.y, &out.mean, &out.rstd, &out.runningMean, &out.runningVar, x, $0, gamma, beta,
                                            n, c, s, 0.1, eps)
    } ?? tl_batchnorm_relu_train_forward(&out.y, &out.mean, &out.rstd, &out.runningMean, &out.runningVar, x, gamma, beta,
                                         n, c, s, 0.1, eps)
    XCTAssertEqual(status, 0, String(cString: tl_last_error()))
    return out
}

private typealias Grads = (dx: [Float], dr: [Float], dgamma: [Float], dbeta: [Float])

/// The fused training backward from a forward's saved statistics (and output y for the residual form).
private func fusedBackward(_ dy: [Float], _ x: [Float], _ r: [Float]?, _ gamma: [Float], _ beta: [Float], _ f: Forward,
                           _ n: Int, _ c: Int, _ s: Int) -> Grads {
    var dx = [Float](repeating: .nan, count: x.count), dr = dx
    var dgamma = [Float](repeating: .nan, count: c), dbeta = dgamma
    let status = r == nil
        ? tl_batchnorm_relu_train_backward(&dx, &dgamma, &dbeta, dy, x, gamma, beta, f.mean, f.rstd, n, c, s)
        : tl_batchnorm_add_relu_train_backward(&dx, &dr, &dgamma, &dbeta, dy, f.y, x, gamma, f.mean, f.rstd, n, c, s)
    XCTAssertEqual(status, 0, String(cString: tl_last_error()))
    return (dx, dr, dgamma, dbeta)
}

/// Inputs for a shape: x with channel offsets, gamma of both signs, beta, a residual and a direction.
private func inputs(_ n: Int, _ c: Int, _ s: Int, seed: UInt64) -> (x: [Float], r: [Float], gamma: [Float], beta: [Float], dy: [Float]) {
    let x = randomFloats(n * c * s, seed: seed, low: -2, high: 3)
    var gamma = randomFloats(c, seed: seed + 1, low: 0.5, high: 1.5)
    if c > 1 { gamma[1] = -gamma[1] }  // a negative scale flips which side of the mean survives the ReLU
    return (x, randomFloats(n * c * s, seed: seed + 2), gamma, randomFloats(c, seed: seed + 3, low: -0.5, high: 0.5),
            randomFloats(n * c * s, seed: seed + 4))
}

final class FusedBatchNormTests: XCTestCase {
    /// (N, C, S): the (N,C) row path (S = 1), batch 1, tails of the 16-lane sums (S = 19, 37), a plane of 64.
    let shapes = [(4, 3, 5), (2, 5, 1), (1, 2, 7), (3, 4, 16), (130, 3, 1), (2, 2, 2), (5, 2, 19), (2, 3, 37), (2, 2, 64)]

    /// Same statistics and running averages as tl_batchnorm_train_forward bit for bit; y within an ulp-level
    /// tolerance of tl_relu_forward(tl_batchnorm_train_forward) (plus the residual add in between).
    func testForwardAgainstUnfusedKernels() {
        for (n, c, s) in shapes {
            let v = inputs(n, c, s, seed: UInt64(7 + n + c + s))
            for r in [nil, v.r] {
                let fused = fusedForward(v.x, r, v.gamma, v.beta, n, c, s)
                var y = [Float](repeating: .nan, count: v.x.count), mean = [Float](repeating: .nan, count: c), rstd = mean
                var rm = [Float](repeating: 0.5, count: c), rv = [Float](repeating: 2, count: c)
                XCTAssertEqual(tl_batchnorm_train_forward(&y, &mean, &rstd, &rm, &rv, v.x, v.gamma, v.beta, n, c, s, 0.1, eps), 0)
                if let r { let h = y; XCTAssertEqual(tl_add(&y, h, r, y.count), 0) }
                let pre = y
                XCTAssertEqual(tl_relu_forward(&y, pre, y.count), 0)
                assertBitwiseEqual(fused.mean, mean, "mean \((n, c, s))")
                assertBitwiseEqual(fused.rstd, rstd, "rstd \((n, c, s))")
                assertBitwiseEqual(fused.runningMean, rm, "running mean \((n, c, s))")
                assertBitwiseEqual(fused.runningVar, rv, "running var \((n, c, s))")
                assertClose(fused.y, y, rtol: 1e-6, atol: 1e-6, "y \((n, c, s)) residual \(r != nil)")
            }
        }
    }

    /// The fused backward equals tl_relu_backward followed by tl_batchnorm_train_backward bit for bit (the
    /// masked sums keep the lane order of the unfused sums).
    func testBackwardEqualsUnfusedKernels() {
        for (n, c, s) in shapes {
            let v = inputs(n, c, s, seed: UInt64(77 + n + c * 5 + s))
            for r in [nil, v.r] {
                let f = fusedForward(v.x, r, v.gamma, v.beta, n, c, s)
                let got = fusedBackward(v.dy, v.x, r, v.gamma, v.beta, f, n, c, s)
                var g = [Float](repeating: .nan, count: v.x.count)
                XCTAssertEqual(tl_relu_backward(&g, v.dy, f.y, g.count), 0)
                var dx = [Float](repeating: .nan, count: v.x.count), dgamma = [Float](repeating: .nan, count: c), dbeta = dgamma
                XCTAssertEqual(tl_batchnorm_train_backward(&dx, &dgamma, &dbeta, g, v.x, v.gamma, f.mean, f.rstd, n, c, s), 0)
                let tag = "\((n, c, s)) residual \(r != nil)"
                assertBitwiseEqual(got.dx, dx, "dx \(tag)")
                assertBitwiseEqual(got.dgamma, dgamma, "dgamma \(tag)")
                assertBitwiseEqual(got.dbeta, dbeta, "dbeta \(tag)")
                if r != nil { assertBitwiseEqual(got.dr, g, "dr \(tag)") }
            }
        }
    }

    func testNullGradientOutputsAndInPlace() {
        let (n, c, s) = (3, 4, 21)
        let v = inputs(n, c, s, seed: 900)
        for r in [nil, v.r] {
            let f = fusedForward(v.x, r, v.gamma, v.beta, n, c, s)
            let full = fusedBackward(v.dy, v.x, r, v.gamma, v.beta, f, n, c, s)
            // dx alone, parameters alone.
            var dx = [Float](repeating: .nan, count: v.x.count), dgamma = [Float](repeating: .nan, count: c)
            if r == nil {
                XCTAssertEqual(tl_batchnorm_relu_train_backward(&dx, nil, nil, v.dy, v.x, v.gamma, v.beta, f.mean, f.rstd, n, c, s), 0)
                XCTAssertEqual(tl_batchnorm_relu_train_backward(nil, &dgamma, nil, v.dy, v.x, v.gamma, v.beta, f.mean, f.rstd, n, c, s), 0)
                // dx == dy.
                var inPlace = v.dy
                XCTAssertEqual(inPlace.withUnsafeMutableBufferPointer {
                    tl_batchnorm_relu_train_backward($0.baseAddress, nil, nil, $0.baseAddress, v.x, v.gamma, v.beta, f.mean, f.rstd, n, c, s)
                }, 0)
                assertBitwiseEqual(inPlace, full.dx, "dx == dy")
            } else {
                XCTAssertEqual(tl_batchnorm_add_relu_train_backward(&dx, nil, nil, nil, v.dy, f.y, v.x, v.gamma, f.mean, f.rstd, n, c, s), 0)
                XCTAssertEqual(tl_batchnorm_add_relu_train_backward(nil, nil, &dgamma, nil, v.dy, f.y, v.x, v.gamma, f.mean, f.rstd, n, c, s), 0)
                // dr alone, and dr == dy.
                var dr = v.dy
                XCTAssertEqual(dr.withUnsafeMutableBufferPointer {
                    tl_batchnorm_add_relu_train_backward(nil, $0.baseAddress, nil, nil, $0.baseAddress, f.y, v.x, v.gamma, f.mean, f.rstd, n, c, s)
                }, 0)
                assertBitwiseEqual(dr, full.dr, "dr == dy")
                // y == r in the forward.
                var y = v.r, mean = [Float](repeating: 0, count: c), rstd = mean
                XCTAssertEqual(y.withUnsafeMutableBufferPointer {
                    tl_batchnorm_add_relu_train_forward($0.baseAddress, &mean, &rstd, nil, nil, v.x, $0.baseAddress, v.gamma, v.beta, n, c, s, 0.1, eps)
                }, 0)
                assertBitwiseEqual(y, f.y, "y == r")
            }
            assertBitwiseEqual(dx, full.dx, "dx alone, residual \(r != nil)")
            assertBitwiseEqual(dgamma, full.dgamma, "dgamma alone, residual \(r != nil)")
        }
    }

    /// The inference forms are the inference batch norm followed by the ReLU (and the add), bit for bit.
    func testInferenceFormsEqualUnfusedKernels() {
        for (n, c, s) in shapes {
            let v = inputs(n, c, s, seed: UInt64(300 + n + c + s))
            let rm = randomFloats(c, seed: 41), rv = randomFloats(c, seed: 42, low: 0.2, high: 2)
            var want = [Float](repeating: .nan, count: v.x.count)
            XCTAssertEqual(tl_batchnorm_eval_forward(&want, v.x, v.gamma, v.beta, rm, rv, n, c, s, eps), 0)
            let bn = want
            var sum = want, wantAdd = want
            XCTAssertEqual(tl_add(&sum, bn, v.r, sum.count), 0)
            XCTAssertEqual(tl_relu_forward(&want, bn, want.count), 0)
            XCTAssertEqual(tl_relu_forward(&wantAdd, sum, wantAdd.count), 0)
            var y = [Float](repeating: .nan, count: v.x.count), yAdd = y
            XCTAssertEqual(tl_batchnorm_relu_eval_forward(&y, v.x, v.gamma, v.beta, rm, rv, n, c, s, eps), 0)
            XCTAssertEqual(tl_batchnorm_add_relu_eval_forward(&yAdd, v.x, v.r, v.gamma, v.beta, rm, rv, n, c, s, eps), 0)
            assertBitwiseEqual(y, want, "\((n, c, s))")
            assertBitwiseEqual(yAdd, wantAdd, "residual \((n, c, s))")
        }
    }

    func testBadArguments() {
        let (n, c, s) = (2, 3, 4)
        let v = inputs(n, c, s, seed: 5)
        var y = [Float](repeating: 0, count: n * c * s), m = [Float](repeating: 0, count: c), r = m
        let f = fusedForward(v.x, nil, v.gamma, v.beta, n, c, s)
        var dx = y
        let fwd = "tl_batchnorm_relu_train_forward", add = "tl_batchnorm_add_relu_train_forward"
        assertFails(tl_batchnorm_relu_train_forward(nil, &m, &r, nil, nil, v.x, nil, nil, n, c, s, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: fwd)
        assertFails(tl_batchnorm_relu_train_forward(&y, nil, &r, nil, nil, v.x, nil, nil, n, c, s, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: "save_mean")
        assertFails(tl_batchnorm_relu_train_forward(&y, &m, &r, nil, nil, nil, nil, nil, n, c, s, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: fwd)
        assertFails(tl_batchnorm_relu_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, 0, c, s, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_batchnorm_relu_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, n, -1, s, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_batchnorm_relu_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, 1, c, 1, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "N*S >= 2")
        assertFails(tl_batchnorm_relu_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, n, c, s, 1.5, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "momentum")
        assertFails(tl_batchnorm_relu_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, n, c, s, 0.1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
        assertFails(tl_batchnorm_add_relu_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, nil, n, c, s, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: add)
        assertFails(tl_batchnorm_add_relu_train_forward(&y, &m, &r, nil, nil, v.x, v.r, nil, nil, n, c, 0, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "S")

        let bwd = "tl_batchnorm_relu_train_backward", addBwd = "tl_batchnorm_add_relu_train_backward"
        assertFails(tl_batchnorm_relu_train_backward(&dx, nil, nil, nil, v.x, nil, nil, f.mean, f.rstd, n, c, s), TL_ERR_NULL_POINTER, mentioning: bwd)
        assertFails(tl_batchnorm_relu_train_backward(&dx, nil, nil, v.dy, v.x, nil, nil, nil, f.rstd, n, c, s), TL_ERR_NULL_POINTER, mentioning: "save_mean")
        assertFails(tl_batchnorm_relu_train_backward(&dx, nil, nil, v.dy, v.x, nil, nil, f.mean, f.rstd, n, 0, s), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_batchnorm_add_relu_train_backward(&dx, nil, nil, nil, v.dy, nil, v.x, nil, f.mean, f.rstd, n, c, s), TL_ERR_NULL_POINTER, mentioning: addBwd)
        assertFails(tl_batchnorm_add_relu_train_backward(&dx, nil, nil, nil, v.dy, f.y, nil, nil, f.mean, f.rstd, n, c, s), TL_ERR_NULL_POINTER, mentioning: "x")

        let rm = [Float](repeating: 0, count: c), negative: [Float] = [1, -1, 1]
        assertFails(tl_batchnorm_relu_eval_forward(&y, v.x, nil, nil, rm, negative, n, c, s, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "running_var")
        assertFails(tl_batchnorm_relu_eval_forward(&y, v.x, nil, nil, nil, rm, n, c, s, eps), TL_ERR_NULL_POINTER, mentioning: "running_mean")
        assertFails(tl_batchnorm_add_relu_eval_forward(&y, v.x, nil, nil, nil, rm, rm, n, c, s, eps), TL_ERR_NULL_POINTER, mentioning: "tl_batchnorm_add_relu_eval_forward")
        assertFails(tl_batchnorm_add_relu_eval_forward(&y, v.x, v.r, nil, nil, rm, rm, n, c, s, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
    }
}

// MARK: - Batch norm + ReLU + 2x2 max pooling

private func poolForward(_ x: [Float], _ gamma: [Float], _ beta: [Float], _ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Forward {
    var out = Forward(y: [Float](repeating: .nan, count: n * c * (h / 2) * (w / 2)), mean: [Float](repeating: .nan, count: c),
                      rstd: [Float](repeating: .nan, count: c), runningMean: [Float](repeating: 0.5, count: c),
                      runningVar: [Float](repeating: 2, count: c))
    XCTAssertEqual(tl_batchnorm_relu_maxpool2_train_forward(&out.y, &out.mean, &out.rstd, &out.runningMean, &out.runningVar,
                                                            x, gamma, beta, n, c, h, w, 0.1, eps), 0, String(cString: tl_last_error()))
    return out
}

private func poolBackward(_ dy: [Float], _ x: [Float], _ gamma: [Float], _ beta: [Float], _ f: Forward,
                          _ n: Int, _ c: Int, _ h: Int, _ w: Int) -> (dx: [Float], dgamma: [Float], dbeta: [Float]) {
    var dx = [Float](repeating: .nan, count: x.count), dgamma = [Float](repeating: .nan, count: c), dbeta = dgamma
    XCTAssertEqual(tl_batchnorm_relu_maxpool2_train_backward(&dx, &dgamma, &dbeta, dy, f.y, x, gamma, beta, f.mean, f.rstd,
                                                             n, c, h, w), 0, String(cString: tl_last_error()))
    return (dx, dgamma, dbeta)
}

final class FusedBatchNormPoolTests: XCTestCase {
    /// (N, C, H, W): output rows of 1, 7 (one short vector), 8, 14 (8 + 6), 17 (8 + 8 + 1); odd heights and widths
    /// (an unpooled last row / column); 2x2 inputs.
    let shapes = [(2, 3, 4, 4), (1, 2, 5, 7), (2, 2, 14, 14), (1, 2, 6, 16), (2, 1, 3, 28), (1, 2, 2, 35), (3, 2, 2, 2), (1, 1, 9, 17)]

    private func pooledInputs(_ n: Int, _ c: Int, _ h: Int, _ w: Int, seed: UInt64) -> (x: [Float], gamma: [Float], beta: [Float], dy: [Float]) {
        let v = inputs(n, c, h * w, seed: seed)
        return (v.x, v.gamma, v.beta, randomFloats(n * c * (h / 2) * (w / 2), seed: seed + 9))
    }

    /// Against tl_batchnorm_train_forward, tl_relu_forward, tl_maxpool2d_forward and their backwards; ties (integer
    /// inputs) go to the first element of the window in both.
    func testAgainstUnfusedKernels() {
        for (n, c, h, w) in shapes {
            var v = pooledInputs(n, c, h, w, seed: UInt64(77 + h + w))
            for tied in [false, true] {
                if tied { v.x = v.x.map { ($0 * 2).rounded() } }
                let f = poolForward(v.x, v.gamma, v.beta, n, c, h, w)
                let got = poolBackward(v.dy, v.x, v.gamma, v.beta, f, n, c, h, w)
                let s = h * w, (oh, ow) = (h / 2, w / 2)
                var bn = [Float](repeating: .nan, count: v.x.count), mean = [Float](repeating: .nan, count: c), rstd = mean
                XCTAssertEqual(tl_batchnorm_train_forward(&bn, &mean, &rstd, nil, nil, v.x, v.gamma, v.beta, n, c, s, 0.1, eps), 0)
                var r = bn
                XCTAssertEqual(tl_relu_forward(&r, bn, r.count), 0)
                var y = [Float](repeating: .nan, count: f.y.count), idx = [Int32](repeating: -1, count: f.y.count)
                XCTAssertEqual(tl_maxpool2d_forward(&y, &idx, r, n, c, h, w, 2, 2, 2, 2, 0, 0), 0)
                var dr = r, dbn = r
                XCTAssertEqual(tl_maxpool2d_backward(&dr, v.dy, idx, n, c, h, w, 2, 2, 2, 2, 0, 0), 0)
                XCTAssertEqual(tl_relu_backward(&dbn, dr, r, r.count), 0)
                var dx = v.x, dgamma = mean, dbeta = mean
                XCTAssertEqual(tl_batchnorm_train_backward(&dx, &dgamma, &dbeta, dbn, v.x, v.gamma, mean, rstd, n, c, s), 0)
                let tag = "\((n, c, h, w)) tied \(tied)"
                assertBitwiseEqual(f.mean + f.rstd, mean + rstd, "statistics \(tag)")
                assertClose(f.y, y, rtol: 1e-6, atol: 1e-6, "y \(tag)")
                assertClose(got.dx, dx, rtol: 1e-4, atol: 1e-5, "dx \(tag)")
                assertClose(got.dgamma, dgamma, rtol: 1e-4, atol: 1e-5, "dgamma \(tag)")
                assertClose(got.dbeta, dbeta, rtol: 1e-5, atol: 1e-5, "dbeta \(tag)")
                _ = (oh, ow)
            }
        }
    }

    func testInferenceFormAndNullOutputs() {
        for (n, c, h, w) in shapes {
            let v = pooledInputs(n, c, h, w, seed: UInt64(h * w))
            let rm = randomFloats(c, seed: 41), rv = randomFloats(c, seed: 42, low: 0.2, high: 2)
            var bn = [Float](repeating: .nan, count: v.x.count)
            XCTAssertEqual(tl_batchnorm_eval_forward(&bn, v.x, v.gamma, v.beta, rm, rv, n, c, h * w, eps), 0)
            var r = bn
            XCTAssertEqual(tl_relu_forward(&r, bn, r.count), 0)
            var want = [Float](repeating: .nan, count: v.dy.count), y = want
            XCTAssertEqual(tl_maxpool2d_forward(&want, nil, r, n, c, h, w, 2, 2, 2, 2, 0, 0), 0)
            XCTAssertEqual(tl_batchnorm_relu_maxpool2_eval_forward(&y, v.x, v.gamma, v.beta, rm, rv, n, c, h, w, eps), 0)
            XCTAssertEqual(y, want, "\((n, c, h, w))")  // equal as numbers (a zero may differ in sign)

            let f = poolForward(v.x, v.gamma, v.beta, n, c, h, w)
            let full = poolBackward(v.dy, v.x, v.gamma, v.beta, f, n, c, h, w)
            var dx = v.x, dgamma = v.gamma
            XCTAssertEqual(tl_batchnorm_relu_maxpool2_train_backward(&dx, nil, nil, v.dy, f.y, v.x, v.gamma, v.beta, f.mean, f.rstd, n, c, h, w), 0)
            XCTAssertEqual(tl_batchnorm_relu_maxpool2_train_backward(nil, &dgamma, nil, v.dy, f.y, v.x, v.gamma, v.beta, f.mean, f.rstd, n, c, h, w), 0)
            assertBitwiseEqual(dx, full.dx, "dx alone \((n, c, h, w))")
            assertBitwiseEqual(dgamma, full.dgamma, "dgamma alone \((n, c, h, w))")
        }
    }

    func testBadArguments() {
        let (n, c, h, w) = (2, 3, 4, 4)
        let v = pooledInputs(n, c, h, w, seed: 8)
        var y = v.dy, m = [Float](repeating: 0, count: c), r = m, dx = v.x
        let f = poolForward(v.x, v.gamma, v.beta, n, c, h, w)
        let fwd = "tl_batchnorm_relu_maxpool2_train_forward", bwd = "tl_batchnorm_relu_maxpool2_train_backward"
        assertFails(tl_batchnorm_relu_maxpool2_train_forward(nil, &m, &r, nil, nil, v.x, nil, nil, n, c, h, w, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: fwd)
        assertFails(tl_batchnorm_relu_maxpool2_train_forward(&y, &m, &r, nil, nil, nil, nil, nil, n, c, h, w, 0.1, eps), TL_ERR_NULL_POINTER, mentioning: "x")
        assertFails(tl_batchnorm_relu_maxpool2_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, n, c, 1, w, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "H, W >= 2")
        assertFails(tl_batchnorm_relu_maxpool2_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, n, c, h, 0, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "W")
        assertFails(tl_batchnorm_relu_maxpool2_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, 0, c, h, w, 0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_batchnorm_relu_maxpool2_train_forward(&y, &m, &r, nil, nil, v.x, nil, nil, n, c, h, w, -0.1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "momentum")
        assertFails(tl_batchnorm_relu_maxpool2_train_backward(&dx, nil, nil, nil, f.y, v.x, nil, nil, f.mean, f.rstd, n, c, h, w), TL_ERR_NULL_POINTER, mentioning: bwd)
        assertFails(tl_batchnorm_relu_maxpool2_train_backward(&dx, nil, nil, v.dy, nil, v.x, nil, nil, f.mean, f.rstd, n, c, h, w), TL_ERR_NULL_POINTER, mentioning: "y")
        assertFails(tl_batchnorm_relu_maxpool2_train_backward(&dx, nil, nil, v.dy, f.y, v.x, nil, nil, f.mean, f.rstd, n, -2, h, w), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_batchnorm_relu_maxpool2_train_backward(&dx, nil, nil, v.dy, f.y, v.x, nil, nil, f.mean, f.rstd, n, c, h, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "H, W >= 2")
        assertFails(tl_batchnorm_relu_maxpool2_eval_forward(&y, v.x, nil, nil, m, [1, -1, 1], n, c, h, w, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "running_var")
        assertFails(tl_batchnorm_relu_maxpool2_eval_forward(&y, v.x, nil, nil, m, m, n, c, 1, 1, eps), TL_ERR_INVALID_ARGUMENT, mentioning: "tl_batchnorm_relu_maxpool2_eval_forward")
    }
}
