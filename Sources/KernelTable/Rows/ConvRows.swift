import TrainingLab

/// 2-D convolution (include/tl_conv.h) against the core's direct-loop references.
extension KernelTable {
    static var conv: [KernelRow] { [conv2d] }

    /// Implementation switches of tl_conv2d_set_mode the shapes run under: every implementation (Winograd,
    /// direct with AVX-512 and AVX2 kernels, im2col) on every shape it accepts.
    public static let convModes: [Int32] = [
        Int32(TL_CONV2D_AUTO), Int32(TL_CONV2D_NO_AVX512), Int32(TL_CONV2D_NO_DIRECT), Int32(TL_CONV2D_NO_WINOGRAD),
        Int32(TL_CONV2D_NO_WINOGRAD | TL_CONV2D_NO_AVX512), Int32(TL_CONV2D_NO_WINOGRAD | TL_CONV2D_NO_DIRECT),
    ]

    /// Edge cases (batch 1, odd sizes, stride > kernel, dilation, groups, depthwise, 1x1, padding 0 and 2,
    /// rectangular kernels and strides), then shapes for the optimised paths: wide rows (several 16-float
    /// chunks), strides 2 and 3, several images per task, and Winograd-eligible ones (3x3 stride 1, >= 8
    /// channels per group) with every padding it takes and partial edge tiles. Each runs in every mode.
    public static let convEdgeShapes: [KernelShape] = [
        convShape(), convShape(n: 1, c: 3, h: 9, w: 11, k: 5), convShape(n: 2, c: 3, h: 8, w: 8, k: 4, sh: 2, sw: 2),
        convShape(n: 1, c: 2, h: 10, w: 9, k: 3, r: 2, s: 2, sh: 3, sw: 3, ph: 0, pw: 0),
        convShape(n: 2, c: 2, h: 9, w: 9, k: 3, ph: 2, pw: 2, dh: 2, dw: 2),
        convShape(n: 2, c: 4, h: 6, w: 7, k: 6, groups: 2), convShape(n: 2, c: 5, h: 7, w: 6, k: 5, groups: 5),
        convShape(n: 2, c: 4, h: 5, w: 5, k: 8, groups: 4), convShape(n: 3, c: 5, h: 6, w: 5, k: 7, r: 1, s: 1, ph: 0, pw: 0),
        convShape(n: 2, c: 4, h: 7, w: 7, k: 3, r: 1, s: 1, sh: 2, sw: 2, ph: 0, pw: 0),
        convShape(n: 1, c: 3, h: 5, w: 6, k: 2, ph: 0, pw: 0), convShape(n: 2, c: 2, h: 4, w: 5, k: 3, ph: 2, pw: 2),
        convShape(n: 2, c: 3, h: 8, w: 7, k: 4, r: 3, s: 2, sh: 2, sw: 1, ph: 1, pw: 0, dh: 1, dw: 2),
        convShape(n: 1, c: 2, h: 1, w: 9, k: 2, r: 1, s: 5, ph: 0, pw: 2), convShape(n: 2, c: 1, h: 7, w: 7, k: 1),
        convShape(n: 3, c: 2, h: 13, w: 3, k: 4, r: 5, s: 3, sh: 2, sw: 1, ph: 2, pw: 1),
        convShape(n: 2, c: 3, h: 5, w: 37, k: 5, sh: 2, sw: 2), convShape(n: 1, c: 2, h: 4, w: 53, k: 4, sh: 2, sw: 2, ph: 0, pw: 2),
        convShape(n: 2, c: 2, h: 7, w: 12, k: 6, r: 2, s: 4, sh: 2, sw: 2, ph: 2, pw: 0),
        convShape(n: 2, c: 5, h: 9, w: 11, k: 4, sh: 2, sw: 2), convShape(n: 2, c: 4, h: 10, w: 41, k: 4, sh: 3, sw: 3, ph: 0, pw: 1),
        convShape(n: 1, c: 6, h: 8, w: 9, k: 5, sh: 2, sw: 1, ph: 1, pw: 2, dh: 1, dw: 2), convShape(n: 8, c: 3, h: 5, w: 16, k: 5),
        convShape(n: 3, c: 5, h: 4, w: 16, k: 6, r: 1, s: 2, ph: 0, pw: 0),  // 10 taps: bias folded into dw
        convShape(n: 2, c: 4, h: 6, w: 64, k: 3, r: 1, s: 1, sh: 2, sw: 2, ph: 0, pw: 0),  // input-gradient phases without taps
        convShape(n: 2, c: 3, h: 11, w: 19, k: 5, sh: 3, sw: 3), convShape(n: 1, c: 4, h: 3, w: 40, k: 9, ph: 0, pw: 2),
        convShape(n: 2, c: 8, h: 9, w: 7, k: 8), convShape(n: 3, c: 8, h: 10, w: 13, k: 9, ph: 0, pw: 2),
        convShape(n: 1, c: 16, h: 6, w: 5, k: 16, ph: 2, pw: 0, groups: 2), convShape(n: 1, c: 8, h: 26, w: 23, k: 8),
    ]

