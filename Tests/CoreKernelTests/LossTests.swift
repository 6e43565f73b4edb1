import XCTest
import KernelTable
import TrainingLab

/// Losses (include/tl_loss.h) beyond the kernel table's checks: known values, identities between the losses,
/// stability with huge logits, NULL gradient outputs, reductions, and bad arguments.

/// log softmax(z / T) of one row, from the table's reference.
private func refLogSoftmax(_ z: ArraySlice<Float>, temperature: Double) -> [Double] {
    Reference.logSoftmaxRow(z.map(Double.init), 0, z.count, temperature: temperature)
}

private func row(_ a: [Float], _ n: Int, _ c: Int) -> ArraySlice<Float> { a[(n * c)..<((n + 1) * c)] }

/// Random labels in [0, C) from the core generator.
private func randomLabels(_ n: Int, classes: Int, seed: UInt64) -> [Int32] {
    let label = Reference.labels(n, classes: classes, seed: seed)
    return (0..<n).map { Int32(label($0)) }
}

private func zeros(_ n: Int) -> [Float] { [Float](repeating: 0, count: n) }

// MARK: - Kernel wrappers

private func ce(_ logits: [Float], _ labels: [Int32], _ N: Int, _ C: Int, _ eps: Float = 0, _ T: Float = 1) -> [Float] {
    var loss = zeros(N)
    XCTAssertEqual(tl_loss_ce_forward(&loss, logits, labels, N, C, eps, T), 0, String(cString: tl_last_error()))
    return loss
}

private func ceGrad(_ dloss: [Float], _ logits: [Float], _ labels: [Int32], _ N: Int, _ C: Int, _ eps: Float = 0, _ T: Float = 1) -> [Float] {
    var g = zeros(N * C)
    XCTAssertEqual(tl_loss_ce_backward(&g, dloss, logits, labels, N, C, eps, T), 0, String(cString: tl_last_error()))
    return g
}

private func softCE(_ logits: [Float], _ q: [Float], _ N: Int, _ C: Int, _ T: Float = 1) -> [Float] {
    var loss = zeros(N)
    XCTAssertEqual(tl_loss_soft_ce_forward(&loss, logits, q, N, C, T), 0, String(cString: tl_last_error()))
    return loss
}

private func softCEGrads(_ dloss: [Float], _ logits: [Float], _ q: [Float], _ N: Int, _ C: Int, _ T: Float = 1) -> ([Float], [Float]) {
    var gz = zeros(N * C), gq = zeros(N * C)
    XCTAssertEqual(tl_loss_soft_ce_backward(&gz, &gq, dloss, logits, q, N, C, T), 0, String(cString: tl_last_error()))
    return (gz, gq)
}

private func kl(_ a: [Float], _ b: [Float], _ N: Int, _ C: Int, _ T: Float = 1) -> [Float] {
    var loss = zeros(N)
    XCTAssertEqual(tl_loss_kl_forward(&loss, a, b, N, C, T), 0, String(cString: tl_last_error()))
    return loss
}

private func klGrads(_ dloss: [Float], _ a: [Float], _ b: [Float], _ N: Int, _ C: Int, _ T: Float = 1) -> ([Float], [Float]) {
    var ga = zeros(N * C), gb = zeros(N * C)
    XCTAssertEqual(tl_loss_kl_backward(&ga, &gb, dloss, a, b, N, C, T), 0, String(cString: tl_last_error()))
    return (ga, gb)
}

private func mse(_ x: [Float], _ t: [Float], _ N: Int, _ D: Int) -> [Float] {
    var loss = zeros(N)
    XCTAssertEqual(tl_loss_mse_forward(&loss, x, t, N, D), 0, String(cString: tl_last_error()))
    return loss
}

// MARK: - Cross-entropy with hard labels

