import TrainingLab

/// Pooling (include/tl_pool.h).
extension KernelTable {
    static var pool: [KernelRow] { [maxPool, avgPool(includePad: false), avgPool(includePad: true), globalAvgPool] }

    /// The 2x2 stride-2 fast path (odd sizes with an unused last row/column; OW = 17, 8, 14), a ResNet-stem
    /// window with padding, a stride-1 window padded on every side, different geometry per axis, stride >
    /// kernel, a 1x1 kernel, a window as large as the input, a single pixel; then larger planes for the
    /// thread split.
    static let poolShapes: [KernelShape] = [
        poolShape(2, 3, 8, 8, 2, 2, 2, 2, 0, 0), poolShape(1, 2, 7, 9, 2, 2, 2, 2, 0, 0), poolShape(1, 1, 2, 34, 2, 2, 2, 2, 0, 0),
        poolShape(1, 2, 4, 16, 2, 2, 2, 2, 0, 0), poolShape(2, 1, 3, 29, 2, 2, 2, 2, 0, 0), poolShape(2, 2, 9, 7, 3, 3, 2, 2, 1, 1),
        poolShape(1, 2, 5, 5, 3, 3, 1, 1, 1, 1), poolShape(1, 1, 4, 6, 2, 3, 3, 1, 1, 0), poolShape(2, 1, 7, 7, 2, 2, 3, 3, 0, 0),
        poolShape(1, 3, 3, 5, 1, 1, 1, 2, 0, 0), poolShape(1, 2, 5, 6, 5, 6, 1, 1, 2, 3), poolShape(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
        poolShape(4, 16, 32, 32, 2, 2, 2, 2, 0, 0), poolShape(4, 8, 33, 31, 3, 3, 2, 2, 1, 1),
    ]

    /// Training-size planes (smallcnn's and resnet20's first layers) and one DRAM-sized shape.
    static let poolBenchShapes = [poolShape(128, 32, 28, 28, 2, 2, 2, 2, 0, 0), poolShape(128, 16, 32, 32, 2, 2, 2, 2, 0, 0),
                                  poolShape(128, 64, 56, 56, 2, 2, 2, 2, 0, 0)]

    public static func poolShape(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ kh: Int, _ kw: Int, _ sh: Int, _ sw: Int, _ ph: Int,
                          _ pw: Int) -> KernelShape {
        KernelShape([("n", n), ("c", c), ("h", h), ("w", w), ("kh", kh), ("kw", kw), ("sh", sh), ("sw", sw), ("ph", ph), ("pw", pw),
                     ("oh", (h + 2 * ph - kh) / sh + 1), ("ow", (w + 2 * pw - kw) / sw + 1)].map { ($0.0, Double($0.1)) })
    }

    private static var maxPool: KernelRow {
        KernelRow(
            name: "maxpool2d", family: "pool", forward: "tl_maxpool2d_forward", backward: "tl_maxpool2d_backward",
            reference: "Swift: first maximum of each window (padding never wins), dy scattered to it",
            tolerance: .exact, backwardTolerance: Tolerance(abs: 1e-7, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2),
                                                 shapes: poolShapes.prefix(12).map { $0.with("ramp", 1) }),
            shapes: poolShapes, benchShapes: poolBenchShapes,
            work: { s in let bytes = 4 * poolCount(s, "h", "w") + 8 * poolCount(s, "oh", "ow"); return (.bytes(bytes), .bytes(bytes)) },
            note: "finite-difference inputs are shuffled ramps per plane (gaps >= 0.08) so that no probe changes a window's winner",
            make: { s in
                let g = PoolGeometry(s), c = KernelCase()
                let x = c.input("x", s.has("ramp") ? Reference.distinctPlanes(g.planes, g.h * g.w, seed: c.seed())
                                                   : kernelRandom(g.planes * g.h * g.w, seed: c.seed(), low: -5, high: 5), gradient: true)
                let y = c.output("y", g.outCount, gradient: true)
                let idx = c.output("idx", g.outCount, .i32)
                c.forward { tl_maxpool2d_forward(y.f, idx.i32, x.f, g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw) }
                c.backward { tl_maxpool2d_backward(x.grad.f, y.up.f, idx.i32, g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw) }
                c.reference {
                    let r = Reference.maxPool(x.values, g)
                    return ["y": r.y, "idx": r.idx.map(Double.init)]
                }
                c.referenceBackward {
                    let idx = Reference.maxPool(x.values, g).idx, dy = y.up.values
                    var dx = [Double](repeating: 0, count: x.count)
                    for o in 0..<g.outCount { dx[o / (g.oh * g.ow) * g.h * g.w + idx[o]] += dy[o] }
                    return ["dx": dx]
                }
                return c
            })
    }