    private static var conv2d: KernelRow {
        var shapes = convModes.flatMap { mode in convEdgeShapes.map { $0.with("mode", Double(mode)) } }
        shapes += convEdgeShapes.map { $0.with("bias", 0) }
        // Larger shapes whose batch splits into several weight-gradient blocks, for the 1 vs 2 threads check.
        shapes += [
            convShape(n: 13, c: 6, h: 12, w: 11, k: 10), convShape(n: 1, c: 8, h: 20, w: 20, k: 12, sh: 2, sw: 2),
            convShape(n: 9, c: 8, h: 9, w: 9, k: 8, groups: 8), convShape(n: 10, c: 8, h: 10, w: 10, k: 16, r: 1, s: 1, ph: 0, pw: 0),
            convShape(n: 11, c: 16, h: 8, w: 8, k: 16),   // Winograd, several tile blocks and parts
            convShape(n: 5, c: 16, h: 56, w: 56, k: 16),  // Winograd, 31 tile blocks: tasks of 2 blocks, the last partial
            convShape(n: 6, c: 16, h: 60, w: 60, k: 16),  // Winograd, 43 tile blocks: tasks of 4 blocks, the last partial
            convShape(n: 1, c: 3, h: 30, w: 30, k: 8),    // direct, one image cut into parts
            convShape(n: 10, c: 6, h: 17, w: 17, k: 12, sh: 2, sw: 2),  // several images per task, last one partial
            convShape(n: 1, c: 128, h: 6, w: 6, k: 128, sh: 2, sw: 2),  // im2col, one image: products split between threads
        ]
        return KernelRow(
            name: "conv2d", family: "conv", forward: "tl_conv2d_forward", backward: "tl_conv2d_backward",
            reference: "tl_conv2d_forward_ref, tl_conv2d_backward_ref (C, direct loops, double accumulation)",
            tolerance: Tolerance(abs: 2e-6, rel: 2e-6, growth: "taps"), backwardTolerance: Tolerance(abs: 2e-6, rel: 2e-6, growth: "taps"),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 2e-3, rel: 1e-2),
                                                 shapes: [0, 2, 4, 5, 6, 12].map { convEdgeShapes[$0] }),
            shapes: shapes,
            benchShapes: [convShape(n: 128, c: 64, h: 8, w: 8, k: 64)],
            work: { s in
                let macs = s.value("n") * s.value("k") * s.value("oh") * s.value("ow") * s.value("c") / s.value("groups")
                    * s.value("r") * s.value("s")
                return (.flops(2 * macs), .flops(4 * macs))
            },
            note: "every edge shape under every mode of tl_conv2d_set_mode, and without bias; Winograd passes compared at "
                + "1.5e-5 sqrt(taps) (it rounds differently from the direct sum); weight and bias gradients of long sums (n oh ow > 2000) at 4x",
            make: makeConv)
    }

    /// A convolution shape with its output size (oh, ow), bias 1 and mode auto unless given.
    public static func convShape(n: Int = 2, c: Int = 4, h: Int = 7, w: Int = 7, k: Int = 6, r: Int = 3, s: Int = 3, sh: Int = 1,
                                 sw: Int = 1, ph: Int = 1, pw: Int = 1, dh: Int = 1, dw: Int = 1, groups: Int = 1) -> KernelShape {
        let oh = (h + 2 * ph - dh * (r - 1) - 1) / sh + 1, ow = (w + 2 * pw - dw * (s - 1) - 1) / sw + 1
        return KernelShape([("n", n), ("c", c), ("h", h), ("w", w), ("k", k), ("r", r), ("s", s), ("sh", sh), ("sw", sw), ("ph", ph),
                            ("pw", pw), ("dh", dh), ("dw", dw), ("groups", groups), ("oh", oh), ("ow", ow), ("taps", c / groups * r * s), ("bias", 1),
                            ("mode", Int(TL_CONV2D_AUTO))].map { ($0.0, Double($0.1)) })
    }

    public static func convParams(_ s: KernelShape) -> tl_conv2d_params {
        tl_conv2d_params(batch: s.int("n"), in_channels: s.int("c"), in_h: s.int("h"), in_w: s.int("w"), out_channels: s.int("k"),
                         kernel_h: s.int("r"), kernel_w: s.int("s"), stride_h: s.int("sh"), stride_w: s.int("sw"), pad_h: s.int("ph"),
                         pad_w: s.int("pw"), dilation_h: s.int("dh"), dilation_w: s.int("dw"), groups: s.int("groups"))
    }

    /// Runs `body` under implementation mode `mode`, then back to automatic.
    static func inConvMode<T>(_ mode: Int32, _ body: () -> T) -> T {
        _ = tl_conv2d_set_mode(mode)
        defer { _ = tl_conv2d_set_mode(Int32(TL_CONV2D_AUTO)) }
        return body()
    }

    private static func makeConv(_ s: KernelShape) throws -> KernelCase {
        let p = convParams(s), mode = Int32(s.int("mode")), bias = s.flag("bias")
        let (n, c, k) = (s.int("n"), s.int("c"), s.int("k"))
        let kc = KernelCase()
        let x = kc.uniform("x", n * c * s.int("h") * s.int("w"), gradient: true)
        let w = kc.uniform("w", k * c / s.int("groups") * s.int("r") * s.int("s"), gradient: true)
        let b = bias ? kc.uniform("b", k, gradient: true) : nil
        // Winograd rounds differently from the direct sum: its error is about 1e-5 of the output scale, which
        // grows with the square root of the taps (inputs and weights in [-1, 1)).
        var algorithms: (Int32, Int32, Int32) = (-1, -1, -1)
        try tlCheck(inConvMode(mode) { tl_conv2d_algorithms(&algorithms.0, &algorithms.1, &algorithms.2, p) })
        // The direct sums' rounding grows with their length (taps = C_in/groups kh kw).
        let tolerance = { (a: Int32) in
            Tolerance(abs: a == Int32(TL_CONV2D_ALGO_WINOGRAD) ? 1.5e-5 : 2e-6, rel: a == Int32(TL_CONV2D_ALGO_WINOGRAD) ? 1.5e-5 : 2e-6,
                      growth: "taps")
        }
        let y = kc.output("y", n * k * s.int("oh") * s.int("ow"), gradient: true, tolerance: tolerance(algorithms.0))
        kc.gradientTolerance("x", tolerance(algorithms.1))
        // The weight and bias gradients sum over the batch and the image: the larger shapes need more room.
        let long = n * s.int("oh") * s.int("ow") > 2000
        let weight = tolerance(algorithms.2).at(s)
        kc.gradientTolerance("w", Tolerance(abs: (long ? 4 : 1) * weight.abs, rel: weight.rel))
        if bias { kc.gradientTolerance("b", long ? Tolerance(abs: 1e-4, rel: 1e-4) : Tolerance(abs: 1e-5, rel: 1e-5)) }
        kc.forward { inConvMode(mode) { tl_conv2d_forward(y.f, x.f, w.f, b?.f, p) } }
        kc.backward { inConvMode(mode) { tl_conv2d_backward(x.grad.f, w.grad.f, b?.grad.f, y.up.f, x.f, w.f, p) } }
        kc.reference {
            var out = [Float](repeating: 0, count: y.count)
            _ = tl_conv2d_forward_ref(&out, x.f, w.f, b?.f, p)
            return ["y": out.map(Double.init)]
        }
        kc.referenceBackward {
            var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
            var db = [Float](repeating: 0, count: k)
            _ = db.withUnsafeMutableBufferPointer { tl_conv2d_backward_ref(&dx, &dw, bias ? $0.baseAddress : nil, y.up.f, x.f, w.f, p) }
            var out = ["dx": dx.map(Double.init), "dw": dw.map(Double.init)]
            if bias { out["db"] = db.map(Double.init) }
            return out
        }
        return kc
    }
}
