import Foundation
import XCTest
import KernelTable
import TrainingLab

/// Activations (include/tl_act.h) beyond the kernel table's checks: both ISA paths bitwise, in-place use,
/// special values and bad arguments.

/// Runs `body` once per instruction-set path and returns both results.
private func onBothPaths<T>(_ body: () throws -> T) rethrows -> (T, T) {
    (try KernelISA.with("avx512", body), try KernelISA.with("avx2", body))
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

/// One element-wise activation: its C forward and backward, and whether backward takes the output.
private struct Activation {
    var name: String
    var forward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32
    var backward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32
    var backwardTakesOutput: Bool
}

private let activations: [Activation] = [
    Activation(name: "relu", forward: { tl_relu_forward($0, $1, $2) }, backward: { tl_relu_backward($0, $1, $2, $3) }, backwardTakesOutput: true),
    Activation(name: "leaky_relu", forward: { tl_leaky_relu_forward($0, $1, $2, 0.1) },
               backward: { tl_leaky_relu_backward($0, $1, $2, $3, 0.1) }, backwardTakesOutput: true),
    Activation(name: "gelu_erf", forward: { tl_gelu_forward($0, $1, $2, TL_GELU_ERF) },
               backward: { tl_gelu_backward($0, $1, $2, $3, TL_GELU_ERF) }, backwardTakesOutput: false),
    Activation(name: "gelu_tanh", forward: { tl_gelu_forward($0, $1, $2, TL_GELU_TANH) },
               backward: { tl_gelu_backward($0, $1, $2, $3, TL_GELU_TANH) }, backwardTakesOutput: false),
    Activation(name: "sigmoid", forward: { tl_sigmoid_forward($0, $1, $2) }, backward: { tl_sigmoid_backward($0, $1, $2, $3) },
               backwardTakesOutput: true),
    Activation(name: "tanh", forward: { tl_tanh_forward($0, $1, $2) }, backward: { tl_tanh_backward($0, $1, $2, $3) }, backwardTakesOutput: true),
]

final class ElementwiseActivationTests: XCTestCase {
    func testBothInstructionSetPathsGiveBitwiseEqualResults() {
        // Element-wise kernels do the same operations per lane on both paths.
        let x = Reference.activationInputs(70_001, seed: 31), dy = randomFloats(70_001, seed: 32)
        for act in activations {
            let (wide, baseline) = onBothPaths { () -> [Float] in
                let y = unary(x, act.forward)
                return y + binary(dy, act.backwardTakesOutput ? y : x, act.backward)
            }
            assertBitwiseEqual(wide, baseline, act.name)
        }
    }

    func testInPlaceForwardAndBackward() {
        for act in activations {
            let x = Reference.activationInputs(70_001, seed: 11)
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
    func testBothInstructionSetPathsAgree() {
        // Sums are grouped by vector width, so the paths may differ in the last bits only.
        for log in [false, true] {
            for (o, a, i) in [(64, 1000, 1), (3, 77, 1), (2, 7, 300)] {
                let x = randomFloats(o * a * i, seed: 12, low: -8, high: 8), dy = randomFloats(o * a * i, seed: 13)
                let (wide, baseline) = onBothPaths { () -> [Float] in
                    let y = softmaxForward(x, o, a, i, log: log)
                    return y + softmaxBackward(dy, y, o, a, i, log: log)
                }
                assertClose(wide, baseline, rtol: 1e-6, atol: 1e-6, "log=\(log) \((o, a, i))")
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
                let ref = Reference.softmax(x.map(Double.init), outer, axis, inner, log: log).map(Float.init)
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
