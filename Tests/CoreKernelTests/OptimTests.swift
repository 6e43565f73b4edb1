import XCTest
import TrainingLab

// MARK: - References written from PyTorch's update formulas (torch/optim/sgd.py, adamw.py, single-tensor path)

/// torch.optim.SGD (dampening 0) on one parameter tensor; `buf == nil` is PyTorch's empty momentum buffer.
private struct RefSGD {
    var lr: Float, momentum: Float, weightDecay: Float, nesterov: Bool
    var buf: [Float]? = nil

    mutating func step(_ w: inout [Float], _ grad: [Float]) {
        var d = grad
        if weightDecay != 0 { for i in d.indices { d[i] = d[i] + weightDecay * w[i] } }  // d_p.add(param, alpha=wd)
        if momentum != 0 {
            if var b = buf {
                for i in b.indices { b[i] = b[i] * momentum + d[i] }  // buf.mul_(momentum).add_(d_p, alpha=1)
                buf = b
            } else {
                buf = d  // torch.clone(d_p)
            }
            if nesterov { for i in d.indices { d[i] = d[i] + momentum * buf![i] } } else { d = buf! }
        }
        for i in w.indices { w[i] = w[i] + (-lr) * d[i] }  // param.add_(d_p, alpha=-lr)
    }
}

/// torch.optim.AdamW (amsgrad False): scalars computed in Double as Python does, tensor ops in Float.
private struct RefAdamW {
    var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    var m: [Float], v: [Float]
    var step = 0

    init(n: Int, lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        (self.lr, self.beta1, self.beta2, self.eps, self.weightDecay) = (lr, beta1, beta2, eps, weightDecay)
        m = [Float](repeating: 0, count: n)
        v = m
    }

    mutating func step(_ w: inout [Float], _ grad: [Float]) {
        step += 1
        let decay = Float(1 - Double(lr) * Double(weightDecay))
        let weight = Float(1 - Double(beta1))
        let bc1 = 1 - pow(Double(beta1), Double(step)), bc2 = 1 - pow(Double(beta2), Double(step))
        let stepSize = Float(Double(lr) / bc1), bc2Sqrt = Float(bc2.squareRoot())
        let oneMinusBeta2 = Float(1 - Double(beta2))
        for i in w.indices {
            w[i] = w[i] * decay  // param.mul_(1 - lr * wd)
            let g = grad[i]
            m[i] = weight < 0.5 ? m[i] + weight * (g - m[i]) : g - (g - m[i]) * (1 - weight)  // lerp_
            v[i] = v[i] * beta2 + oneMinusBeta2 * g * g  // mul_(beta2).addcmul_(g, g, value=1-beta2)
            let denom = v[i].squareRoot() / bc2Sqrt + eps
            w[i] = w[i] + (-stepSize) * m[i] / denom  // addcdiv_(exp_avg, denom, value=-step_size)
        }
    }
}

private func sgdStep(_ w: inout [Float], _ buf: inout [Float], _ g: [Float], mask: [Float]? = nil, lr: Float, momentum: Float,
                     wd: Float, nesterov: Bool, first: Bool, file: StaticString = #filePath, line: UInt = #line) {
    let n = w.count
    let status = tl_optim_sgd_step(&w, &buf, g, mask, n, lr, momentum, wd, nesterov ? 1 : 0, first ? 1 : 0)
    XCTAssertEqual(status, 0, String(cString: tl_last_error()), file: file, line: line)
}

private func adamwStep(_ w: inout [Float], _ m: inout [Float], _ v: inout [Float], _ g: [Float], mask: [Float]? = nil,
                       lr: Float, wd: Float, step: Int64, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) {
    let status = tl_optim_adamw_step(&w, &m, &v, g, mask, w.count, lr, beta1, beta2, eps, wd, step)
    XCTAssertEqual(status, 0, String(cString: tl_last_error()))
}

/// A 0/1 mask keeping about `keep` of the elements.
private func randomMask(_ n: Int, keep: Float, seed: UInt64) -> [Float] {
    randomFloats(n, seed: seed, low: 0, high: 1).map { $0 < keep ? 1 : 0 }
}

