import TrainingLab

/// Layout and broadcasting kernels (include/tl_tensor.h) against loops over multi-indices.
extension KernelTable {
    static var tensor: [KernelRow] { [permute, broadcastBinary, sumToShape, extremeAxis, copyAxisBlock] }

    /// A shape holding lists as numbered entries: `x0 x1 ...` for list "x".
    static func listShape(_ lists: [(String, [Int])], _ options: [(String, Double)] = []) -> KernelShape {
        KernelShape(lists.flatMap { name, values in values.enumerated().map { ("\(name)\($0.offset)", Double($0.element)) } } + options)
    }

    static func list(_ s: KernelShape, _ name: String) -> [Int] {
        s.entries.filter { $0.name.hasPrefix(name) && Int($0.name.dropFirst(name.count)) != nil }.map { Int($0.value) }
    }

    private static var permute: KernelRow {
        let cases: [([Int], [Int])] = [([3, 5], [1, 0]), ([2, 3, 4, 5], [0, 2, 1, 3]), ([7, 1, 3], [2, 0, 1]), ([4, 3, 2, 5, 3], [4, 2, 0, 3, 1]),
                                       ([6], [0]), ([40, 33, 27], [2, 1, 0]), ([17, 33, 9, 13], [3, 1, 0, 2])]
        return KernelRow(
            name: "permute", family: "tensor", forward: "tl_permute", reference: "Swift: y[j] = x[i] with i[perm[k]] = j[k]", tolerance: .exact,
            shapes: cases.map { listShape([("d", $0.0), ("p", $0.1)]) }, benchShapes: [listShape([("d", [128, 64, 28, 28]), ("p", [0, 2, 3, 1])])],
            work: { s in (.bytes(8 * Double(list(s, "d").reduce(1, *))), nil) },
            note: "its backward is the inverse permutation (TensorKernelTests checks the round trip)",
            make: { s in
                let shape = list(s, "d"), perm = list(s, "p"), n = shape.reduce(1, *), c = KernelCase()
                let x = c.uniform("x", n), y = c.output("y", n)
                let out = perm.map { shape[$0] }
                c.forward { tl_permute(y.f, x.f, Int32(shape.count), shape, perm.map(Int32.init)) }
                c.reference {
                    ["y": (0..<n).map { o in
                        let j = Reference.multiIndex(o, out)
                        var i = [Int](repeating: 0, count: shape.count)
                        for k in perm.indices { i[perm[k]] = j[k] }
                        return x[Reference.flatIndex(i, shape)]
                    }]
                }
                return c
            })
    }

    private static var broadcastBinary: KernelRow {
        let cases: [([Int], [Int], [Int])] = [([4, 3], [1, 3], [4, 3]), ([4, 1], [1, 5], [4, 5]), ([2, 3, 4], [2, 3, 4], [2, 3, 4]),
                                              ([1, 1, 1], [3, 1, 7], [3, 1, 7]), ([5, 1, 3, 1], [1, 4, 1, 6], [5, 4, 3, 6]),
                                              ([17, 33, 9, 13], [1, 33, 1, 13], [17, 33, 9, 13])]
        let ops = [TL_BINARY_ADD, TL_BINARY_SUB, TL_BINARY_MUL, TL_BINARY_DIV]
        return KernelRow(
            name: "broadcast_binary", family: "tensor", forward: "tl_broadcast_binary", reference: "Swift: a[i] op b[i] with size-1 dims repeated",
            tolerance: .exact, shapes: cases.flatMap { c in ops.map { listShape([("a", c.0), ("b", c.1), ("y", c.2)], [("op", Double($0.rawValue))]) } },
            benchShapes: [listShape([("a", [128, 64, 28, 28]), ("b", [1, 64, 1, 1]), ("y", [128, 64, 28, 28])], [("op", Double(TL_BINARY_MUL.rawValue))])],
            work: { s in (.bytes(8 * Double(list(s, "y").reduce(1, *))), nil) },
            note: "its backward is tl_sum_to_shape of the upstream gradient (a row of its own)",
            make: { s in
                let (aShape, bShape, yShape) = (list(s, "a"), list(s, "b"), list(s, "y")), op = s.int("op"), c = KernelCase()
                let a = c.uniform("a", aShape.reduce(1, *)), b = c.uniform("b", bShape.reduce(1, *), 0.5, 2)
                let y = c.output("y", yShape.reduce(1, *))
                c.forward { tl_broadcast_binary(Int32(op), y.f, a.f, aShape, b.f, bShape, yShape, Int32(yShape.count)) }
                c.reference {
                    let f = { (x: Float, y: Float) -> Float in
                        switch op {
                        case 0: return x + y
                        case 1: return x - y
                        case 2: return x * y
                        default: return x / y
                        }
                    }
                    return ["y": (0..<y.count).map { o in
                        let i = Reference.multiIndex(o, yShape)
                        return Double(f(a.f[Reference.flatIndex(i, aShape)], b.f[Reference.flatIndex(i, bShape)]))
                    }]
                }
                return c
            })
    }