final class CrossEntropyTests: XCTestCase {
    func testKnownValue() {
        // Uniform logits: every class has probability 1/C, so the loss is log C for any label.
        let C = 10
        let loss = ce([Float](repeating: 3.5, count: 2 * C), [0, 9], 2, C)
        assertClose(loss, [Float(log(10.0)), Float(log(10.0))], rtol: 1e-6)
        // Two classes with logits 1 and 0: p = e / (e + 1).
        assertClose(ce([1, 0], [0], 1, 2), [Float(log(1 + exp(-1.0)))], rtol: 1e-6)
    }

    func testLabelSmoothing() {
        // PyTorch's definition: (1 - eps) * nll + eps * mean_c(-log p_c).
        let logits: [Float] = [2, -1, 0.5, 0.25], labels: [Int32] = [2]
        let ls = refLogSoftmax(logits[...], temperature: 1)
        let expected = 0.9 * -ls[2] + 0.1 * ls.reduce(0.0) { $0 - $1 } / 4
        assertClose(ce(logits, labels, 1, 4, 0.1), [Float(expected)], rtol: 1e-6)
    }

    func testTemperature() {
        let (N, C) = (9, 21)
        let logits = randomFloats(N * C, seed: 50, low: -6, high: 6)
        let labels = randomLabels(N, classes: C, seed: 51)
        for T: Float in [0.25, 1, 4] {
            // CE(z, T) = CE(z/T, 1) and d/dz CE(z, T) = (1/T) d/du CE(u, 1) at u = z/T.
            let scaled = logits.map { $0 / T }
            assertClose(ce(logits, labels, N, C, 0, T), ce(scaled, labels, N, C), rtol: 1e-5, atol: 1e-6)
            let dloss = randomFloats(N, seed: 52)
            assertClose(ceGrad(dloss, logits, labels, N, C, 0, T), ceGrad(dloss, scaled, labels, N, C).map { $0 / T },
                        rtol: 1e-4, atol: 1e-6, "T=\(T)")
        }
    }

    func testNumericallyStableForHugeLogits() {
        let logits: [Float] = [1000, 0, -1000, 80, 88, 89, -3e4, 3e4, 0]
        let loss = ce(logits, [0, 2, 1], 3, 3)
        XCTAssertTrue(loss.allSatisfy { $0.isFinite }, "\(loss)")
        let expectedLoss = (0..<3).map { n in Float(-refLogSoftmax(row(logits, n, 3), temperature: 1)[[0, 2, 1][n]]) }
        assertClose(loss, expectedLoss, rtol: 1e-6, atol: 1e-6)
        XCTAssertEqual(loss[0], 0)
        let g = ceGrad([1, 1, 1], logits, [0, 2, 1], 3, 3)
        XCTAssertTrue(g.allSatisfy { $0.isFinite }, "\(g)")
        let expected = (0..<3).flatMap { n -> [Float] in
            let p = refLogSoftmax(row(logits, n, 3), temperature: 1).map { exp($0) }
            return (0..<3).map { c in Float(p[c] - (c == [0, 2, 1][n] ? 1 : 0)) }
        }
        assertClose(g, expected, rtol: 1e-5, atol: 1e-7)
        // A class masked with -inf has probability 0.
        assertClose(ce([-.infinity, 0, 0], [1], 1, 3), [Float(log(2.0))], rtol: 1e-6)
    }