// Tolerances: the kernel may fuse a multiply-add where the reference rounds twice (PyTorch's own vector
// kernels fuse some too), an ulp of the operands (|w| ~ 1) per op, compounded over a few steps; a wrong
// formula is off by orders of magnitude more (lr * g ~ 1e-2).
private let stepRtol: Float = 2e-6, stepAtol: Float = 1e-6

// MARK: - SGD

final class SGDTests: XCTestCase {
    func testStepsMatchPyTorchFormulas() {
        for n in [1, 7, 16, 33, 1000] {
            for (momentum, wd, nesterov) in [(Float(0), Float(0), false), (0, 5e-4, false), (0.9, 0, false), (0.9, 5e-4, false),
                                             (0.9, 5e-4, true), (0.5, 0.1, true)] {
                var ref = RefSGD(lr: 0.05, momentum: momentum, weightDecay: wd, nesterov: nesterov)
                var wRef = randomFloats(n, seed: 1), w = wRef
                var buf = [Float](repeating: .nan, count: n)  // the first step must not read it
                for step in 0..<4 {
                    let g = randomFloats(n, seed: UInt64(10 + step))
                    ref.step(&wRef, g)
                    sgdStep(&w, &buf, g, lr: 0.05, momentum: momentum, wd: wd, nesterov: nesterov, first: step == 0)
                    let what = "n=\(n) momentum=\(momentum) wd=\(wd) nesterov=\(nesterov) step \(step)"
                    assertClose(w, wRef, rtol: stepRtol, atol: stepAtol, what)
                    if momentum != 0 { assertClose(buf, ref.buf!, rtol: stepRtol, atol: stepAtol, what) }
                }
            }
        }
    }

    func testKnownValues() {
        // w = 1, g = 0.5, wd 0.1 -> d = 0.6; first step buf = 0.6, w = 1 - 0.1*0.6; nesterov d = 0.6 + 0.9*0.6.
        var w: [Float] = [1], buf: [Float] = [123]
        sgdStep(&w, &buf, [0.5], lr: 0.1, momentum: 0.9, wd: 0.1, nesterov: false, first: true)
        XCTAssertEqual(buf[0], 0.6, accuracy: 1e-7)
        XCTAssertEqual(w[0], 0.94, accuracy: 1e-7)
        sgdStep(&w, &buf, [0.5], lr: 0.1, momentum: 0.9, wd: 0.1, nesterov: false, first: false)
        XCTAssertEqual(buf[0], 0.9 * 0.6 + 0.5 + 0.1 * 0.94, accuracy: 1e-6)
        var wn: [Float] = [1], bn: [Float] = [0]
        sgdStep(&wn, &bn, [0.5], lr: 0.1, momentum: 0.9, wd: 0.1, nesterov: true, first: true)
        XCTAssertEqual(wn[0], 1 - 0.1 * (0.6 + 0.9 * 0.6), accuracy: 1e-7)
        // Plain SGD needs no buffer.
        var wp: [Float] = [1, 2]
        XCTAssertEqual(tl_optim_sgd_step(&wp, nil, [1, -1], nil, 2, 0.5, 0, 0, 0, 0), 0)
        XCTAssertEqual(wp, [0.5, 2.5])
    }

