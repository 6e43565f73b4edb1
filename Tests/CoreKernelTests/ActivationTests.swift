import Foundation
import XCTest
import TrainingLab

/// Activations (include/tl_act.h) against plain Double references, finite differences, in-place use,
/// thread-count independence and bad arguments.

// MARK: - References

private func refGelu(_ x: Double, tanhForm: Bool) -> Double {
    if tanhForm {
        // 0.5 (1 + tanh u) == 1 / (1 + exp(-2u)), which does not cancel for large negative x.
        let u = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
        return x / (1 + Foundation.exp(-2 * u))
    }
    return 0.5 * x * erfc(-x / 2.0.squareRoot())
}

private func refGeluGrad(_ x: Double, tanhForm: Bool) -> Double {
    if tanhForm {
        let c = (2 / Double.pi).squareRoot()
        let u = c * (x + 0.044715 * x * x * x)
        let t = Foundation.tanh(u)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    }
    return 0.5 * erfc(-x / 2.0.squareRoot()) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
}

/// Softmax or log-softmax over the middle axis of (outer, axis, inner), in Double.
private func refSoftmax(_ x: [Float], _ outer: Int, _ axis: Int, _ inner: Int, log: Bool) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    for o in 0..<outer {
        for j in 0..<inner {
            let at = { (a: Int) in (o * axis + a) * inner + j }
            let m = (0..<axis).map { Double(x[at($0)]) }.max()!
            let s = (0..<axis).reduce(0.0) { $0 + Foundation.exp(Double(x[at($1)]) - m) }
            for a in 0..<axis {
                let v = Double(x[at(a)]) - m
                y[at(a)] = Float(log ? v - Foundation.log(s) : Foundation.exp(v) / s)
            }
        }
    }
    return y
}

// MARK: - Calling helpers

/// Runs `body` with the exp-bound kernels forced onto their baseline (AVX2) variant, as on a CPU
/// without AVX-512 (the kernels read TL_ISA on every call).
private func withBaselineISA<T>(_ body: () throws -> T) rethrows -> T {
    setenv("TL_ISA", "avx2", 1)
    defer { unsetenv("TL_ISA") }
    return try body()
}

/// Runs `body` once per instruction-set path (the default, then the forced baseline), labelled.
private func forEachISA(_ body: (String) throws -> Void) rethrows {
    try body("default ISA")
    try withBaselineISA { try body("baseline ISA") }
}

/// Output of an element-wise forward kernel.
private func unary(_ x: [Float], _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    XCTAssertEqual(y.withUnsafeMutableBufferPointer { yb in x.withUnsafeBufferPointer { kernel(yb.baseAddress!, $0.baseAddress!, x.count) } }, 0)
    return y
}

/// Output of an element-wise forward kernel run in place.
private func unaryInPlace(_ x: [Float], _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32) -> [Float] {
    var y = x
    XCTAssertEqual(y.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, UnsafePointer($0.baseAddress!), x.count) }, 0)
    return y
}

/// dx of an element-wise backward kernel given dy and the saved tensor s (input or output).
private func binary(_ dy: [Float], _ s: [Float],
                    _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32) -> [Float] {
    var dx = [Float](repeating: .nan, count: dy.count)
    let status = dx.withUnsafeMutableBufferPointer { d in
        dy.withUnsafeBufferPointer { g in s.withUnsafeBufferPointer { kernel(d.baseAddress!, g.baseAddress!, $0.baseAddress!, dy.count) } }
    }
    XCTAssertEqual(status, 0)
    return dx
}

/// One element-wise activation: its C forward and backward, whether backward takes the output, references.
private struct Activation {
    var name: String
    var forward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32
    var backward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32
    var backwardTakesOutput: Bool
    var ref: (Double) -> Double
    var refGrad: (Double) -> Double
    /// Inputs closer than this to a kink are moved away before finite differences.
    var kinkMargin: Float = 0
}

