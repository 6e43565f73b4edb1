import XCTest
import KernelTable
import TrainingLab

/// One convolution shape (a shape of the kernel table's conv2d row) and calls of the kernels on arrays.
private struct Conv: CustomStringConvertible {
    let shape: KernelShape

    init(_ shape: KernelShape) { self.shape = shape }

    init(n: Int = 2, c: Int = 4, h: Int = 7, w: Int = 7, k: Int = 6, groups: Int = 1) {
        shape = KernelTable.convShape(n: n, c: c, h: h, w: w, k: k, groups: groups)
    }

    var params: tl_conv2d_params { KernelTable.convParams(shape) }
    var oh: Int { shape.int("oh") }
    var ow: Int { shape.int("ow") }
    var k: Int { shape.int("k") }
    var xCount: Int { shape.int("n") * shape.int("c") * shape.int("h") * shape.int("w") }
    var wCount: Int { k * shape.int("c") / shape.int("groups") * shape.int("r") * shape.int("s") }
    var yCount: Int { shape.int("n") * k * oh * ow }
    var description: String { shape.description }

    func forward(x: [Float], weight: [Float], bias: [Float]?) throws -> [Float] {
        var y = [Float](repeating: .nan, count: yCount)
        try tlCheck(tl_conv2d_forward(&y, x, weight, bias, params))
        return y
    }

    /// The implementations tl_conv2d picks for (forward, input gradient, weight gradient).
    var algorithms: (forward: Int32, input: Int32, weight: Int32) {
        var f: Int32 = -1, i: Int32 = -1, w: Int32 = -1
        XCTAssertEqual(tl_conv2d_algorithms(&f, &i, &w, params), 0)
        return (f, i, w)
    }

    func backward(dy: [Float], x: [Float], weight: [Float], wantDx: Bool = true, wantDw: Bool = true,
                  wantDb: Bool = true) throws -> (dx: [Float], dw: [Float], db: [Float]) {
        // NaN-filled outputs: a gradient that is accumulated into instead of overwritten shows up.
        var dx = [Float](repeating: .nan, count: xCount), dwt = [Float](repeating: .nan, count: wCount)
        var db = [Float](repeating: .nan, count: k)
        try dx.withUnsafeMutableBufferPointer { dxp in
            try dwt.withUnsafeMutableBufferPointer { dwp in
                try db.withUnsafeMutableBufferPointer { dbp in
                    try tlCheck(tl_conv2d_backward(wantDx ? dxp.baseAddress : nil, wantDw ? dwp.baseAddress : nil,
                                                   wantDb ? dbp.baseAddress : nil, dy, x, weight, params))
                }
            }
        }
        return (dx, dwt, db)
    }
}

/// Convolution beyond the kernel table's checks (forward, backward, finite differences, threads and every
/// implementation at every shape are rows of the table): output sizes, NULL gradient outputs, the
/// implementation coverage of the table's shapes, scratch release, empty batches and bad arguments.
final class ConvTests: XCTestCase {
    private let shapes = KernelTable.convEdgeShapes.map(Conv.init)

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
        try tlCheck(tl_conv2d_output_size(&oh, &ow, KernelTable.convParams(KernelTable.convShape(h: 32, w: 32, sh: 2, sw: 2))))
        XCTAssertEqual([oh, ow], [16, 16])
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

    /// The table's edge shapes under its implementation modes reach every (pass, implementation) pair, so the
    /// table's checks cover Winograd, direct and im2col in all three passes.
    func testTableShapesReachEveryImplementation() throws {
        var used = Set<String>()
        defer { _ = tl_conv2d_set_mode(Int32(TL_CONV2D_AUTO)) }
        for mode in KernelTable.convModes {
            try tlCheck(tl_conv2d_set_mode(mode))
            for cv in shapes {
                let (fa, ba, wa) = cv.algorithms
                used.formUnion(["forward \(fa)", "input \(ba)", "weight \(wa)"])
            }
        }
        for pass in ["forward", "input", "weight"] {
            for algo in [TL_CONV2D_ALGO_IM2COL, TL_CONV2D_ALGO_DIRECT, TL_CONV2D_ALGO_WINOGRAD] {
                XCTAssertTrue(used.contains("\(pass) \(algo)"), "no shape uses algorithm \(algo) for \(pass)")
            }
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
        let cv = Conv(n: 0)
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