    private static func avgPool(includePad: Bool) -> KernelRow {
        KernelRow(
            name: includePad ? "avgpool2d_include_pad" : "avgpool2d", family: "pool", forward: "tl_avgpool2d_forward",
            backward: "tl_avgpool2d_backward", reference: "Swift: window means in Double",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-5),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: Array(poolShapes.prefix(12))),
            shapes: poolShapes, benchShapes: [poolBenchShapes[0]],
            work: { s in let bytes = 4 * poolCount(s, "h", "w") + 4 * poolCount(s, "oh", "ow"); return (.bytes(bytes), .bytes(bytes)) },
            note: "count_include_pad \(includePad ? 1 : 0)",
            make: { s in
                let g = PoolGeometry(s), c = KernelCase(), pad: Int32 = includePad ? 1 : 0
                let x = c.uniform("x", g.planes * g.h * g.w, -5, 5, gradient: true)
                let y = c.output("y", g.outCount, gradient: true)
                c.forward { tl_avgpool2d_forward(y.f, x.f, g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, pad) }
                c.backward { tl_avgpool2d_backward(x.grad.f, y.up.f, g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, pad) }
                c.reference { ["y": Reference.avgPool(x.values, g, includePad: includePad)] }
                return c
            })
    }

    private static var globalAvgPool: KernelRow {
        KernelRow(
            name: "global_avgpool2d", family: "pool", forward: "tl_global_avgpool2d_forward", backward: "tl_global_avgpool2d_backward",
            reference: "Swift: plane means in Double", tolerance: Tolerance(abs: 1e-7, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-4, rel: 1e-2),
                                                 shapes: [[1, 1, 1, 1], [2, 3, 5, 7], [3, 2, 8, 8], [1, 4, 1, 17]].map { nchw($0) }),
            shapes: [[1, 1, 1, 1], [2, 3, 5, 7], [3, 2, 8, 8], [1, 4, 1, 17], [4, 16, 32, 32], [4, 8, 33, 31]].map { nchw($0) },
            benchShapes: [nchw([128, 64, 8, 8])],
            work: { s in let bytes = 4 * (s.value("n") * s.value("c") * (s.value("h") * s.value("w") + 1)); return (.bytes(bytes), .bytes(bytes)) },
            make: { s in
                let (n, ch, h, w) = (s.int("n"), s.int("c"), s.int("h"), s.int("w")), c = KernelCase()
                let x = c.uniform("x", n * ch * h * w, -2, 3, gradient: true)
                let y = c.output("y", n * ch, gradient: true)
                c.forward { tl_global_avgpool2d_forward(y.f, x.f, n, ch, h, w) }
                c.backward { tl_global_avgpool2d_backward(x.grad.f, y.up.f, n, ch, h, w) }
                c.reference {
                    let v = x.values
                    return ["y": (0..<(n * ch)).map { p in v[(p * h * w)..<((p + 1) * h * w)].reduce(0, +) / Double(h * w) }]
                }
                return c
            })
    }

    static func nchw(_ d: [Int]) -> KernelShape { ["n": Double(d[0]), "c": Double(d[1]), "h": Double(d[2]), "w": Double(d[3])] }

    private static func poolCount(_ s: KernelShape, _ h: String, _ w: String) -> Double { s.value("n") * s.value("c") * s.value(h) * s.value(w) }
}

/// The geometry of a pooling shape.
public struct PoolGeometry {
    public let n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow: Int
    public var planes: Int { n * c }
    public var outCount: Int { n * c * oh * ow }

    public init(_ s: KernelShape) {
        (n, c, h, w) = (s.int("n"), s.int("c"), s.int("h"), s.int("w"))
        (kh, kw, sh, sw, ph, pw) = (s.int("kh"), s.int("kw"), s.int("sh"), s.int("sw"), s.int("ph"), s.int("pw"))
        (oh, ow) = (s.int("oh"), s.int("ow"))
    }

    /// In-bounds rows and columns of output (y, x)'s window.
    public func window(_ y: Int, _ x: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let h0 = y * sh - ph, w0 = x * sw - pw
        return (max(h0, 0)..<min(h0 + kh, h), max(w0, 0)..<min(w0 + kw, w))
    }
}

extension Reference {
    /// Max pooling: the first maximum of each window in row-major order (padding never wins; NaN wins) and
    /// its flat offset in the input plane.
    public static func maxPool(_ x: [Double], _ g: PoolGeometry) -> (y: [Double], idx: [Int]) {
        var y = [Double](repeating: 0, count: g.outCount), idx = [Int](repeating: -1, count: g.outCount)
        for p in 0..<g.planes {
            for oy in 0..<g.oh {
                for ox in 0..<g.ow {
                    let (rows, cols) = g.window(oy, ox)
                    var best = -Double.infinity, bi = rows.lowerBound * g.w + cols.lowerBound
                    for r in rows {
                        for c in cols {
                            let v = x[p * g.h * g.w + r * g.w + c]
                            if best.isNaN { continue }
                            if v > best || v.isNaN { best = v; bi = r * g.w + c }
                        }
                    }
                    y[(p * g.oh + oy) * g.ow + ox] = best
                    idx[(p * g.oh + oy) * g.ow + ox] = bi
                }
            }
        }
        return (y, idx)
    }

    /// Average pooling with either divisor (kh kw, or the in-bounds count).
    public static func avgPool(_ x: [Double], _ g: PoolGeometry, includePad: Bool) -> [Double] {
        var y = [Double](repeating: 0, count: g.outCount)
        for p in 0..<g.planes {
            for oy in 0..<g.oh {
                for ox in 0..<g.ow {
                    let (rows, cols) = g.window(oy, ox)
                    var sum = 0.0
                    for r in rows { for c in cols { sum += x[p * g.h * g.w + r * g.w + c] } }
                    y[(p * g.oh + oy) * g.ow + ox] = sum / Double(includePad ? g.kh * g.kw : rows.count * cols.count)
                }
            }
        }
        return y
    }

    /// Each plane a shuffled evenly spaced ramp over [-3, 3): gaps of 6 / plane between any two values.
    public static func distinctPlanes(_ planes: Int, _ plane: Int, seed: UInt64) -> [Float] {
        let keys = kernelRandom(planes * plane, seed: seed)
        var x = [Float](repeating: 0, count: planes * plane)
        for p in 0..<planes {
            let order = (0..<plane).sorted { keys[p * plane + $0] < keys[p * plane + $1] }
            for (rank, i) in order.enumerated() { x[p * plane + i] = -3 + 6 * Float(rank) / Float(plane) }
        }
        return x
    }
}