private let slope: Float = 0.1
private let activations: [Activation] = [
    Activation(name: "relu", forward: { tl_relu_forward($0, $1, $2) }, backward: { tl_relu_backward($0, $1, $2, $3) },
               backwardTakesOutput: true, ref: { max($0, 0) }, refGrad: { $0 > 0 ? 1 : 0 }, kinkMargin: 0.05),
    Activation(name: "leaky_relu", forward: { tl_leaky_relu_forward($0, $1, $2, slope) },
               backward: { tl_leaky_relu_backward($0, $1, $2, $3, slope) }, backwardTakesOutput: true,
               ref: { $0 > 0 ? $0 : Double(slope) * $0 }, refGrad: { $0 > 0 ? 1 : Double(slope) }, kinkMargin: 0.05),
    Activation(name: "gelu_erf", forward: { tl_gelu_forward($0, $1, $2, TL_GELU_ERF) },
               backward: { tl_gelu_backward($0, $1, $2, $3, TL_GELU_ERF) }, backwardTakesOutput: false,
               ref: { refGelu($0, tanhForm: false) }, refGrad: { refGeluGrad($0, tanhForm: false) }),
    Activation(name: "gelu_tanh", forward: { tl_gelu_forward($0, $1, $2, TL_GELU_TANH) },
               backward: { tl_gelu_backward($0, $1, $2, $3, TL_GELU_TANH) }, backwardTakesOutput: false,
               ref: { refGelu($0, tanhForm: true) }, refGrad: { refGeluGrad($0, tanhForm: true) }),
    Activation(name: "sigmoid", forward: { tl_sigmoid_forward($0, $1, $2) }, backward: { tl_sigmoid_backward($0, $1, $2, $3) },
               backwardTakesOutput: true, ref: { 1 / (1 + Foundation.exp(-$0)) },
               refGrad: { let s = 1 / (1 + Foundation.exp(-$0)); return s * (1 - s) }),
    Activation(name: "tanh", forward: { tl_tanh_forward($0, $1, $2) }, backward: { tl_tanh_backward($0, $1, $2, $3) },
               backwardTakesOutput: true, ref: { Foundation.tanh($0) },
               refGrad: { let t = Foundation.tanh($0); return 1 - t * t }),
]

/// Inputs spanning the interesting range of every activation, with exact zeros, tiny and huge values.
private func activationInputs(_ n: Int, seed: UInt64) -> [Float] {
    var x = randomFloats(n, seed: seed, low: -8, high: 8)
    let specials: [Float] = [0, -0.0, 1e-6, -1e-6, 1e-3, -1e-3, 0.3, -0.3, 0.62, 0.63, -0.63, 20, -20, 50, -50, 90, -90, 1e4, -1e4]
    for (i, v) in specials.enumerated() where i < n { x[(i * 7919) % n] = v }
    return x
}

final class ElementwiseActivationTests: XCTestCase {
    func testForwardMatchesReference() {
        forEachISA { isa in
            for act in activations {
                for n in [1, 7, 8, 33, 1000, 70_001] {
                    let x = activationInputs(n, seed: UInt64(n))
                    let y = unary(x, act.forward)
                    // GELU's reference in the far negative tail is ~1e-30: atol keeps those from counting.
                    assertClose(y, x.map { Float(act.ref(Double($0))) }, rtol: 1e-5, atol: 1e-30, "\(act.name) n=\(n) \(isa)")
                }
            }
        }
    }

    func testBothInstructionSetPathsGiveBitwiseEqualResults() {
        // Element-wise kernels do the same operations per lane on both paths.
        let x = activationInputs(70_001, seed: 31), dy = randomFloats(70_001, seed: 32)
        for act in activations {
            let run = { () -> [Float] in
                let y = unary(x, act.forward)
                return y + binary(dy, act.backwardTakesOutput ? y : x, act.backward)
            }
            assertBitwiseEqual(run(), withBaselineISA(run), act.name)
        }
    }

    func testBackwardMatchesReference() {
        forEachISA { isa in
        for act in activations {
            for n in [1, 9, 1000, 70_001] {
                let x = activationInputs(n, seed: UInt64(n) + 5)
                let dy = randomFloats(n, seed: 99)
                let saved = act.backwardTakesOutput ? unary(x, act.forward) : x
                let dx = binary(dy, saved, act.backward)
                let expected = zip(x, dy).map { Float(act.refGrad(Double($0)) * Double($1)) }
                // Output-based gradients lose relative accuracy where y*(1-y) or 1-y^2 cancel (|x| large).
                assertClose(dx, expected, rtol: 2e-5, atol: 2e-7, "\(act.name) n=\(n) \(isa)")
            }
        }
        }
    }

    func testBackwardMatchesFiniteDifferences() throws {
        for act in activations {
            var x = randomFloats(64, seed: 3, low: -4, high: 4)
            x = x.map { abs($0) < act.kinkMargin ? $0 + 2 * act.kinkMargin : $0 }
            let dir = randomFloats(64, seed: 4)
            let numeric = numericalGradient(at: x, eps: 1e-2) { dot(unary($0, act.forward), dir) }
            let saved = act.backwardTakesOutput ? unary(x, act.forward) : x
            assertClose(binary(dir, saved, act.backward), numeric, rtol: 1e-2, atol: 2e-3, act.name)
        }
    }

