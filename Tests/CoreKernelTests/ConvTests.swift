import XCTest
import TrainingLab

/// One convolution shape, with the Swift direct-loop reference used to check the C kernels.
private struct Conv: CustomStringConvertible {
    var n = 2, c = 4, h = 7, w = 7, k = 6, r = 3, s = 3
    var sh = 1, sw = 1, ph = 1, pw = 1, dh = 1, dw = 1, groups = 1

    var params: tl_conv2d_params {
        tl_conv2d_params(batch: n, in_channels: c, in_h: h, in_w: w, out_channels: k, kernel_h: r, kernel_w: s,
                         stride_h: sh, stride_w: sw, pad_h: ph, pad_w: pw, dilation_h: dh, dilation_w: dw, groups: groups)
    }
    var oh: Int { (h + 2 * ph - dh * (r - 1) - 1) / sh + 1 }
    var ow: Int { (w + 2 * pw - dw * (s - 1) - 1) / sw + 1 }
    var cg: Int { c / groups }
    var kg: Int { k / groups }
    var xCount: Int { n * c * h * w }
    var wCount: Int { k * cg * r * s }
    var yCount: Int { n * k * oh * ow }
    var description: String {
        "n\(n) c\(c) \(h)x\(w) k\(k) \(r)x\(s) s\(sh),\(sw) p\(ph),\(pw) d\(dh),\(dw) g\(groups)"
    }