    private static var sumToShape: KernelRow {
        let cases: [([Int], [Int])] = [([4, 3], [1, 3]), ([4, 3], [4, 1]), ([5, 4, 3, 6], [1, 4, 1, 6]), ([3, 7, 2], [1, 1, 1]), ([3, 7], [3, 7]),
                                       ([17, 33, 9, 13], [1, 33, 1, 13])]
        return KernelRow(
            name: "sum_to_shape", family: "tensor", forward: "tl_sum_to_shape", reference: "Swift: sums over the reduced dims in Double",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-6), shapes: cases.map { listShape([("x", $0.0), ("o", $0.1)]) },
            benchShapes: [listShape([("x", [128, 64, 28, 28]), ("o", [1, 64, 1, 1])])],
            work: { s in (.bytes(4 * Double(list(s, "x").reduce(1, *))), nil) }, note: "the backward of a broadcast; linear, no backward of its own",
            make: { s in
                let (xShape, oShape) = (list(s, "x"), list(s, "o")), c = KernelCase()
                let x = c.uniform("x", xShape.reduce(1, *)), out = c.output("out", oShape.reduce(1, *))
                c.forward { tl_sum_to_shape(out.f, x.f, xShape, oShape, Int32(xShape.count)) }
                c.reference {
                    var sums = [Double](repeating: 0, count: out.count)
                    for i in 0..<x.count { sums[Reference.flatIndex(Reference.multiIndex(i, xShape), oShape)] += x[i] }
                    return ["out": sums]
                }
                return c
            })
    }

    private static var extremeAxis: KernelRow {
        let shape = { (d: [Int], minimum: Double, ramp: Double) -> KernelShape in
            ["outer": Double(d[0]), "axis": Double(d[1]), "inner": Double(d[2]), "minimum": minimum, "ramp": ramp]
        }
        return KernelRow(
            name: "extreme_axis", family: "tensor", forward: "tl_extreme_axis_forward", backward: "tl_extreme_axis_backward",
            reference: "Swift: first maximum (minimum) along the axis, NaN skipped; dout scattered to it", tolerance: .exact, backwardTolerance: .exact,
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 1e-3, rel: 1e-2),
                                                 shapes: [shape([3, 5, 4], 0, 1), shape([2, 7, 3], 1, 1)]),
            shapes: [[3, 5, 4], [1, 1, 1], [4, 9, 1], [17, 33, 117]].flatMap { [shape($0, 0, 0), shape($0, 1, 0)] },
            benchShapes: [shape([128, 1000, 1], 0, 0)],
            work: { s in let e = s.value("outer") * s.value("axis") * s.value("inner"); return (.bytes(4 * e), .bytes(4 * e)) },
            note: "test inputs are rounded to quarters (many ties) with a NaN first entry; finite-difference inputs are distinct ramps",
            make: { s in
                let (o, a, i) = (s.int("outer"), s.int("axis"), s.int("inner")), minimum = Int32(s.int("minimum")), c = KernelCase()
                var values = s.flag("ramp") ? Reference.distinctPlanes(1, o * a * i, seed: c.seed())
                                            : kernelRandom(o * a * i, seed: c.seed()).map { ($0 * 4).rounded() }
                if !s.flag("ramp") { values[0] = .nan }  // a NaN first entry is replaced by the first number
                let x = c.input("x", values, gradient: true)
                let out = c.output("out", o * i, gradient: true), index = c.output("index", o * i, .i64)
                c.forward { tl_extreme_axis_forward(out.f, index.i64, x.f, o, a, i, minimum) }
                c.backward { tl_extreme_axis_backward(x.grad.f, out.up.f, index.i64, o, a, i) }
                let pick = { (k: Int) -> (value: Double, at: Int) in
                    var best = (value: Double.nan, at: 0)
                    for j in 0..<a {
                        let v = x[(k / i * a + j) * i + k % i]
                        if v.isNaN { continue }
                        if best.value.isNaN || (minimum != 0 ? v < best.value : v > best.value) { best = (v, j) }
                    }
                    return best
                }
                c.reference { ["out": (0..<(o * i)).map { pick($0).value }, "index": (0..<(o * i)).map { Double(pick($0).at) }] }
                c.referenceBackward {
                    var dx = [Double](repeating: 0, count: x.count)
                    for k in 0..<(o * i) { dx[(k / i * a + pick(k).at) * i + k % i] = out.up[k] }
                    return ["dx": dx]
                }
                return c
            })
    }

    private static var copyAxisBlock: KernelRow {
        let shape = { (d: [Int]) -> KernelShape in
            ["outer": Double(d[0]), "src_axis": Double(d[1]), "src_start": Double(d[2]), "dst_axis": Double(d[3]), "dst_start": Double(d[4]),
             "length": Double(d[5]), "inner": Double(d[6])]
        }
        return KernelRow(
            name: "copy_axis_block", family: "tensor", forward: "tl_copy_axis_block", reference: "Swift: the block copied, the rest of dst untouched",
            tolerance: .exact, shapes: [[3, 7, 4, 5, 1, 3, 2], [1, 1, 0, 1, 0, 1, 1], [2, 9, 0, 20, 11, 9, 33], [40, 64, 10, 32, 0, 32, 100]].map(shape),
            benchShapes: [shape([128, 64, 0, 128, 64, 64, 784])],
            work: { s in (.bytes(8 * s.value("outer") * s.value("length") * s.value("inner")), nil) },
            note: "slicing, concatenating and stacking are this one copy; its backward is the copy back; no backward of its own",
            make: { s in
                let (o, sa, ss, da, ds, len, i) = (s.int("outer"), s.int("src_axis"), s.int("src_start"), s.int("dst_axis"), s.int("dst_start"),
                                                   s.int("length"), s.int("inner"))
                let c = KernelCase()
                let src = c.uniform("src", o * sa * i), dst = c.uniform("dst", o * da * i, 5, 6)
                c.inPlace(dst)
                c.forward { tl_copy_axis_block(dst.f, da, ds, src.f, sa, ss, o, len, i) }
                c.reference {
                    var v = dst.values
                    for oo in 0..<o { for j in 0..<len { for k in 0..<i { v[(oo * da + ds + j) * i + k] = src[(oo * sa + ss + j) * i + k] } } }
                    return ["dst": v]
                }
                return c
            })
    }
}

extension Reference {
    /// Multi-index of flat position `flat` in a row-major `shape`.
    public static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        return shape.indices.reversed().map { d -> Int in defer { rest /= shape[d] }; return rest % shape[d] }.reversed()
    }

    /// Flat position of a multi-index in `shape`, reading dims of size 1 at 0 (broadcast).
    public static func flatIndex(_ index: [Int], _ shape: [Int]) -> Int {
        var flat = 0
        for d in shape.indices { flat = flat * shape[d] + (shape[d] == 1 ? 0 : index[d]) }
        return flat
    }
}