    func testInPlaceForwardAndBackward() {
        for act in activations {
            let x = activationInputs(70_001, seed: 11)
            let y = unary(x, act.forward)
            assertBitwiseEqual(unaryInPlace(x, act.forward), y, "\(act.name) forward in place")
            let saved = act.backwardTakesOutput ? y : x
            let dy = randomFloats(x.count, seed: 12)
            var g = dy
            let status = g.withUnsafeMutableBufferPointer { d in
                saved.withUnsafeBufferPointer { act.backward(d.baseAddress!, UnsafePointer(d.baseAddress!), $0.baseAddress!, x.count) }
            }
            XCTAssertEqual(status, 0)
            assertBitwiseEqual(g, binary(dy, saved, act.backward), "\(act.name) backward in place")
        }
    }

    func testOneAndTwoThreadsBitwiseEqual() {
        let x = activationInputs(300_001, seed: 21)
        let dy = randomFloats(x.count, seed: 22)
        for act in activations {
            let (y1, g1) = withThreads(1) { () -> ([Float], [Float]) in
                let y = unary(x, act.forward)
                return (y, binary(dy, act.backwardTakesOutput ? y : x, act.backward))
            }
            let (y2, g2) = withThreads(2) { () -> ([Float], [Float]) in
                let y = unary(x, act.forward)
                return (y, binary(dy, act.backwardTakesOutput ? y : x, act.backward))
            }
            assertBitwiseEqual(y1, y2, act.name)
            assertBitwiseEqual(g1, g2, act.name)
        }
    }

    func testSpecialValues() {
        let x: [Float] = [.nan, .infinity, -.infinity]
        XCTAssertTrue(unary(x, { tl_relu_forward($0, $1, $2) })[0].isNaN, "relu propagates NaN")
        XCTAssertEqual(unary(x, { tl_relu_forward($0, $1, $2) })[1...], [.infinity, 0])
        let s = unary(x, { tl_sigmoid_forward($0, $1, $2) })
        XCTAssertTrue(s[0].isNaN)
        XCTAssertEqual(s[1...], [1, 0])
        let t = unary(x, { tl_tanh_forward($0, $1, $2) })
        XCTAssertTrue(t[0].isNaN)
        XCTAssertEqual(t[1...], [1, -1])
        XCTAssertEqual(unary([-20], { tl_gelu_forward($0, $1, $2, TL_GELU_TANH) })[0], 0, accuracy: 1e-30)
    }

    func testEmptyIsNoOp() {
        var y: [Float] = [5]
        XCTAssertEqual(tl_sigmoid_forward(&y, [1], 0), 0)
        XCTAssertEqual(y, [5])
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 4)
        let x = [Float](repeating: 0, count: 4)
        assertFails(tl_relu_forward(nil, x, 4), TL_ERR_NULL_POINTER, mentioning: "tl_relu_forward: y")
        assertFails(tl_relu_forward(&y, nil, 4), TL_ERR_NULL_POINTER, mentioning: "x is NULL")
        assertFails(tl_relu_backward(&y, x, nil, 4), TL_ERR_NULL_POINTER, mentioning: "tl_relu_backward: y")
        assertFails(tl_tanh_forward(&y, x, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_sigmoid_backward(&y, x, x, -3), TL_ERR_INVALID_ARGUMENT, mentioning: "tl_sigmoid_backward")
        assertFails(tl_leaky_relu_forward(&y, x, 4, -0.1), TL_ERR_INVALID_ARGUMENT, mentioning: "slope")
        assertFails(tl_leaky_relu_backward(&y, x, x, 4, .nan), TL_ERR_INVALID_ARGUMENT, mentioning: "slope")
        assertFails(tl_gelu_forward(&y, x, 4, tl_gelu_mode(rawValue: 2)), TL_ERR_INVALID_ARGUMENT, mentioning: "mode")
        assertFails(tl_gelu_backward(&y, x, x, 4, tl_gelu_mode(rawValue: 7)), TL_ERR_INVALID_ARGUMENT, mentioning: "mode")
        assertFails(tl_gelu_backward(&y, nil, x, 4, TL_GELU_ERF), TL_ERR_NULL_POINTER, mentioning: "dy")
    }
}

// MARK: - Softmax