    func testBadArguments() {
        var loss = zeros(3), g = zeros(12)
        let logits = zeros(12), dloss: [Float] = [1, 1, 1]
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 4, 1], 3, 4, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "labels[1] = 4")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 1, -1], 3, 4, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "labels[2] = -1")
        assertFails(tl_loss_ce_backward(&g, dloss, logits, [9, 0, 0], 3, 4, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "labels[0]")
        assertFails(tl_loss_ce_forward(nil, logits, [0, 0, 0], 3, 4, 0, 1), TL_ERR_NULL_POINTER, mentioning: "loss")
        assertFails(tl_loss_ce_forward(&loss, nil, [0, 0, 0], 3, 4, 0, 1), TL_ERR_NULL_POINTER, mentioning: "logits")
        assertFails(tl_loss_ce_forward(&loss, logits, nil, 3, 4, 0, 1), TL_ERR_NULL_POINTER, mentioning: "labels")
        assertFails(tl_loss_ce_backward(nil, dloss, logits, [0, 0, 0], 3, 4, 0, 1), TL_ERR_NULL_POINTER, mentioning: "dlogits")
        assertFails(tl_loss_ce_backward(&g, nil, logits, [0, 0, 0], 3, 4, 0, 1), TL_ERR_NULL_POINTER, mentioning: "dloss")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], -1, 4, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], 3, 0, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], 3, 4, 1.5, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "smoothing")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], 3, 4, -0.1, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "smoothing")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], 3, 4, .nan, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "smoothing")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], 3, 4, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "temperature")
        assertFails(tl_loss_ce_backward(&g, dloss, logits, [0, 0, 0], 3, 4, 0, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "temperature")
        assertFails(tl_loss_ce_forward(&loss, logits, [0, 0, 0], 3, 4, 0, .infinity), TL_ERR_INVALID_ARGUMENT, mentioning: "temperature")
        // An empty batch is a no-op.
        var untouched: [Float] = [7]
        XCTAssertEqual(tl_loss_ce_forward(&untouched, logits, [0], 0, 4, 0, 1), 0)
        XCTAssertEqual(untouched, [7])
    }
}

// MARK: - Cross-entropy with soft targets

final class SoftCrossEntropyTests: XCTestCase {
    func testOneHotTargetsEqualHardCrossEntropy() {
        let (N, C) = (16, 10)
        let logits = randomFloats(N * C, seed: 220, low: -5, high: 5)
        let labels = randomLabels(N, classes: C, seed: 221)
        var q = zeros(N * C)
        for n in 0..<N { q[n * C + Int(labels[n])] = 1 }
        let dloss = randomFloats(N, seed: 222)
        for T: Float in [1, 2] {
            assertClose(softCE(logits, q, N, C, T), ce(logits, labels, N, C, 0, T), rtol: 1e-6, atol: 1e-6)
            assertClose(softCEGrads(dloss, logits, q, N, C, T).0, ceGrad(dloss, logits, labels, N, C, 0, T), rtol: 1e-5, atol: 1e-7)
        }
        // Label smoothing is soft-target CE with the smoothed target.
        let smoothed = q.map { 0.8 * $0 + 0.2 / Float(C) }
        assertClose(softCE(logits, smoothed, N, C), ce(logits, labels, N, C, 0.2), rtol: 1e-5, atol: 1e-6)
    }

    func testNullOutputsAreSkipped() {
        let (N, C) = (100, 700)
        let logits = randomFloats(N * C, seed: 260, low: -6, high: 6)
        let q = Reference.probabilities(N, C, seed: 261)
        let dloss = randomFloats(N, seed: 262)
        let both = softCEGrads(dloss, logits, q, N, C, 1.5)
        var onlyZ = zeros(N * C), onlyQ = zeros(N * C)
        XCTAssertEqual(tl_loss_soft_ce_backward(&onlyZ, nil, dloss, logits, q, N, C, 1.5), 0)
        XCTAssertEqual(tl_loss_soft_ce_backward(nil, &onlyQ, dloss, logits, q, N, C, 1.5), 0)
        XCTAssertEqual(tl_loss_soft_ce_backward(nil, nil, dloss, logits, q, N, C, 1.5), 0)
        assertBitwiseEqual(onlyZ, both.0)
        assertBitwiseEqual(onlyQ, both.1)
    }