    func testMaskFreezesWeightsAndMomentum() {
        let n = 1001
        let mask = randomMask(n, keep: 0.6, seed: 20)
        var w = randomFloats(n, seed: 21), buf = [Float](repeating: .nan, count: n)
        let w0 = w
        var ref = RefSGD(lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        var wRef = w
        var frozenBuf: [Float] = []
        for step in 0..<3 {
            let g = randomFloats(n, seed: UInt64(30 + step))
            sgdStep(&w, &buf, g, mask: mask, lr: 0.1, momentum: 0.9, wd: 5e-4, nesterov: true, first: step == 0)
            ref.step(&wRef, g)
            if step == 0 { frozenBuf = buf }
            for i in 0..<n where mask[i] == 0 {
                XCTAssertEqual(w[i].bitPattern, w0[i].bitPattern, "frozen weight \(i) moved")
                XCTAssertEqual(buf[i].bitPattern, Float(0).bitPattern, "frozen momentum \(i) is not 0")
            }
            let kept = (0..<n).filter { mask[$0] != 0 }
            assertClose(kept.map { w[$0] }, kept.map { wRef[$0] }, rtol: stepRtol, atol: stepAtol, "step \(step)")
            assertClose(kept.map { buf[$0] }, kept.map { ref.buf![$0] }, rtol: stepRtol, atol: stepAtol, "step \(step)")
        }
        XCTAssertEqual(frozenBuf.filter { $0.isNaN }.count, 0, "first step left the uninitialised buffer in place")
    }

    func testMaskOnPrunedWeightsEqualsPyTorchWithMaskedGradient() {
        // Pruned weights (0) with zero momentum: PyTorch fed grad * mask keeps them at 0 too, and the whole
        // update, masked elements included, must equal it.
        let n = 517
        let mask = randomMask(n, keep: 0.3, seed: 40)
        var w = zip(randomFloats(n, seed: 41), mask).map { $0 * $1 }, buf = [Float](repeating: 0, count: n)
        var wRef = w
        var ref = RefSGD(lr: 0.05, momentum: 0.9, weightDecay: 1e-3, nesterov: false)
        for step in 0..<4 {
            let g = randomFloats(n, seed: UInt64(50 + step))
            sgdStep(&w, &buf, g, mask: mask, lr: 0.05, momentum: 0.9, wd: 1e-3, nesterov: false, first: step == 0)
            ref.step(&wRef, zip(g, mask).map { $0 * $1 })
        }
        assertClose(w, wRef, rtol: stepRtol, atol: stepAtol)
        assertClose(buf, ref.buf!, rtol: stepRtol, atol: stepAtol)
        XCTAssertTrue((0..<n).allSatisfy { mask[$0] != 0 || (w[$0] == 0 && buf[$0] == 0) })
    }

    func testThreadCountDoesNotChangeBits() {
        let n = 300_001  // above the parallel threshold, not a multiple of the vector width
        let g = randomFloats(n, seed: 60), mask = randomMask(n, keep: 0.5, seed: 61), w0 = randomFloats(n, seed: 62)
        func run() -> ([Float], [Float]) {
            var w = w0, buf = [Float](repeating: 0, count: n)
            sgdStep(&w, &buf, g, mask: mask, lr: 0.1, momentum: 0.9, wd: 1e-4, nesterov: true, first: true)
            sgdStep(&w, &buf, g, lr: 0.1, momentum: 0.9, wd: 1e-4, nesterov: false, first: false)
            return (w, buf)
        }
        let one = withThreads(1, run), two = withThreads(2, run)
        assertBitwiseEqual(one.0, two.0)
        assertBitwiseEqual(one.1, two.1)
        // And the parallel path agrees with the reference.
        var ref = RefSGD(lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: false)
        var wRef = w0
        ref.step(&wRef, g)
        var w = w0, buf = [Float](repeating: 0, count: n)
        withThreads(2) { sgdStep(&w, &buf, g, lr: 0.1, momentum: 0.9, wd: 1e-4, nesterov: false, first: true) }
        assertClose(w, wRef, rtol: stepRtol, atol: stepAtol)
    }

    func testBadArguments() {
        var w: [Float] = [1, 2], buf: [Float] = [0, 0]
        let g: [Float] = [1, 1]
        assertFails(tl_optim_sgd_step(nil, &buf, g, nil, 2, 0.1, 0.9, 0, 0, 0), TL_ERR_NULL_POINTER, mentioning: "w")
        assertFails(tl_optim_sgd_step(&w, &buf, nil, nil, 2, 0.1, 0.9, 0, 0, 0), TL_ERR_NULL_POINTER, mentioning: "grad")
        assertFails(tl_optim_sgd_step(&w, nil, g, nil, 2, 0.1, 0.9, 0, 0, 0), TL_ERR_NULL_POINTER, mentioning: "buf")
        assertFails(tl_optim_sgd_step(&w, &buf, g, nil, -2, 0.1, 0.9, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_optim_sgd_step(&w, &buf, g, nil, 2, -0.1, 0.9, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "lr")
        assertFails(tl_optim_sgd_step(&w, &buf, g, nil, 2, .nan, 0.9, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "lr")
        assertFails(tl_optim_sgd_step(&w, &buf, g, nil, 2, 0.1, -0.9, 0, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "momentum")
        assertFails(tl_optim_sgd_step(&w, &buf, g, nil, 2, 0.1, 0.9, -1, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "weight_decay")
        assertFails(tl_optim_sgd_step(&w, &buf, g, nil, 2, 0.1, 0, 0, 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "nesterov")
        XCTAssertEqual(w, [1, 2], "a failed call must not touch the weights")
        XCTAssertEqual(tl_optim_sgd_step(&w, &buf, g, nil, 0, 0.1, 0.9, 0, 0, 0), 0, "n = 0 is a no-op")
        XCTAssertEqual(w, [1, 2])
    }
}

// MARK: - AdamW

final class AdamWTests: XCTestCase {
    func testStepsMatchPyTorchFormulas() {
        for n in [1, 9, 64, 1000] {
            for (lr, wd, beta1) in [(Float(1e-3), Float(0.01), Float(0.9)), (0.1, 0, 0.9), (0.01, 0.5, 0.3), (0.01, 0.1, 0.6)] {
                var ref = RefAdamW(n: n, lr: lr, beta1: beta1, weightDecay: wd)
                var wRef = randomFloats(n, seed: 100), w = wRef
                var m = [Float](repeating: 0, count: n), v = m
                for step in 1...5 {
                    let g = randomFloats(n, seed: UInt64(110 + step), low: -2, high: 2)
                    ref.step(&wRef, g)
                    adamwStep(&w, &m, &v, g, lr: lr, wd: wd, step: Int64(step), beta1: beta1)
                    let what = "n=\(n) lr=\(lr) wd=\(wd) beta1=\(beta1) step \(step)"
                    assertClose(w, wRef, rtol: stepRtol, atol: stepAtol, what)
                    assertClose(m, ref.m, rtol: stepRtol, atol: stepAtol, what)
                    assertClose(v, ref.v, rtol: stepRtol, atol: 1e-9, what)
                }
            }
        }
    }

    func testFirstStepMovesEachWeightByLr() {
        // Bias correction makes the first update lr * g / (|g| + eps) = lr * sign(g) (wd 0).
        var w: [Float] = [0, 0, 0], m: [Float] = [0, 0, 0], v: [Float] = [0, 0, 0]
        adamwStep(&w, &m, &v, [3, -0.01, 100], lr: 0.1, wd: 0, step: 1)
        assertClose(w, [-0.1, 0.1, -0.1], rtol: 1e-5)
        // Decoupled decay alone: a zero gradient shrinks w by (1 - lr wd).
        var w2: [Float] = [2], m2: [Float] = [0], v2: [Float] = [0]
        adamwStep(&w2, &m2, &v2, [0], lr: 0.1, wd: 0.5, step: 1)
        XCTAssertEqual(w2[0], 2 * 0.95, accuracy: 1e-6)
    }

    func testMaskFreezesWeightsAndMoments() {
        let n = 333
        let mask = randomMask(n, keep: 0.5, seed: 120)
        let w0 = randomFloats(n, seed: 121), m0 = randomFloats(n, seed: 122, low: -0.1, high: 0.1)
        let v0 = randomFloats(n, seed: 123, low: 0, high: 0.01)
        var w = w0, m = m0, v = v0
        var ref = RefAdamW(n: n, lr: 0.01, weightDecay: 0.1)
        ref.m = m0
        ref.v = v0
        ref.step = 2
        var wRef = w0
        let g = randomFloats(n, seed: 124)
        adamwStep(&w, &m, &v, g, mask: mask, lr: 0.01, wd: 0.1, step: 3)
        ref.step(&wRef, g)
        for i in 0..<n {
            if mask[i] == 0 {
                XCTAssertEqual([w[i], m[i], v[i]].map(\.bitPattern), [w0[i], m0[i], v0[i]].map(\.bitPattern), "frozen element \(i)")
            } else {
                XCTAssertEqual(w[i], wRef[i], accuracy: 1e-6 * max(1, abs(wRef[i])), "kept element \(i)")
                XCTAssertEqual(m[i], ref.m[i], accuracy: 1e-7, "kept element \(i)")
            }
        }
    }

    func testThreadCountDoesNotChangeBits() {
        let n = 200_003
        let g = randomFloats(n, seed: 130), mask = randomMask(n, keep: 0.7, seed: 131), w0 = randomFloats(n, seed: 132)
        func run() -> [[Float]] {
            var w = w0, m = [Float](repeating: 0, count: n), v = m
            adamwStep(&w, &m, &v, g, lr: 1e-3, wd: 0.01, step: 1)
            adamwStep(&w, &m, &v, g, mask: mask, lr: 1e-3, wd: 0.01, step: 2)
            return [w, m, v]
        }
        let one = withThreads(1, run), two = withThreads(2, run)
        for k in 0..<3 { assertBitwiseEqual(one[k], two[k]) }
    }

    func testBadArguments() {
        var w: [Float] = [1], m: [Float] = [0], v: [Float] = [0]
        let g: [Float] = [1]
        assertFails(tl_optim_adamw_step(&w, nil, &v, g, nil, 1, 0.1, 0.9, 0.999, 1e-8, 0, 1), TL_ERR_NULL_POINTER, mentioning: "m")
        assertFails(tl_optim_adamw_step(&w, &m, nil, g, nil, 1, 0.1, 0.9, 0.999, 1e-8, 0, 1), TL_ERR_NULL_POINTER, mentioning: "v")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, 1, -1, 0.9, 0.999, 1e-8, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "lr")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, 1, 0.1, 1, 0.999, 1e-8, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "beta1")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, 1, 0.1, 0.9, -0.5, 1e-8, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "beta2")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, 1, 0.1, 0.9, 0.999, 0, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "eps")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, 1, 0.1, 0.9, 0.999, 1e-8, -0.1, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "weight_decay")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, 1, 0.1, 0.9, 0.999, 1e-8, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "step")
        assertFails(tl_optim_adamw_step(&w, &m, &v, g, nil, -1, 0.1, 0.9, 0.999, 1e-8, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        XCTAssertEqual(w, [1])
    }
}

// MARK: - Global norm and clipping

/// Runs `body` with C pointers to copies of `arrays`, then copies the (possibly modified) contents back.
private func withArrayPointers<R>(_ arrays: inout [[Float]],
                                  _ body: ([UnsafeMutablePointer<Float>?], [Int]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<Float>?] = arrays.map { a in
        guard !a.isEmpty else { return nil }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: a.count)
        p.initialize(from: a, count: a.count)
        return p
    }
    defer { pointers.forEach { $0?.deallocate() } }
    let result = body(pointers, arrays.map(\.count))
    for k in arrays.indices where !arrays[k].isEmpty { arrays[k] = Array(UnsafeBufferPointer(start: pointers[k], count: arrays[k].count)) }
    return result
}

private func globalNorm(_ arrays: [[Float]]) -> Float {
    var copy = arrays
    return withArrayPointers(&copy) { ptrs, counts in
        var norm: Float = .nan
        let constPtrs = ptrs.map { $0.map { UnsafePointer($0) } }
        XCTAssertEqual(tl_optim_global_norm(&norm, constPtrs, counts, counts.count), 0, String(cString: tl_last_error()))
        return norm
    }
}

private func refNorm(_ arrays: [[Float]]) -> Float {
    Float(arrays.joined().reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
}

final class GradientNormTests: XCTestCase {
    private let arrays: [[Float]] = [randomFloats(1000, seed: 200), [], randomFloats(7, seed: 201, low: -5, high: 5),
                                     randomFloats(70_000, seed: 202), [3]]

    func testNormMatchesReference() {
        assertClose([globalNorm(arrays)], [refNorm(arrays)], rtol: 1e-6)
        XCTAssertEqual(globalNorm([[3, 4]]), 5)
        XCTAssertEqual(globalNorm([[3], [], [4]]), 5)
        XCTAssertEqual(globalNorm([]), 0)
        var norm: Float = 1
        XCTAssertEqual(tl_optim_global_norm(&norm, nil, nil, 0), 0)
        XCTAssertEqual(norm, 0)
    }

    func testNormIsBitwiseIndependentOfThreads() {
        let big = [randomFloats(400_000, seed: 210), randomFloats(123_457, seed: 211), randomFloats(5, seed: 212)]
        let one = withThreads(1) { globalNorm(big) }, two = withThreads(2) { globalNorm(big) }
        XCTAssertEqual(one.bitPattern, two.bitPattern)
        assertClose([one], [refNorm(big)], rtol: 1e-6)
    }

    func testScaleAndClip() {
        var scaled = arrays
        withArrayPointers(&scaled) { ptrs, counts in
            XCTAssertEqual(tl_optim_scale(ptrs, counts, counts.count, 0.5), 0)
        }
        for k in arrays.indices { XCTAssertEqual(scaled[k], arrays[k].map { $0 * 0.5 }) }

        // Above the limit: scaled by max_norm / (norm + 1e-6), so the new norm is just under max_norm.
        let norm = refNorm(arrays)
        var clipped = arrays
        let reported: Float = withArrayPointers(&clipped) { ptrs, counts in
            var total: Float = 0
            XCTAssertEqual(tl_optim_clip_grad_norm(&total, ptrs, counts, counts.count, 2), 0)
            return total
        }
        assertClose([reported], [norm], rtol: 1e-6)
        let coef = 2 / (reported + 1e-6)
        for k in arrays.indices { XCTAssertEqual(clipped[k], arrays[k].map { $0 * coef }) }
        assertClose([refNorm(clipped)], [2], rtol: 1e-5)

        // Below the limit: unchanged, bit for bit.
        var untouched = arrays
        withArrayPointers(&untouched) { ptrs, counts in
            var total: Float = 0
            XCTAssertEqual(tl_optim_clip_grad_norm(&total, ptrs, counts, counts.count, norm * 2), 0)
        }
        for k in arrays.indices { assertBitwiseEqual(untouched[k], arrays[k]) }

        // Threads: clipping a large set gives the same bits.
        let big = [randomFloats(300_000, seed: 220), randomFloats(1111, seed: 221)]
        func clipBig() -> [[Float]] {
            var c = big
            withArrayPointers(&c) { ptrs, counts in
                var total: Float = 0
                XCTAssertEqual(tl_optim_clip_grad_norm(&total, ptrs, counts, counts.count, 1), 0)
            }
            return c
        }
        let one = withThreads(1, clipBig), two = withThreads(2, clipBig)
        for k in big.indices { assertBitwiseEqual(one[k], two[k]) }
    }

    func testNonFiniteNormLeavesGradientsAlone() {
        var bad: [[Float]] = [[1, 2], [.infinity, 0]]
        let status: Int32 = withArrayPointers(&bad) { ptrs, counts in
            var total: Float = 0
            let s = tl_optim_clip_grad_norm(&total, ptrs, counts, counts.count, 1)
            XCTAssertTrue(total.isInfinite)
            return s
        }
        assertFails(status, TL_ERR_NUMERIC, mentioning: "tl_optim_clip_grad_norm")
        XCTAssertEqual(bad[0], [1, 2])
    }

    func testBadArguments() {
        var norm: Float = 0
        let x: [Float] = [1, 2]
        x.withUnsafeBufferPointer { p in
            let ptrs: [UnsafePointer<Float>?] = [p.baseAddress, nil]
            assertFails(tl_optim_global_norm(&norm, ptrs, [2, 3], 2), TL_ERR_NULL_POINTER, mentioning: "arrays[1]")
            assertFails(tl_optim_global_norm(&norm, ptrs, [2, -1], 2), TL_ERR_INVALID_ARGUMENT, mentioning: "counts[1]")
            assertFails(tl_optim_global_norm(&norm, ptrs, [2, 0], -1), TL_ERR_INVALID_ARGUMENT, mentioning: "k")
            assertFails(tl_optim_global_norm(nil, ptrs, [2, 0], 2), TL_ERR_NULL_POINTER, mentioning: "norm")
            XCTAssertEqual(tl_optim_global_norm(&norm, ptrs, [2, 0], 2), 0, "a NULL array with count 0 is fine")
            XCTAssertEqual(norm, Float(5).squareRoot())
        }
        var total: Float = 0
        assertFails(tl_optim_clip_grad_norm(&total, nil, nil, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "max_norm")
        assertFails(tl_optim_clip_grad_norm(&total, nil, nil, 0, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "max_norm")
        assertFails(tl_optim_scale(nil, [1], 1, 2), TL_ERR_NULL_POINTER, mentioning: "arrays")
    }
}