private func softmaxForward(_ x: [Float], _ outer: Int, _ axis: Int, _ inner: Int, log: Bool) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    let status = log ? tl_log_softmax_forward(&y, x, outer, axis, inner) : tl_softmax_forward(&y, x, outer, axis, inner)
    XCTAssertEqual(status, 0)
    return y
}

private func softmaxBackward(_ dy: [Float], _ y: [Float], _ outer: Int, _ axis: Int, _ inner: Int, log: Bool) -> [Float] {
    var dx = [Float](repeating: .nan, count: dy.count)
    let status = log ? tl_log_softmax_backward(&dx, dy, y, outer, axis, inner) : tl_softmax_backward(&dx, dy, y, outer, axis, inner)
    XCTAssertEqual(status, 0)
    return dx
}

final class SoftmaxTests: XCTestCase {
    /// (outer, axis, inner): rows, odd sizes, a single class, tiles of the strided path (256) and its remainder.
    let shapes = [(1, 1, 1), (3, 10, 1), (5, 1, 4), (2, 5, 3), (4, 3, 17), (2, 7, 300), (1, 13, 513), (64, 1000, 1), (3, 9, 1)]

    func testForwardMatchesReference() {
        forEachISA { isa in
            for log in [false, true] {
                for (o, a, i) in shapes {
                    let x = randomFloats(o * a * i, seed: UInt64(o * 31 + a * 7 + i), low: -10, high: 10)
                    assertClose(softmaxForward(x, o, a, i, log: log), refSoftmax(x, o, a, i, log: log),
                                rtol: 1e-5, atol: log ? 1e-5 : 1e-7, "log=\(log) shape=\((o, a, i)) \(isa)")
                }
            }
        }
    }

    func testBothInstructionSetPathsAgree() {
        // Sums are grouped by vector width, so the paths may differ in the last bits only.
        for log in [false, true] {
            for (o, a, i) in [(64, 1000, 1), (3, 77, 1), (2, 7, 300)] {
                let x = randomFloats(o * a * i, seed: 12, low: -8, high: 8), dy = randomFloats(o * a * i, seed: 13)
                let run = { () -> [Float] in
                    let y = softmaxForward(x, o, a, i, log: log)
                    return y + softmaxBackward(dy, y, o, a, i, log: log)
                }
                assertClose(run(), withBaselineISA(run), rtol: 1e-6, atol: 1e-6, "log=\(log) \((o, a, i))")
            }
        }
    }

    func testLargeAndInfiniteInputsStayFinite() {
        // Without the max shift exp(1000) overflows; -inf entries get probability 0.
        var x = randomFloats(2 * 6 * 3, seed: 8, low: 990, high: 1010)
        x[0] = -.infinity
        x[7] = -.infinity
        for log in [false, true] {
            for inner in [1, 3] {
                let outer = inner == 1 ? 6 : 2, axis = inner == 1 ? 6 : 6
                let y = softmaxForward(x, outer, axis, inner, log: log)
                let ref = refSoftmax(x, outer, axis, inner, log: log)
                XCTAssertEqual(y[0], log ? -.infinity : 0)
                XCTAssertEqual(y[7], log ? -.infinity : 0)
                XCTAssertTrue(y.enumerated().allSatisfy { $0.offset == 0 || $0.offset == 7 || $0.element.isFinite })
                assertClose(y.enumerated().map { [0, 7].contains($0.offset) ? 0 : $0.element },
                            ref.enumerated().map { [0, 7].contains($0.offset) ? 0 : $0.element }, rtol: 1e-5, atol: 1e-5)
            }
        }
        // Each softmax row sums to one.
        let y = softmaxForward(randomFloats(4 * 100, seed: 3, low: -30, high: 30), 4, 100, 1, log: false)
        for r in 0..<4 { XCTAssertEqual(y[(r * 100)..<(r * 100 + 100)].reduce(0, +), 1, accuracy: 1e-5) }
    }

    func testBackwardMatchesFiniteDifferences() {
        for log in [false, true] {
            for (o, a, i) in [(3, 5, 1), (2, 4, 3), (1, 1, 2), (2, 3, 9)] {
                let x = randomFloats(o * a * i, seed: 17, low: -2, high: 2)
                let dir = randomFloats(x.count, seed: 18)
                let numeric = numericalGradient(at: x, eps: 1e-2) { dot(softmaxForward($0, o, a, i, log: log), dir) }
                let dx = softmaxBackward(dir, softmaxForward(x, o, a, i, log: log), o, a, i, log: log)
                assertClose(dx, numeric, rtol: 1e-2, atol: 1e-3, "log=\(log) shape=\((o, a, i))")
            }
        }
    }