    /// Calls body(yIndex, xIndex, wIndex) for every multiply of the convolution (padding skipped).
    func forEachTap(_ body: (Int, Int, Int) -> Void) {
        for b in 0..<n {
            for ko in 0..<k {
                let g = ko / kg
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let yi = ((b * k + ko) * oh + oy) * ow + ox
                        for ci in 0..<cg {
                            for ky in 0..<r {
                                let iy = oy * sh - ph + ky * dh
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<s {
                                    let ix = ox * sw - pw + kx * dw
                                    if ix < 0 || ix >= w { continue }
                                    body(yi, ((b * c + g * cg + ci) * h + iy) * w + ix, ((ko * cg + ci) * r + ky) * s + kx)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func referenceForward(x: [Float], weight: [Float], bias: [Float]?) -> [Float] {
        var acc = [Double](repeating: 0, count: yCount)
        if let bias { for i in 0..<yCount { acc[i] = Double(bias[(i / (oh * ow)) % k]) } }
        forEachTap { yi, xi, wi in acc[yi] += Double(x[xi]) * Double(weight[wi]) }
        return acc.map { Float($0) }
    }

    func referenceBackward(dy: [Float], x: [Float], weight: [Float]) -> (dx: [Float], dw: [Float], db: [Float]) {
        var dx = [Double](repeating: 0, count: xCount), dwt = [Double](repeating: 0, count: wCount)
        var db = [Double](repeating: 0, count: k)
        forEachTap { yi, xi, wi in
            dx[xi] += Double(dy[yi]) * Double(weight[wi])
            dwt[wi] += Double(dy[yi]) * Double(x[xi])
        }
        for i in 0..<yCount { db[(i / (oh * ow)) % k] += Double(dy[i]) }
        return (dx.map { Float($0) }, dwt.map { Float($0) }, db.map { Float($0) })
    }

    func forward(x: [Float], weight: [Float], bias: [Float]?, ref: Bool = false) throws -> [Float] {
        var y = [Float](repeating: .nan, count: yCount)
        let fn = ref ? tl_conv2d_forward_ref : tl_conv2d_forward
        try tlCheck(fn(&y, x, weight, bias, params))
        return y
    }

    /// The implementations tl_conv2d picks for (forward, input gradient, weight gradient).
    var algorithms: (forward: Int32, input: Int32, weight: Int32) {
        var f: Int32 = -1, i: Int32 = -1, w: Int32 = -1
        XCTAssertEqual(tl_conv2d_algorithms(&f, &i, &w, params), 0)
        return (f, i, w)
    }

    /// Winograd rounds differently from the direct sum: its error is about 1e-5 of the output scale.
    func tolerance(_ algorithm: Int32) -> Float { algorithm == Int32(TL_CONV2D_ALGO_WINOGRAD) ? 1e-4 : 1e-5 }

    func backward(dy: [Float], x: [Float], weight: [Float], wantDx: Bool = true, wantDw: Bool = true,
                  wantDb: Bool = true, ref: Bool = false) throws -> (dx: [Float], dw: [Float], db: [Float]) {
        // NaN-filled outputs: a gradient that is accumulated into instead of overwritten shows up.
        var dx = [Float](repeating: .nan, count: xCount), dwt = [Float](repeating: .nan, count: wCount)
        var db = [Float](repeating: .nan, count: k)
        let fn = ref ? tl_conv2d_backward_ref : tl_conv2d_backward
        try dx.withUnsafeMutableBufferPointer { dxp in
            try dwt.withUnsafeMutableBufferPointer { dwp in
                try db.withUnsafeMutableBufferPointer { dbp in
                    try tlCheck(fn(wantDx ? dxp.baseAddress : nil, wantDw ? dwp.baseAddress : nil,
                                   wantDb ? dbp.baseAddress : nil, dy, x, weight, params))
                }
            }
        }
        return (dx, dwt, db)
    }
}

/// Shapes covering the edge cases of the issue: batch 1, odd sizes, stride > kernel, dilation,
/// groups, depthwise, 1x1, padding 0 and 2, rectangular kernels and strides.
private let shapes: [Conv] = [
    Conv(),
    Conv(n: 1, c: 3, h: 9, w: 11, k: 5),
    Conv(n: 2, c: 3, h: 8, w: 8, k: 4, sh: 2, sw: 2),
    Conv(n: 1, c: 2, h: 10, w: 9, k: 3, r: 2, s: 2, sh: 3, sw: 3, ph: 0, pw: 0), // stride > kernel
    Conv(n: 2, c: 2, h: 9, w: 9, k: 3, ph: 2, pw: 2, dh: 2, dw: 2),                // dilation 2
    Conv(n: 2, c: 4, h: 6, w: 7, k: 6, groups: 2),
    Conv(n: 2, c: 5, h: 7, w: 6, k: 5, groups: 5),                                  // depthwise
    Conv(n: 2, c: 4, h: 5, w: 5, k: 8, groups: 4),                                  // depthwise, multiplier 2
    Conv(n: 3, c: 5, h: 6, w: 5, k: 7, r: 1, s: 1, ph: 0, pw: 0),                   // 1x1
    Conv(n: 2, c: 4, h: 7, w: 7, k: 3, r: 1, s: 1, sh: 2, sw: 2, ph: 0, pw: 0),     // strided 1x1
    Conv(n: 1, c: 3, h: 5, w: 6, k: 2, ph: 0, pw: 0),                               // padding 0
    Conv(n: 2, c: 2, h: 4, w: 5, k: 3, ph: 2, pw: 2),                               // padding 2
    Conv(n: 2, c: 3, h: 8, w: 7, k: 4, r: 3, s: 2, sh: 2, sw: 1, ph: 1, pw: 0, dh: 1, dw: 2),
    Conv(n: 1, c: 2, h: 1, w: 9, k: 2, r: 1, s: 5, ph: 0, pw: 2),                   // one row
    Conv(n: 2, c: 1, h: 7, w: 7, k: 1),
    Conv(n: 3, c: 2, h: 13, w: 3, k: 4, r: 5, s: 3, sh: 2, sw: 1, ph: 2, pw: 1),
    // Shapes for the optimised paths: wide rows (several 16-float chunks), strides 2 and 3, several images
    // per task, and Winograd-eligible ones (3x3 stride 1, >= 8 channels per group; the automatic choice
    // takes Winograd where the direct kernel does not apply, the "no direct" mode everywhere) with every
    // padding it takes and partial edge tiles.
    Conv(n: 2, c: 3, h: 5, w: 37, k: 5, sh: 2, sw: 2),
    Conv(n: 1, c: 2, h: 4, w: 53, k: 4, sh: 2, sw: 2, ph: 0, pw: 2),
    Conv(n: 2, c: 2, h: 7, w: 12, k: 6, r: 2, s: 4, sh: 2, sw: 2, ph: 2, pw: 0),
    Conv(n: 2, c: 5, h: 9, w: 11, k: 4, sh: 2, sw: 2),                              // odd width, stride 2
    Conv(n: 2, c: 4, h: 10, w: 41, k: 4, sh: 3, sw: 3, ph: 0, pw: 1),               // nine phases
    Conv(n: 1, c: 6, h: 8, w: 9, k: 5, sh: 2, sw: 1, ph: 1, pw: 2, dh: 1, dw: 2),
    Conv(n: 8, c: 3, h: 5, w: 16, k: 5),                                            // several images per task
    Conv(n: 3, c: 5, h: 4, w: 16, k: 6, r: 1, s: 2, ph: 0, pw: 0),                 // 10 taps: bias folded into dw
    Conv(n: 2, c: 4, h: 6, w: 64, k: 3, r: 1, s: 1, sh: 2, sw: 2, ph: 0, pw: 0),   // input-gradient phases without taps
    Conv(n: 2, c: 3, h: 11, w: 19, k: 5, sh: 3, sw: 3),
    Conv(n: 1, c: 4, h: 3, w: 40, k: 9, ph: 0, pw: 2),
    Conv(n: 2, c: 8, h: 9, w: 7, k: 8),
    Conv(n: 3, c: 8, h: 10, w: 13, k: 9, ph: 0, pw: 2),
    Conv(n: 1, c: 16, h: 6, w: 5, k: 16, ph: 2, pw: 0, groups: 2),
    Conv(n: 1, c: 8, h: 26, w: 23, k: 8),                                           // > 32 Winograd tiles per image
]

final class ConvTests: XCTestCase {
    private func inputs(_ cv: Conv, seed: UInt64) -> (x: [Float], w: [Float], b: [Float], dy: [Float]) {
        (randomFloats(cv.xCount, seed: seed), randomFloats(cv.wCount, seed: seed + 1),
         randomFloats(cv.k, seed: seed + 2), randomFloats(cv.yCount, seed: seed + 3))
    }

    func testOutputSize() throws {
        var oh = 0, ow = 0
        for cv in shapes {
            try tlCheck(tl_conv2d_output_size(&oh, &ow, cv.params))
            XCTAssertEqual(oh, cv.oh, "\(cv)")
            XCTAssertEqual(ow, cv.ow, "\(cv)")
        }
        try tlCheck(tl_conv2d_output_size(&oh, &ow, Conv(h: 32, w: 32, sh: 2, sw: 2).params))
        XCTAssertEqual([oh, ow], [16, 16])
    }

    func testForwardMatchesReference() throws {
        for (i, cv) in shapes.enumerated() {
            let (x, w, b, _) = inputs(cv, seed: UInt64(100 + 10 * i))
            for bias in [true, false] {
                let expected = cv.referenceForward(x: x, weight: w, bias: bias ? b : nil)
                let tol = cv.tolerance(cv.algorithms.forward)
                assertClose(try cv.forward(x: x, weight: w, bias: bias ? b : nil), expected, rtol: tol, atol: tol,
                            "\(cv) bias \(bias)")
                assertClose(try cv.forward(x: x, weight: w, bias: bias ? b : nil, ref: true), expected, rtol: 1e-6,
                            atol: 1e-6, "ref \(cv) bias \(bias)")
            }
        }
    }

    func testBackwardMatchesReference() throws {
        for (i, cv) in shapes.enumerated() {
            let (x, w, _, dy) = inputs(cv, seed: UInt64(300 + 10 * i))
            let expected = cv.referenceBackward(dy: dy, x: x, weight: w)
            for ref in [false, true] {
                let got = try cv.backward(dy: dy, x: x, weight: w, ref: ref)
                let label = "\(ref ? "ref " : "")\(cv)"
                let (ti, tw) = ref ? (Float(1e-6), Float(1e-6)) : (cv.tolerance(cv.algorithms.input), cv.tolerance(cv.algorithms.weight))
                assertClose(got.dx, expected.dx, rtol: ti, atol: ti, "dx \(label)")
                assertClose(got.dw, expected.dw, rtol: tw, atol: tw, "dw \(label)")
                assertClose(got.db, expected.db, rtol: 1e-5, atol: 1e-5, "db \(label)")
            }
        }
    }

    func testBackwardSkipsNullOutputs() throws {
        let cv = shapes[4]
        let (x, w, _, dy) = inputs(cv, seed: 500)
        let all = try cv.backward(dy: dy, x: x, weight: w)
        for (wantDx, wantDw, wantDb) in [(true, false, false), (false, true, false), (false, false, true), (false, true, true)] {
            let got = try cv.backward(dy: dy, x: wantDw ? x : [], weight: wantDx ? w : [],
                                      wantDx: wantDx, wantDw: wantDw, wantDb: wantDb)
            if wantDx { assertBitwiseEqual(got.dx, all.dx) } else { XCTAssertTrue(got.dx.allSatisfy { $0.isNaN }) }
            if wantDw { assertBitwiseEqual(got.dw, all.dw) } else { XCTAssertTrue(got.dw.allSatisfy { $0.isNaN }) }
            if wantDb { assertBitwiseEqual(got.db, all.db) } else { XCTAssertTrue(got.db.allSatisfy { $0.isNaN }) }
        }
    }

    /// Gradients of sum(conv(x, w) + b) * direction) by central differences, for x, w and b.
    func testGradientsAgainstFiniteDifferences() throws {
        for cv in [shapes[0], shapes[2], shapes[4], shapes[5], shapes[6], shapes[12]] {
            let (x, w, b, dir) = inputs(cv, seed: 700)
            let got = try cv.backward(dy: dir, x: x, weight: w)
            let loss = { (x: [Float], w: [Float], b: [Float]) -> Double in dot(try cv.forward(x: x, weight: w, bias: b), dir) }
            assertClose(got.dx, try numericalGradient(at: x) { try loss($0, w, b) }, rtol: 1e-2, atol: 2e-3, "dx \(cv)")
            assertClose(got.dw, try numericalGradient(at: w) { try loss(x, $0, b) }, rtol: 1e-2, atol: 2e-3, "dw \(cv)")
            assertClose(got.db, try numericalGradient(at: b) { try loss(x, w, $0) }, rtol: 1e-2, atol: 2e-3, "db \(cv)")
        }
    }

    /// Every implementation (Winograd, direct with AVX-512 and AVX2 kernels, im2col) on every shape it
    /// accepts, against the Swift reference; and every (pass, implementation) pair is exercised.
    func testEveryImplementationMatchesReference() throws {
        let modes: [(String, Int32)] = [
            ("auto", Int32(TL_CONV2D_AUTO)),
            ("no avx512", Int32(TL_CONV2D_NO_AVX512)),
            ("no direct", Int32(TL_CONV2D_NO_DIRECT)),
            ("no winograd", Int32(TL_CONV2D_NO_WINOGRAD)),
            ("no winograd, no avx512", Int32(TL_CONV2D_NO_WINOGRAD | TL_CONV2D_NO_AVX512)),
            ("im2col", Int32(TL_CONV2D_NO_WINOGRAD | TL_CONV2D_NO_DIRECT)),
        ]
        var used = Set<String>()
        defer { _ = tl_conv2d_set_mode(Int32(TL_CONV2D_AUTO)) }
        for (name, mode) in modes {
            try tlCheck(tl_conv2d_set_mode(mode))
            for (i, cv) in shapes.enumerated() {
                let (fa, ba, wa) = cv.algorithms
                used.formUnion(["forward \(fa)", "input \(ba)", "weight \(wa)"])
                let (x, w, b, dy) = inputs(cv, seed: UInt64(1100 + 10 * i))
                let label = "\(cv) mode \(name) algorithms \(fa)/\(ba)/\(wa)"
                let (tf, ti, tw) = (cv.tolerance(fa), cv.tolerance(ba), cv.tolerance(wa))
                assertClose(try cv.forward(x: x, weight: w, bias: b), cv.referenceForward(x: x, weight: w, bias: b),
                            rtol: tf, atol: tf, "y \(label)")
                let got = try cv.backward(dy: dy, x: x, weight: w)
                let expected = cv.referenceBackward(dy: dy, x: x, weight: w)
                assertClose(got.dx, expected.dx, rtol: ti, atol: ti, "dx \(label)")
                assertClose(got.dw, expected.dw, rtol: tw, atol: tw, "dw \(label)")
                assertClose(got.db, expected.db, rtol: 1e-5, atol: 1e-5, "db \(label)")
            }
        }
        for pass in ["forward", "input", "weight"] {
            for algo in [TL_CONV2D_ALGO_IM2COL, TL_CONV2D_ALGO_DIRECT, TL_CONV2D_ALGO_WINOGRAD] {
                XCTAssertTrue(used.contains("\(pass) \(algo)"), "no shape uses algorithm \(algo) for \(pass)")
            }
        }
    }

    /// Larger shapes (against the C reference, which the tests above tie to the Swift one) whose
    /// batch splits into several weight-gradient blocks; 1 and 2 threads must agree bitwise.
    func testOneAndTwoThreadsBitwiseEqual() throws {
        let cases = [
            Conv(n: 13, c: 6, h: 12, w: 11, k: 10),
            Conv(n: 1, c: 8, h: 20, w: 20, k: 12, sh: 2, sw: 2),
            Conv(n: 9, c: 8, h: 9, w: 9, k: 8, groups: 8),
            Conv(n: 10, c: 8, h: 10, w: 10, k: 16, r: 1, s: 1, ph: 0, pw: 0),
            Conv(n: 11, c: 16, h: 8, w: 8, k: 16),           // Winograd, several tile blocks and parts
            Conv(n: 5, c: 16, h: 56, w: 56, k: 16),          // Winograd, 31 tile blocks: tasks of 2 blocks, the last partial
            Conv(n: 6, c: 16, h: 60, w: 60, k: 16),          // Winograd, 43 tile blocks: tasks of 4 blocks, the last partial
            Conv(n: 1, c: 3, h: 30, w: 30, k: 8),            // direct, one image cut into parts
            Conv(n: 10, c: 6, h: 17, w: 17, k: 12, sh: 2, sw: 2), // several images per task, last one partial
            Conv(n: 1, c: 128, h: 6, w: 6, k: 128, sh: 2, sw: 2),  // im2col, one image: products split between threads
        ]
        for cv in cases {
            let (x, w, b, dy) = inputs(cv, seed: 900)
            let (fa, ba, wa) = cv.algorithms
            let y1 = try withThreads(1) { try cv.forward(x: x, weight: w, bias: b) }
            let y2 = try withThreads(2) { try cv.forward(x: x, weight: w, bias: b) }
            assertBitwiseEqual(y1, y2, "y \(cv)")
            assertClose(y1, try cv.forward(x: x, weight: w, bias: b, ref: true), rtol: cv.tolerance(fa), atol: cv.tolerance(fa), "y \(cv)")
            let g1 = try withThreads(1) { try cv.backward(dy: dy, x: x, weight: w) }
            let g2 = try withThreads(2) { try cv.backward(dy: dy, x: x, weight: w) }
            assertBitwiseEqual(g1.dx, g2.dx, "dx \(cv)")
            assertBitwiseEqual(g1.dw, g2.dw, "dw \(cv)")
            assertBitwiseEqual(g1.db, g2.db, "db \(cv)")
            let r = try cv.backward(dy: dy, x: x, weight: w, ref: true)
            assertClose(g1.dx, r.dx, rtol: cv.tolerance(ba), atol: cv.tolerance(ba), "dx \(cv)")
            assertClose(g1.dw, r.dw, rtol: cv.tolerance(wa), atol: 4 * cv.tolerance(wa), "dw \(cv)")
            assertClose(g1.db, r.db, rtol: 1e-4, atol: 1e-4, "db \(cv)")
        }
    }

    func testReleaseScratchThenReuse() throws {
        let cv = Conv(n: 4, c: 16, h: 9, w: 16, k: 8)
        let (x, w, b, _) = inputs(cv, seed: 1300)
        let before = try cv.forward(x: x, weight: w, bias: b)
        try tlCheck(tl_conv2d_release_scratch())
        assertBitwiseEqual(try cv.forward(x: x, weight: w, bias: b), before)
    }

    func testEmptyBatch() throws {
        var cv = shapes[0]
        cv.n = 0
        var y: [Float] = [1]
        try tlCheck(tl_conv2d_forward(&y, [0], randomFloats(cv.wCount, seed: 1), nil, cv.params))
        XCTAssertEqual(y, [1])
        var dw = [Float](repeating: .nan, count: cv.wCount), db = [Float](repeating: .nan, count: cv.k)
        try tlCheck(tl_conv2d_backward(nil, &dw, &db, [0], [0], nil, cv.params))
        XCTAssertTrue(dw.allSatisfy { $0 == 0 } && db.allSatisfy { $0 == 0 })
    }

    func testBadArguments() {
        let cv = shapes[0]
        let x = [Float](repeating: 0, count: cv.xCount), w = [Float](repeating: 0, count: cv.wCount)
        var y = [Float](repeating: 0, count: cv.yCount), dx = x, dw = w
        let p = cv.params
        assertFails(tl_conv2d_forward(nil, x, w, nil, p), TL_ERR_NULL_POINTER, mentioning: "y")
        assertFails(tl_conv2d_forward(&y, nil, w, nil, p), TL_ERR_NULL_POINTER, mentioning: "x")
        assertFails(tl_conv2d_forward(&y, x, nil, nil, p), TL_ERR_NULL_POINTER, mentioning: "w")
        assertFails(tl_conv2d_backward(&dx, nil, nil, nil, x, w, p), TL_ERR_NULL_POINTER, mentioning: "dy")
        assertFails(tl_conv2d_backward(nil, &dw, nil, y, nil, w, p), TL_ERR_NULL_POINTER, mentioning: "x")
        assertFails(tl_conv2d_backward(&dx, nil, nil, y, x, nil, p), TL_ERR_NULL_POINTER, mentioning: "w")
        assertFails(tl_conv2d_forward_ref(&y, x, nil, nil, p), TL_ERR_NULL_POINTER, mentioning: "tl_conv2d_forward_ref")
        var oh = 0, ow = 0
        assertFails(tl_conv2d_output_size(nil, &ow, p), TL_ERR_NULL_POINTER, mentioning: "out_h")
        assertFails(tl_conv2d_set_mode(8), TL_ERR_INVALID_ARGUMENT, mentioning: "mode")
        assertFails(tl_conv2d_set_mode(-1), TL_ERR_INVALID_ARGUMENT, mentioning: "mode")
        assertFails(tl_conv2d_algorithms(nil, nil, nil, Conv(groups: 3).params), TL_ERR_INVALID_ARGUMENT, mentioning: "groups")

        let bad: [(String, (inout tl_conv2d_params) -> Void)] = [
            ("batch", { $0.batch = -1 }), ("in_channels", { $0.in_channels = 0 }), ("in_h", { $0.in_h = -3 }),
            ("in_w", { $0.in_w = 0 }), ("out_channels", { $0.out_channels = 0 }), ("kernel_h", { $0.kernel_h = 0 }),
            ("kernel_w", { $0.kernel_w = -1 }), ("stride_h", { $0.stride_h = 0 }), ("stride_w", { $0.stride_w = -2 }),
            ("pad_h", { $0.pad_h = -1 }), ("pad_w", { $0.pad_w = -1 }), ("dilation_h", { $0.dilation_h = 0 }),
            ("dilation_w", { $0.dilation_w = 0 }), ("groups", { $0.groups = 0 }),
            ("divisible by groups", { $0.groups = 3 }),                       // 4 input channels
            ("divisible by groups", { $0.groups = 4; $0.out_channels = 6 }),  // 6 outputs
            ("output size", { $0.kernel_h = 10 }),                            // 7 + 2 < 10
            ("output size", { $0.pad_w = 0; $0.dilation_w = 4 }),             // dilated extent 9 > 7
        ]
        for (fragment, edit) in bad {
            var q = p
            edit(&q)
            assertFails(tl_conv2d_forward(&y, x, w, nil, q), TL_ERR_INVALID_ARGUMENT, mentioning: fragment)
            assertFails(tl_conv2d_backward(&dx, &dw, nil, y, x, w, q), TL_ERR_INVALID_ARGUMENT, mentioning: fragment)
            assertFails(tl_conv2d_output_size(&oh, &ow, q), TL_ERR_INVALID_ARGUMENT, mentioning: fragment)
        }
    }
}
