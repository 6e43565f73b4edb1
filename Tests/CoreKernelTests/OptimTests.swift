import XCTest
import KernelTable
import TrainingLab

/// Optimiser updates (include/tl_optim.h) beyond the kernel table's checks: known values, what masks freeze
/// over several steps, clipping semantics, non-finite norms and bad arguments. The PyTorch formulas are the
/// table's references (Reference.sgdStep, Reference.adamwStep).

/// torch.optim.SGD over several steps: the table's one-step reference with PyTorch's empty first buffer.
private struct RefSGD {
    var lr: Float, momentum: Float, weightDecay: Float, nesterov: Bool
    var buf: [Float]? = nil

    mutating func step(_ w: inout [Float], _ grad: [Float]) {
        var b = buf ?? [Float](repeating: 0, count: w.count)
        Reference.sgdStep(&w, &b, grad, mask: nil, lr: lr, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov, first: buf == nil)
        buf = b
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
        var (wRef, mRef, vRef) = (w0, m0, v0)
        let g = randomFloats(n, seed: 124)
        adamwStep(&w, &m, &v, g, mask: mask, lr: 0.01, wd: 0.1, step: 3)
        Reference.adamwStep(&wRef, &mRef, &vRef, g, mask: nil, lr: 0.01, beta1: 0.9, weightDecay: 0.1, step: 3)
        for i in 0..<n {
            if mask[i] == 0 {
                XCTAssertEqual([w[i], m[i], v[i]].map(\.bitPattern), [w0[i], m0[i], v0[i]].map(\.bitPattern), "frozen element \(i)")
            } else {
                XCTAssertEqual(w[i], wRef[i], accuracy: 1e-6 * max(1, abs(wRef[i])), "kept element \(i)")
                XCTAssertEqual(m[i], mRef[i], accuracy: 1e-7, "kept element \(i)")
            }
        }
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

private func refNorm(_ arrays: [[Float]]) -> Float { Float(Reference.globalNorm(arrays)) }

final class GradientNormTests: XCTestCase {
    private let arrays: [[Float]] = [randomFloats(1000, seed: 200), [], randomFloats(7, seed: 201, low: -5, high: 5),
                                     randomFloats(70_000, seed: 202), [3]]

    func testKnownNorms() {
        XCTAssertEqual(globalNorm([[3, 4]]), 5)
        XCTAssertEqual(globalNorm([[3], [], [4]]), 5)
        XCTAssertEqual(globalNorm([]), 0)
        var norm: Float = 1
        XCTAssertEqual(tl_optim_global_norm(&norm, nil, nil, 0), 0)
        XCTAssertEqual(norm, 0)
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