    func testBackwardMatchesReferenceOnLargeShapes() {
        forEachISA { _ in
        for log in [false, true] {
            for (o, a, i) in [(64, 1000, 1), (2, 7, 300), (3, 9, 1)] {
                let x = randomFloats(o * a * i, seed: 5, low: -5, high: 5)
                let dy = randomFloats(x.count, seed: 6)
                let y = softmaxForward(x, o, a, i, log: log)
                var expected = [Float](repeating: 0, count: x.count)
                for oo in 0..<o {
                    for j in 0..<i {
                        let at = { (k: Int) in (oo * a + k) * i + j }
                        let p = (0..<a).map { Foundation.exp(Double(y[at($0)])) }
                        if log {
                            let s = (0..<a).reduce(0.0) { $0 + Double(dy[at($1)]) }
                            for k in 0..<a { expected[at(k)] = Float(Double(dy[at(k)]) - p[k] * s) }
                        } else {
                            let s = (0..<a).reduce(0.0) { $0 + Double(dy[at($1)]) * Double(y[at($1)]) }
                            for k in 0..<a { expected[at(k)] = Float(Double(y[at(k)]) * (Double(dy[at(k)]) - s)) }
                        }
                    }
                }
                assertClose(softmaxBackward(dy, y, o, a, i, log: log), expected, rtol: 1e-4, atol: 1e-6, "log=\(log) \((o, a, i))")
            }
        }
        }
    }

    func testInPlace() {
        for log in [false, true] {
            for (o, a, i) in [(8, 100, 1), (2, 7, 300)] {
                let x = randomFloats(o * a * i, seed: 2, low: -3, high: 3)
                var z = x
                let status = z.withUnsafeMutableBufferPointer { p -> Int32 in
                    log ? tl_log_softmax_forward(p.baseAddress!, p.baseAddress!, o, a, i) : tl_softmax_forward(p.baseAddress!, p.baseAddress!, o, a, i)
                }
                XCTAssertEqual(status, 0)
                let y = softmaxForward(x, o, a, i, log: log)
                assertBitwiseEqual(z, y)
                let dy = randomFloats(x.count, seed: 4)
                var g = dy
                let bs = g.withUnsafeMutableBufferPointer { p -> Int32 in
                    log ? tl_log_softmax_backward(p.baseAddress!, p.baseAddress!, y, o, a, i) : tl_softmax_backward(p.baseAddress!, p.baseAddress!, y, o, a, i)
                }
                XCTAssertEqual(bs, 0)
                assertBitwiseEqual(g, softmaxBackward(dy, y, o, a, i, log: log))
            }
        }
    }

    func testOneAndTwoThreadsBitwiseEqual() {
        forEachISA { isa in
        for log in [false, true] {
            for (o, a, i) in [(128, 1000, 1), (4, 64, 600), (1, 8, 20_000)] {
                let x = randomFloats(o * a * i, seed: 9, low: -6, high: 6)
                let dy = randomFloats(x.count, seed: 10)
                let run = { () -> [Float] in
                    let y = softmaxForward(x, o, a, i, log: log)
                    return y + softmaxBackward(dy, y, o, a, i, log: log)
                }
                assertBitwiseEqual(withThreads(1, run), withThreads(2, run), "log=\(log) \((o, a, i)) \(isa)")
            }
        }
        }
    }

    func testZeroOuterOrInnerIsNoOp() {
        var y: [Float] = [7]
        XCTAssertEqual(tl_softmax_forward(&y, [1], 0, 3, 1), 0)
        XCTAssertEqual(tl_log_softmax_backward(&y, [1], [1], 2, 3, 0), 0)
        XCTAssertEqual(y, [7])
    }

    func testBadArguments() {
        var y = [Float](repeating: 0, count: 6)
        let x = [Float](repeating: 0, count: 6)
        assertFails(tl_softmax_forward(nil, x, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "tl_softmax_forward: y")
        assertFails(tl_log_softmax_forward(&y, nil, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "x")
        assertFails(tl_softmax_backward(&y, x, nil, 2, 3, 1), TL_ERR_NULL_POINTER, mentioning: "y is NULL")
        assertFails(tl_softmax_forward(&y, x, 2, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "axis")
        assertFails(tl_log_softmax_backward(&y, x, x, -1, 3, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "outer")
        assertFails(tl_softmax_backward(&y, x, x, 2, 3, -2), TL_ERR_INVALID_ARGUMENT, mentioning: "inner")
    }
}