    func testBadArguments() {
        var loss = zeros(2), g = zeros(6)
        let z = zeros(6), q = zeros(6)
        assertFails(tl_loss_soft_ce_forward(&loss, z, nil, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "targets")
        assertFails(tl_loss_soft_ce_forward(&loss, z, q, 2, -3, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_loss_soft_ce_forward(&loss, z, q, 2, 3, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "tl_loss_soft_ce_forward: temperature")
        assertFails(tl_loss_soft_ce_backward(&g, nil, nil, z, q, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "dloss")
        assertFails(tl_loss_soft_ce_backward(&g, nil, [1, 1], z, q, -2, 3, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
    }
}

// MARK: - KL divergence

final class KLDivergenceTests: XCTestCase {
    func testIdenticalInputsGiveExactlyZero() {
        let (N, C) = (5, 37)
        let a = randomFloats(N * C, seed: 320, low: -10, high: 10)
        for T: Float in [1, 3] {
            XCTAssertEqual(kl(a, a, N, C, T), zeros(N))
            let (ga, gb) = klGrads(randomFloats(N, seed: 321), a, a, N, C, T)
            XCTAssertEqual(ga, zeros(N * C))
            XCTAssertEqual(gb, zeros(N * C))
        }
        // A logit shift does not change the distribution.
        assertClose(kl(a, a.map { $0 + 5 }, N, C), zeros(N), atol: 2e-6)
        XCTAssertTrue(kl(a, randomFloats(N * C, seed: 322), N, C).allSatisfy { $0 > 0 })
    }

    func testNullOutputsAreSkipped() {
        let (N, C) = (64, 600)
        let a = randomFloats(N * C, seed: 360, low: -5, high: 5)
        let b = randomFloats(N * C, seed: 361, low: -5, high: 5)
        let dloss = randomFloats(N, seed: 362)
        let both = klGrads(dloss, a, b, N, C, 2)
        var onlyA = zeros(N * C), onlyB = zeros(N * C)
        XCTAssertEqual(tl_loss_kl_backward(&onlyA, nil, dloss, a, b, N, C, 2), 0)
        XCTAssertEqual(tl_loss_kl_backward(nil, &onlyB, dloss, a, b, N, C, 2), 0)
        assertBitwiseEqual(onlyA, both.0)
        assertBitwiseEqual(onlyB, both.1)
    }

    func testProbabilityFormEqualsTheLogitForm() {
        // Same value as the logit form when p = softmax(a) and logr = log softmax(b).
        let (N, C) = (6, 9)
        let a = randomFloats(N * C, seed: 372), b = randomFloats(N * C, seed: 373)
        let pa = (0..<N).flatMap { refLogSoftmax(row(a, $0, C), temperature: 1).map { Float(exp($0)) } }
        let lb = (0..<N).flatMap { refLogSoftmax(row(b, $0, C), temperature: 1).map { Float($0) } }
        var loss = zeros(N)
        XCTAssertEqual(tl_loss_kl_prob_forward(&loss, pa, lb, N, C), 0)
        assertClose(loss, kl(a, b, N, C), rtol: 1e-4, atol: 1e-6)
        var g = zeros(N * C)
        let dloss = randomFloats(N, seed: 374)
        assertFails(tl_loss_kl_prob_forward(&loss, nil, lb, N, C), TL_ERR_NULL_POINTER, mentioning: "p")
        assertFails(tl_loss_kl_prob_backward(nil, dloss, pa, N, C), TL_ERR_NULL_POINTER, mentioning: "dlogr")
        assertFails(tl_loss_kl_prob_backward(&g, dloss, pa, N, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
    }

    func testBadArguments() {
        var loss = zeros(2)
        let a = zeros(6)
        assertFails(tl_loss_kl_forward(&loss, a, nil, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "logits_r")
        assertFails(tl_loss_kl_forward(&loss, a, a, 2, 3, .nan), TL_ERR_INVALID_ARGUMENT, mentioning: "temperature")
        assertFails(tl_loss_kl_backward(nil, nil, [1, 1], a, a, 2, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_loss_kl_backward(nil, nil, nil, a, a, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "dloss")
    }
}

// MARK: - Margin (Carlini-Wagner)

private func margin(_ logits: [Float], _ labels: [Int32], _ N: Int, _ C: Int) -> [Float] {
    var out = zeros(N)
    XCTAssertEqual(tl_loss_margin_forward(&out, logits, labels, N, C), 0, String(cString: tl_last_error()))
    return out
}

private func marginGrad(_ dloss: [Float], _ logits: [Float], _ labels: [Int32], _ N: Int, _ C: Int) -> [Float] {
    var g = [Float](repeating: .nan, count: N * C)
    XCTAssertEqual(tl_loss_margin_backward(&g, dloss, logits, labels, N, C), 0, String(cString: tl_last_error()))
    return g
}

final class MarginLossTests: XCTestCase {
    func testKnownValues() {
        // Correct row: runner-up 1 - label 3 = -2; wrong row: 5 - 0.5; label 0 with a tie among the others.
        XCTAssertEqual(margin([3, 1, -1, 5, 0.5, 2], [0, 1], 2, 3), [-2, 4.5])
        XCTAssertEqual(marginGrad([1, 2], [3, 1, -1, 5, 0.5, 2], [0, 2], 2, 3), [-1, 1, 0, 2, 0, -2])
        XCTAssertEqual(marginGrad([1], [0, 7, 7], [0], 1, 3), [-1, 1, 0], "ties go to the first index")
    }

    func testBadArguments() {
        var loss = zeros(2), g = zeros(6)
        let z = zeros(6)
        assertFails(tl_loss_margin_forward(&loss, z, nil, 2, 3), TL_ERR_NULL_POINTER, mentioning: "labels")
        assertFails(tl_loss_margin_forward(&loss, z, [0, 1], 6, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "C must be >= 2")
        assertFails(tl_loss_margin_forward(&loss, z, [0, 3], 2, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "labels[1] = 3")
        assertFails(tl_loss_margin_backward(&g, nil, z, [0, 1], 2, 3), TL_ERR_NULL_POINTER, mentioning: "dloss")
        assertFails(tl_loss_margin_backward(&g, [1, 1], z, [0, 1], -2, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        var untouched: [Float] = [7]
        XCTAssertEqual(tl_loss_margin_forward(&untouched, z, [0], 0, 3), 0)
        XCTAssertEqual(untouched, [7])
    }
}

// MARK: - MSE

final class MSELossTests: XCTestCase {
    func testKnownValue() {
        XCTAssertEqual(mse([1, 2, 3, 4], [1, 0, 3, 1], 2, 2), [2, 4.5])
    }

    func testNullOutputsAreSkipped() {
        for (i, (N, D)) in [(1, 1), (3, 7), (2, 33)].enumerated() {
            let x = randomFloats(N * D, seed: UInt64(420 + i))
            let t = randomFloats(N * D, seed: UInt64(430 + i))
            let dloss = randomFloats(N, seed: UInt64(440 + i))
            var dx = zeros(N * D), dt = zeros(N * D)
            XCTAssertEqual(tl_loss_mse_backward(&dx, &dt, dloss, x, t, N, D), 0)
            var onlyDt = zeros(N * D)
            XCTAssertEqual(tl_loss_mse_backward(nil, &onlyDt, dloss, x, t, N, D), 0)
            assertBitwiseEqual(onlyDt, dt)
        }
    }

    func testBadArguments() {
        let (N, D) = (32, 3000)
        let x = randomFloats(N * D, seed: 450), t = randomFloats(N * D, seed: 451), dloss = randomFloats(N, seed: 452)
        var loss = zeros(N)
        assertFails(tl_loss_mse_forward(&loss, x, nil, N, D), TL_ERR_NULL_POINTER, mentioning: "target")
        assertFails(tl_loss_mse_forward(&loss, x, t, N, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "D")
        assertFails(tl_loss_mse_backward(nil, nil, dloss, x, t, -1, D), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
    }
}

// MARK: - Reductions

final class LossReductionTests: XCTestCase {
    private func reduce(_ loss: [Float], _ w: [Float]?, _ mode: tl_reduction) -> Float {
        var out: Float = .nan
        XCTAssertEqual(tl_loss_reduce(&out, loss, w, loss.count, Int32(mode.rawValue)), 0, String(cString: tl_last_error()))
        return out
    }

    private func upstream(_ n: Int, _ dout: Float, _ w: [Float]?, _ mode: tl_reduction) -> [Float] {
        var d = zeros(n)
        XCTAssertEqual(tl_loss_reduce_backward(&d, dout, w, n, Int32(mode.rawValue)), 0, String(cString: tl_last_error()))
        return d
    }

    func testValues() {
        let l: [Float] = [1, 2, 3, 6], w: [Float] = [2, 0, 1, 0.5]
        XCTAssertEqual(reduce(l, nil, TL_REDUCTION_SUM), 12)
        XCTAssertEqual(reduce(l, nil, TL_REDUCTION_MEAN), 3)
        XCTAssertEqual(reduce(l, w, TL_REDUCTION_WEIGHTED_SUM), 8)
        XCTAssertEqual(reduce(l, w, TL_REDUCTION_WEIGHTED_MEAN), 2)
        XCTAssertEqual(reduce(l, w, TL_REDUCTION_WEIGHTED_NORMALIZED), 8 / 3.5)
        XCTAssertEqual(reduce([], nil, TL_REDUCTION_MEAN), 0)
        XCTAssertEqual(upstream(4, 2, nil, TL_REDUCTION_SUM), [2, 2, 2, 2])
        XCTAssertEqual(upstream(4, 2, nil, TL_REDUCTION_MEAN), [0.5, 0.5, 0.5, 0.5])
        XCTAssertEqual(upstream(4, 2, w, TL_REDUCTION_WEIGHTED_SUM), [4, 0, 2, 1])
        XCTAssertEqual(upstream(4, 2, w, TL_REDUCTION_WEIGHTED_MEAN), [1, 0, 0.5, 0.25])
        assertClose(upstream(4, 2, w, TL_REDUCTION_WEIGHTED_NORMALIZED), [4 / 3.5, 0, 2 / 3.5, 1 / 3.5], rtol: 1e-7)
    }

    func testUpstreamIsTheGradientOfTheReduction() {
        // A weighted mean of per-sample CE through the reduction's backward equals the gradient of the
        // reduced loss by finite differences: the path a reweighting method takes.
        let (N, C) = (5, 4)
        let logits = randomFloats(N * C, seed: 500, low: -2, high: 2)
        let labels = randomLabels(N, classes: C, seed: 501)
        let w = randomFloats(N, seed: 502, low: 0, high: 2)
        for mode in [TL_REDUCTION_MEAN, TL_REDUCTION_WEIGHTED_MEAN, TL_REDUCTION_WEIGHTED_NORMALIZED] {
            let dloss = upstream(N, 1, w, mode)
            let numeric = numericalGradient(at: logits) { Double(reduce(ce($0, labels, N, C, 0.1), w, mode)) }
            assertClose(ceGrad(dloss, logits, labels, N, C, 0.1), numeric, rtol: 1e-2, atol: 2e-3, "mode \(mode.rawValue)")
        }
    }

    func testBadArguments() {
        var out: Float = 0, d = zeros(2)
        assertFails(tl_loss_reduce(&out, [1, 2], nil, 2, Int32(TL_REDUCTION_WEIGHTED_MEAN.rawValue)), TL_ERR_NULL_POINTER, mentioning: "weights")
        assertFails(tl_loss_reduce(&out, [1, 2], nil, 2, 7), TL_ERR_INVALID_ARGUMENT, mentioning: "reduction")
        assertFails(tl_loss_reduce(&out, [1, 2], nil, 2, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "reduction")
        assertFails(tl_loss_reduce(&out, [1, 2], [0, 0], 2, Int32(TL_REDUCTION_WEIGHTED_NORMALIZED.rawValue)), TL_ERR_INVALID_ARGUMENT, mentioning: "sum to 0")
        assertFails(tl_loss_reduce(nil, [1, 2], nil, 2, 0), TL_ERR_NULL_POINTER, mentioning: "out")
        assertFails(tl_loss_reduce(&out, [1, 2], nil, -2, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_loss_reduce_backward(&d, 1, [0, 0], 2, Int32(TL_REDUCTION_WEIGHTED_NORMALIZED.rawValue)), TL_ERR_INVALID_ARGUMENT, mentioning: "sum to 0")
        assertFails(tl_loss_reduce_backward(nil, 1, nil, 2, 0), TL_ERR_NULL_POINTER, mentioning: "dloss")
    }
}
