import TrainingLab

/// Sparsity (include/tl_sparse.h): masks, top-k, and the group kernels over OTOv2-style groups that span
/// several tensors, against references that walk each group's flat member list.
extension KernelTable {
    static var sparse: [KernelRow] {
        [maskApply, countNonzero, topK, topKGlobal, groupNorms, groupStats, groupZero, groupAxpy, halfSpace]
    }

    private static var maskApply: KernelRow {
        let shapes: [KernelShape] = [1, 5, 33, 100_003].flatMap { n in [(1.0, 1.0), (1, 0), (0, 1)].map { ["n": Double(n), "w": $0.0, "g": $0.1] } }
        return KernelRow(
            name: "sparse_mask_apply", family: "sparse", forward: "tl_sparse_mask_apply", reference: "Swift: 0 where the mask is 0",
            tolerance: .exact, shapes: shapes, benchShapes: [["n": 16_777_216, "w": 1, "g": 0], ["n": 16_777_216, "w": 1, "g": 1]],
            work: { s in (.bytes((s.flag("g") ? 17 : 9) * s.value("n")), nil) }, note: "mask values 0, 1 and 255; in place; no backward",
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let w = s.flag("w") ? c.uniform("w", n) : nil, g = s.flag("g") ? c.uniform("g", n) : nil
                let noise = kernelRandom(n, seed: c.seed())
                let mask = c.input("mask", n, .u8) { noise[$0] > 0 ? (noise[$0] > 0.5 ? 255 : 1) : 0 }
                for b in [w, g].compactMap({ $0 }) { c.inPlace(b) }
                c.forward { tl_sparse_mask_apply(w?.f, g?.f, mask.u8, n) }
                c.reference {
                    var out: [String: [Double]] = [:]
                    for b in [w, g].compactMap({ $0 }) { out[b.name] = (0..<n).map { mask.u8[$0] != 0 ? b[$0] : 0 } }
                    return out
                }
                return c
            })
    }

    private static var countNonzero: KernelRow {
        KernelRow(
            name: "sparse_count_nonzero", family: "sparse", forward: "tl_sparse_count_nonzero", reference: "Swift: count of x != 0 (NaN counts)",
            tolerance: .exact, shapes: [1, 6, 1000, 200_000].map { ["n": Double($0)] }, benchShapes: [["n": 16_777_216]],
            work: { s in (.bytes(4 * s.value("n")), nil) }, note: "inputs with zeros, -0 and NaN; no backward",
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let x = c.input("x", kernelRandom(n, seed: c.seed()).enumerated().map { i, v in i % 11 == 3 ? .nan : i % 7 == 2 ? -0.0 : v > 0.2 ? v : 0 })
                let count = c.output("count", 1, .size)
                c.forward { tl_sparse_count_nonzero(count.size, x.f, n) }
                c.reference { ["count": [Double(x.values.filter { $0 != 0 }.count)]] }
                return c
            })
    }

    /// Magnitudes smooth or rounded to halves (ties straddle the cut across chunks), several k.
    private static var topK: KernelRow {
        var shapes: [KernelShape] = []
        for n in [1, 2, 31, 1000, 140_001] {
            for tied in [0.0, 1] {
                for k in Set([0, 1, n / 3, n / 2, n - 1, n]).sorted() { shapes.append(["n": Double(n), "k": Double(k), "tied": tied]) }
            }
        }
        return KernelRow(
            name: "sparse_topk", family: "sparse", forward: "tl_sparse_topk_mask",
            reference: "Swift: sort by |w| bit pattern descending, then index ascending (NaN above +inf)", tolerance: .exact,
            shapes: shapes, benchShapes: [["n": 1_048_576, "k": 104_857, "tied": 0]],
            work: { s in (.elements(s.value("n")), nil) }, note: "no backward",
            make: { s in
                let (n, k) = (s.int("n"), s.int("k")), c = KernelCase()
                let w = c.input("w", topKValues(n, tied: s.flag("tied"), seed: c.seed()))
                let mask = c.output("mask", n, .u8)
                c.forward { tl_sparse_topk_mask(mask.u8, w.f, n, k) }
                c.reference { ["mask": Reference.topK([w.floats], k: k)[0].map(Double.init)] }
                return c
            })
    }

    private static func topKValues(_ n: Int, tied: Bool, seed: UInt64) -> [Float] {
        let smooth = kernelRandom(n, seed: seed, low: -5, high: 5)
        return tied ? smooth.map { ($0 * 2).rounded() / 2 } : smooth
    }

    /// Tensors of the global top-k as one buffer: sizes from the shape (size0, size1, ...), the last tensor tied.
    private final class TensorSet {
        let sizes: [Int], offsets: [Int]
        init(_ s: KernelShape) {
            sizes = s.entries.filter { $0.name.hasPrefix("size") }.map { Int($0.value) }
            var o = [0]
            for n in sizes { o.append(o.last! + n) }
            offsets = o
        }
        var total: Int { offsets.last! }
        func split<T>(_ values: [T]) -> [[T]] { sizes.indices.map { Array(values[offsets[$0]..<offsets[$0 + 1]]) } }
    }

    private static var topKGlobal: KernelRow {
        let sets: [([Int], [Int])] = [([3, 0, 2, 1], [0, 2, 3, 4, 6]), ([70_000, 5, 70_001], [0, 1, 1000, 100_000, 140_006])]
        let shapes: [KernelShape] = sets.flatMap { sizes, ks in
            ks.map { k in KernelShape(sizes.enumerated().map { ("size\($0.offset)", Double($0.element)) } + [("k", Double(k))]) }
        }
        return KernelRow(
            name: "sparse_topk_global", family: "sparse", forward: "tl_sparse_topk_mask_global",
            reference: "Swift: one ranking over all tensors, ties to the lower (tensor, index)", tolerance: .exact, shapes: shapes,
            benchShapes: [["size0": 524_288, "size1": 262_144, "size2": 262_144, "k": 104_857]],
            work: { s in (.elements(Double(TensorSet(s).total)), nil) }, note: "the last tensor's magnitudes are rounded (ties); no backward",
            make: { s in
                let set = TensorSet(s), k = s.int("k"), c = KernelCase()
                let values = set.sizes.enumerated().flatMap { t, n in topKValues(n, tied: t == set.sizes.count - 1, seed: 10 + UInt64(t)) }
                let w = c.input("w", values)
                let masks = c.output("masks", set.total, .u8)
                c.keep(set)
                c.forward {
                    let wp: [UnsafePointer<Float>?] = set.offsets.dropLast().map { UnsafePointer(w.f + $0) }
                    let mp: [UnsafeMutablePointer<UInt8>?] = set.offsets.dropLast().map { masks.u8 + $0 }
                    return tl_sparse_topk_mask_global(mp, wp, set.sizes, set.sizes.count, k)
                }
                c.reference { ["masks": Reference.topK(set.split(w.floats), k: k).flatMap { $0 }.map(Double.init)] }
                return c
            })
    }

    // MARK: Groups

    /// conv1 (cout, cin, k, k) + bias + BN gamma, beta (cout) + conv2 (c2, cout, k2, k2): one group per output
    /// channel of conv1, with the flat member list of each group built independently of the segment semantics.
    public final class ConvChainGroups {
        public let sizes: [Int], offsets: [Int], groupOffsets: [Int]
        public let segments: [tl_group_segment]
        /// Flat indices (into the concatenated tensors) of each group.
        public let members: [[Int]]
        public var count: Int { groupOffsets.count - 1 }
        public var total: Int { offsets.last! }

        public init(cout: Int, cin: Int, k: Int, c2: Int, k2: Int) {
            sizes = [cout * cin * k * k, cout, cout, cout, c2 * cout * k2 * k2]
            var o = [0]
            for n in sizes { o.append(o.last! + n) }
            offsets = o
            var segs: [tl_group_segment] = [], members: [[Int]] = [], groupOffsets = [0]
            let seg = { (t: Int, start: Int, count: Int, stride: Int, block: Int) in
                tl_group_segment(tensor: t, start: start, count: count, stride: stride, block: block)
            }
            for c in 0..<cout {
                segs += [seg(0, c * cin * k * k, 1, 0, cin * k * k), seg(1, c, 1, 0, 1), seg(2, c, 1, 0, 1), seg(3, c, 1, 0, 1),
                         seg(4, c * k2 * k2, c2, cout * k2 * k2, k2 * k2)]
                groupOffsets.append(segs.count)
                var m: [Int] = []
                for i in 0..<cin { for a in 0..<k { for b in 0..<k { m.append(o[0] + ((c * cin + i) * k + a) * k + b) } } }
                m += [o[1] + c, o[2] + c, o[3] + c]
                for out in 0..<c2 { for a in 0..<k2 { for b in 0..<k2 { m.append(o[4] + ((out * cout + c) * k2 + a) * k2 + b) } } }
                members.append(m)
            }
            segments = segs
            self.members = members
            self.groupOffsets = groupOffsets
        }

        /// Calls `body` with the descriptor (valid only inside).
        public func with<R>(_ body: (UnsafePointer<tl_groups>) -> R) -> R {
            sizes.withUnsafeBufferPointer { sz in
                groupOffsets.withUnsafeBufferPointer { off in
                    segments.withUnsafeBufferPointer { seg in
                        var g = tl_groups(num_tensors: sizes.count, tensor_sizes: sz.baseAddress, num_groups: count,
                                          group_offsets: off.baseAddress, segments: seg.baseAddress)
                        return withUnsafePointer(to: &g) { body($0) }
                    }
                }
            }
        }

        public func pointers(_ b: KernelBuffer) -> [UnsafeMutablePointer<Float>?] { offsets.dropLast().map { b.f + $0 } }
        public func readOnly(_ b: KernelBuffer) -> [UnsafePointer<Float>?] { offsets.dropLast().map { UnsafePointer(b.f + $0) } }
    }

    /// (cout, cin, k, c2, k2): odd chains, single elements, 1x1 kernels, and one large enough for the parallel path.
    private static let chainShapes = KernelShape.list(["cout", "cin", "k", "c2", "k2"],
                                                      [[4, 3, 3, 5, 2], [1, 1, 1, 1, 1], [16, 8, 3, 32, 3], [7, 5, 1, 3, 3], [64, 32, 3, 64, 3]])
    private static let chainBench: KernelShape = ["cout": 512, "cin": 512, "k": 3, "c2": 512, "k2": 3]

    private static func chain(_ s: KernelShape) -> ConvChainGroups {
        ConvChainGroups(cout: s.int("cout"), cin: s.int("cin"), k: s.int("k"), c2: s.int("c2"), k2: s.int("k2"))
    }

    private static func groupRow(_ name: String, _ function: String, reference: String, tolerance: Tolerance, bytesPerElement: Double,
                                 note: String, make: @escaping (ConvChainGroups, KernelCase) -> Void) -> KernelRow {
        KernelRow(
            name: name, family: "sparse", forward: function, reference: reference, tolerance: tolerance, shapes: chainShapes,
            benchShapes: [chainBench], work: { s in (.bytes(bytesPerElement * Double(chain(s).total)), nil) }, note: note,
            make: { s in
                let g = chain(s), c = KernelCase()
                c.keep(g)
                make(g, c)
                return c
            })
    }

    private static var groupNorms: KernelRow {
        groupRow("sparse_group_norms", "tl_sparse_group_norms", reference: "Swift: sqrt of the sum of squares over each member list",
                 tolerance: Tolerance(abs: 0, rel: 1e-6), bytesPerElement: 4, note: "no backward") { g, c in
            let x = c.uniform("x", g.total)
            let norms = c.output("norms", g.count)
            c.forward { g.with { tl_sparse_group_norms(norms.f, $0, g.readOnly(x)) } }
            c.reference { ["norms": g.members.map { $0.reduce(0) { $0 + x[$1] * x[$1] }.squareRoot() }] }
        }
    }

    private static var groupStats: KernelRow {
        groupRow("sparse_group_stats", "tl_sparse_group_stats", reference: "Swift: <x,x>, <y,y>, <x,y> over each member list in Double",
                 tolerance: Tolerance(abs: 1e-12, rel: 1e-12), bytesPerElement: 8, note: "no backward") { g, c in
            let x = c.uniform("x", g.total)
            let y = c.input("y", (0..<g.total).map { Float($0 % 5) - 2 + 0.25 * Float($0 % 3) })
            let xx = c.output("xx", g.count, .f64), yy = c.output("yy", g.count, .f64), xy = c.output("xy", g.count, .f64)
            c.forward { g.with { tl_sparse_group_stats(xx.f64, yy.f64, xy.f64, $0, g.readOnly(x), g.readOnly(y)) } }
            c.reference {
                ["xx": g.members.map { $0.reduce(0) { $0 + x[$1] * x[$1] } }, "yy": g.members.map { $0.reduce(0) { $0 + y[$1] * y[$1] } },
                 "xy": g.members.map { $0.reduce(0) { $0 + x[$1] * y[$1] } }]
            }
        }
    }

    private static var groupZero: KernelRow {
        groupRow("sparse_group_zero", "tl_sparse_group_zero", reference: "Swift: members of the selected groups set to 0", tolerance: .exact,
                 bytesPerElement: 4, note: "odd groups selected; in place; no backward") { g, c in
            let x = c.uniform("x", g.total)
            let selected = c.input("selected", g.count, .u8) { Double($0 % 2) }
            c.inPlace(x)
            c.forward { g.with { tl_sparse_group_zero($0, g.pointers(x), selected.u8) } }
            c.reference {
                var v = x.values
                for (k, m) in g.members.enumerated() where k % 2 == 1 { for i in m { v[i] = 0 } }
                return ["x": v]
            }
        }
    }

    private static var groupAxpy: KernelRow {
        groupRow("sparse_group_axpy", "tl_sparse_group_axpy", reference: "Swift: y + alpha_g x (fused multiply-add in Float) over each group",
                 tolerance: .exact, bytesPerElement: 12, note: "alpha -1, 0, 1, ... (0 leaves a group untouched); in place; no backward") { g, c in
            let y = c.uniform("y", g.total), x = c.uniform("x", g.total)
            let alpha = c.input("alpha", (0..<g.count).map { Float($0 % 3) - 1 })
            c.inPlace(y)
            c.forward { g.with { tl_sparse_group_axpy($0, g.pointers(y), g.readOnly(x), alpha.f) } }
            c.reference {
                var v = y.values
                for (k, m) in g.members.enumerated() { for i in m { v[i] = Double(y.f[i].addingProduct(alpha.f[k], x.f[i])) } }
                return ["y": v]
            }
        }
    }

    private static var halfSpace: KernelRow {
        groupRow("sparse_half_space_project", "tl_sparse_group_half_space_project",
                 reference: "Swift: hx_g = 0 where <hx_g, x_g> < epsilon ||x_g||^2 (sums in Double)", tolerance: .exact, bytesPerElement: 12,
                 note: "epsilon 0.7; every third group active = 0; a third of the groups shrunk towards 0; in place; no backward") { g, c in
            let x = c.uniform("x", g.total)
            var trial = x.floats
            for (k, m) in g.members.enumerated() { for i in m { trial[i] = trial[i] * (k % 3 == 0 ? 0.5 : 0.9) + Float(i % 7) * 0.01 - 0.03 } }
            let hx = c.input("hx", trial)
            let active = c.input("active", g.count, .u8) { $0 % 3 == 2 ? 0 : 1 }
            let zeroed = c.output("zeroed", g.count, .u8)
            c.inPlace(hx)
            c.forward { g.with { tl_sparse_group_half_space_project(zeroed.u8, $0, g.pointers(hx), g.readOnly(x), active.u8, 0.7) } }
            c.reference {
                var v = hx.values, z = [Double](repeating: 0, count: g.count)
                for (k, m) in g.members.enumerated() where active.u8[k] != 0 {
                    let dot = m.reduce(0) { $0 + hx[$1] * x[$1] }, norm = m.reduce(0) { $0 + x[$1] * x[$1] }
                    if dot < 0.7 * norm {
                        z[k] = 1
                        for i in m { v[i] = 0 }
                    }
                }
                return ["hx": v, "zeroed": z]
            }
        }
    }
}

extension Reference {
    /// Top-k masks over several tensors together: rank by |w| bit pattern descending, then (tensor, index).
    public static func topK(_ ws: [[Float]], k: Int) -> [[UInt8]] {
        var all: [(key: UInt32, t: Int, i: Int)] = []
        for (t, w) in ws.enumerated() { for (i, v) in w.enumerated() { all.append((v.bitPattern & 0x7FFF_FFFF, t, i)) } }
        all.sort { a, b in a.key != b.key ? a.key > b.key : (a.t != b.t ? a.t < b.t : a.i < b.i) }
        var masks = ws.map { [UInt8](repeating: 0, count: $0.count) }
        for e in all.prefix(k) { masks[e.t][e.i] = 1 }
        return masks
    }
}
