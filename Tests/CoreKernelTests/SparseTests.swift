import Foundation
import XCTest
import TrainingLab

// MARK: - References

/// Reference ranking over several tensors: |w| bit pattern descending, then (tensor, index) ascending.
private func refOrder(_ ws: [[Float]]) -> [(t: Int, i: Int)] {
    var all: [(key: UInt32, t: Int, i: Int)] = []
    for (t, w) in ws.enumerated() { for (i, v) in w.enumerated() { all.append((v.bitPattern & 0x7FFF_FFFF, t, i)) } }
    all.sort { a, b in a.key != b.key ? a.key > b.key : (a.t != b.t ? a.t < b.t : a.i < b.i) }
    return all.map { ($0.t, $0.i) }
}

/// Reference top-k masks: the first k of the ranking.
private func refTopK(_ ws: [[Float]], k: Int, order: [(t: Int, i: Int)]? = nil) -> [[UInt8]] {
    var masks = ws.map { [UInt8](repeating: 0, count: $0.count) }
    for e in (order ?? refOrder(ws)).prefix(k) { masks[e.t][e.i] = 1 }
    return masks
}

private func topK(_ w: [Float], k: Int) -> [UInt8] {
    var mask = [UInt8](repeating: 7, count: w.count)
    XCTAssertEqual(tl_sparse_topk_mask(&mask, w, w.count, k), 0, String(cString: tl_last_error()))
    return mask
}

private func topKGlobal(_ ws: [[Float]], k: Int) -> [[UInt8]] {
    var masks = ws.map { [UInt8](repeating: 7, count: max($0.count, 1)) }
    let wp = ws.map { w -> UnsafeMutablePointer<Float> in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(w.count, 1))
        p.initialize(from: w, count: w.count)
        return p
    }
    let mp = masks.map { m -> UnsafeMutablePointer<UInt8> in
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: m.count)
        p.initialize(from: m, count: m.count)
        return p
    }
    defer { wp.forEach { $0.deallocate() }; mp.forEach { $0.deallocate() } }
    let cw: [UnsafePointer<Float>?] = wp.map { UnsafePointer($0) }
    let cm: [UnsafeMutablePointer<UInt8>?] = mp
    XCTAssertEqual(tl_sparse_topk_mask_global(cm, cw, ws.map { $0.count }, ws.count, k), 0, String(cString: tl_last_error()))
    for t in ws.indices { masks[t] = Array(UnsafeBufferPointer(start: mp[t], count: ws[t].count)) }
    return masks
}

/// A set of tensors held in stable buffers, with a group descriptor over them.
private final class GroupFixture {
    var tensors: [UnsafeMutablePointer<Float>]
    let sizes: [Int]
    let offsets: [Int]
    let segments: [tl_group_segment]
    /// The flat (tensor, index) list of every group, built independently of the segment semantics.
    let members: [[(Int, Int)]]

    init(sizes: [Int], groups: [[tl_group_segment]], members: [[(Int, Int)]], seed: UInt64) {
        self.sizes = sizes
        tensors = sizes.enumerated().map { t, n in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(from: randomFloats(n, seed: seed + UInt64(t), low: -1, high: 1), count: n)
            return p
        }
        var off = [0]
        for g in groups { off.append(off.last! + g.count) }
        offsets = off
        segments = groups.flatMap { $0 }
        self.members = members
    }

    deinit { tensors.forEach { $0.deallocate() } }

    func values(_ t: Int) -> [Float] { Array(UnsafeBufferPointer(start: tensors[t], count: sizes[t])) }

    func copyOfTensors() -> [UnsafeMutablePointer<Float>] {
        sizes.enumerated().map { t, n in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(from: tensors[t], count: n)
            return p
        }
    }

    func withGroups<R>(_ body: (UnsafePointer<tl_groups>) -> R) -> R {
        sizes.withUnsafeBufferPointer { sz in
            offsets.withUnsafeBufferPointer { off in
                segments.withUnsafeBufferPointer { seg in
                    var g = tl_groups(num_tensors: sizes.count, tensor_sizes: sz.baseAddress, num_groups: offsets.count - 1,
                                      group_offsets: off.baseAddress, segments: seg.baseAddress)
                    return withUnsafePointer(to: &g) { body($0) }
                }
            }
        }
    }
}

private func ro(_ p: [UnsafeMutablePointer<Float>]) -> [UnsafePointer<Float>?] { p.map { UnsafePointer($0) } }
private func rw(_ p: [UnsafeMutablePointer<Float>]) -> [UnsafeMutablePointer<Float>?] { p.map { Optional($0) } }

private func seg(_ tensor: Int, _ start: Int, _ count: Int, _ stride: Int, _ block: Int) -> tl_group_segment {
    tl_group_segment(tensor: tensor, start: start, count: count, stride: stride, block: block)
}

/// conv1 (cout, cin, k, k) + bias (cout) + BN gamma, beta (cout) + conv2 (c2, cout, k2, k2): one group per output channel of conv1.
private func convChainFixture(cout: Int, cin: Int, k: Int, c2: Int, k2: Int, seed: UInt64) -> GroupFixture {
    let sizes = [cout * cin * k * k, cout, cout, cout, c2 * cout * k2 * k2]
    var groups: [[tl_group_segment]] = []
    var members: [[(Int, Int)]] = []
    for c in 0..<cout {
        groups.append([seg(0, c * cin * k * k, 1, 0, cin * k * k), seg(1, c, 1, 0, 1), seg(2, c, 1, 0, 1), seg(3, c, 1, 0, 1),
                       seg(4, c * k2 * k2, c2, cout * k2 * k2, k2 * k2)])
        var m: [(Int, Int)] = []
        for i in 0..<cin { for a in 0..<k { for b in 0..<k { m.append((0, ((c * cin + i) * k + a) * k + b)) } } }
        m += [(1, c), (2, c), (3, c)]
        for o in 0..<c2 { for a in 0..<k2 { for b in 0..<k2 { m.append((4, ((o * cout + c) * k2 + a) * k2 + b)) } } }
        members.append(m)
    }
    return GroupFixture(sizes: sizes, groups: groups, members: members, seed: seed)
}

// MARK: - Tests

final class SparseMaskTests: XCTestCase {
    func testMaskApplyWeightsAndGradients() {
        for n in [1, 5, 33, 100_003] {
            let w0 = randomFloats(n, seed: UInt64(n)), g0 = randomFloats(n, seed: UInt64(n) + 1)
            let mask = randomFloats(n, seed: UInt64(n) + 2).map { UInt8($0 > 0 ? ($0 > 0.5 ? 255 : 1) : 0) }
            var w = w0, g = g0
            XCTAssertEqual(tl_sparse_mask_apply(&w, &g, mask, n), 0)
            assertBitwiseEqual(w, w0.indices.map { mask[$0] != 0 ? w0[$0] : 0 })
            assertBitwiseEqual(g, g0.indices.map { mask[$0] != 0 ? g0[$0] : 0 })
            var onlyG = g0
            XCTAssertEqual(tl_sparse_mask_apply(nil, &onlyG, mask, n), 0)
            assertBitwiseEqual(onlyG, g)
            var onlyW = w0
            XCTAssertEqual(tl_sparse_mask_apply(&onlyW, nil, mask, n), 0)
            assertBitwiseEqual(onlyW, w)
            var w1 = w0, w2 = w0
            withThreads(1) { XCTAssertEqual(tl_sparse_mask_apply(&w1, nil, mask, n), 0) }
            withThreads(2) { XCTAssertEqual(tl_sparse_mask_apply(&w2, nil, mask, n), 0) }
            assertBitwiseEqual(w1, w2)
        }
        // NaN and inf under a zero mask become exact zeros (a multiply would keep NaN).
        var w: [Float] = [.nan, .infinity, 2, .nan]
        XCTAssertEqual(tl_sparse_mask_apply(&w, nil, [0, 0, 1, 1], 4), 0)
        XCTAssertEqual(w[0..<3], [0, 0, 2])
        XCTAssertTrue(w[3].isNaN)
    }

    func testCountNonzero() {
        var c = -1
        XCTAssertEqual(tl_sparse_count_nonzero(&c, [0, -0.0, 1, .nan, 0, 3], 6), 0)
        XCTAssertEqual(c, 3)
        let x = randomFloats(200_000, seed: 1).map { $0 > 0.2 ? $0 : 0 }
        let expected = x.filter { $0 != 0 }.count
        withThreads(2) { XCTAssertEqual(tl_sparse_count_nonzero(&c, x, x.count), 0) }
        XCTAssertEqual(c, expected)
    }

    func testTopKHandComputedTies() {
        let w: [Float] = [1, -3, 3, 2, -2, 0, 3]
        XCTAssertEqual(topK(w, k: 0), [0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(topK(w, k: 2), [0, 1, 1, 0, 0, 0, 0]) // three tied at |3|: the lower indices win
        XCTAssertEqual(topK(w, k: 3), [0, 1, 1, 0, 0, 0, 1])
        XCTAssertEqual(topK(w, k: 4), [0, 1, 1, 1, 0, 0, 1])
        XCTAssertEqual(topK(w, k: 5), [0, 1, 1, 1, 1, 0, 1])
        XCTAssertEqual(topK(w, k: 7), [1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(topK([-0.0, 0, Float.leastNonzeroMagnitude, .nan, .infinity], k: 2), [0, 0, 0, 1, 1]) // NaN ranks above +inf
        XCTAssertEqual(topK([-0.0, 0, Float.leastNonzeroMagnitude], k: 2), [1, 0, 1]) // -0 and +0 tie: the lower index wins
    }

    func testTopKMatchesReference() {
        for n in [1, 2, 31, 1000, 140_001] {
            let smooth = randomFloats(n, seed: UInt64(n) * 3, low: -5, high: 5)
            let tied = smooth.map { ($0 * 2).rounded() / 2 } // a few distinct magnitudes: ties straddle the cut across chunks
            for w in [smooth, tied] {
                let order = refOrder([w])
                for k in Set([0, 1, n / 3, n / 2, n - 1, n].filter { $0 >= 0 && $0 <= n }) {
                    let one = withThreads(1) { topK(w, k: k) }
                    let two = withThreads(2) { topK(w, k: k) }
                    XCTAssertEqual(one, refTopK([w], k: k, order: order)[0], "n \(n) k \(k)")
                    XCTAssertEqual(one, two, "threads, n \(n) k \(k)")
                    XCTAssertEqual(one.reduce(0) { $0 + Int($1) }, k)
                }
            }
        }
    }

    func testTopKGlobalAcrossTensors() {
        // Hand case: the cut at |2| falls between tensors; ties go to the earlier tensor.
        let ws: [[Float]] = [[1, 2, 0.5], [], [-2, 3], [2]]
        XCTAssertEqual(topKGlobal(ws, k: 2), [[0, 1, 0], [], [0, 1], [0]])
        XCTAssertEqual(topKGlobal(ws, k: 3), [[0, 1, 0], [], [1, 1], [0]])
        XCTAssertEqual(topKGlobal(ws, k: 4), [[0, 1, 0], [], [1, 1], [1]])
        let big = [randomFloats(70_000, seed: 1), randomFloats(5, seed: 2), randomFloats(70_001, seed: 3).map { ($0 * 8).rounded() / 8 }]
        let order = refOrder(big)
        for k in [0, 1, 1000, 100_000, 140_006] {
            let e = refTopK(big, k: k, order: order)
            XCTAssertTrue(withThreads(1) { topKGlobal(big, k: k) } == e, "k \(k)")
            XCTAssertTrue(withThreads(2) { topKGlobal(big, k: k) } == e, "k \(k) (2 threads)")
        }
    }

    func testBadArguments() {
        var w: [Float] = [1, 2, 3]
        var m = [UInt8](repeating: 0, count: 3)
        assertFails(tl_sparse_mask_apply(&w, nil, nil, 3), TL_ERR_NULL_POINTER, mentioning: "mask")
        assertFails(tl_sparse_mask_apply(nil, nil, m, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "both NULL")
        assertFails(tl_sparse_mask_apply(&w, nil, m, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_sparse_topk_mask(&m, w, 3, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "k")
        assertFails(tl_sparse_topk_mask(&m, w, 3, -1), TL_ERR_INVALID_ARGUMENT, mentioning: "k")
        assertFails(tl_sparse_topk_mask(nil, w, 3, 1), TL_ERR_NULL_POINTER, mentioning: "mask")
        assertFails(tl_sparse_count_nonzero(nil, w, 3), TL_ERR_NULL_POINTER, mentioning: "count")
        w.withUnsafeBufferPointer { wp in
            m.withUnsafeMutableBufferPointer { mp in
                let ws: [UnsafePointer<Float>?] = [wp.baseAddress, nil]
                let ms: [UnsafeMutablePointer<UInt8>?] = [mp.baseAddress, mp.baseAddress]
                assertFails(tl_sparse_topk_mask_global(ms, ws, [3, 3], 2, 1), TL_ERR_NULL_POINTER, mentioning: "w[1]")
                assertFails(tl_sparse_topk_mask_global(ms, ws, [3], 1, 4), TL_ERR_INVALID_ARGUMENT, mentioning: "k")
                assertFails(tl_sparse_topk_mask_global(ms, ws, [3], 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "num_tensors")
                assertFails(tl_sparse_topk_mask_global(ms, ws, [-3], 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "sizes[0]")
            }
        }
    }
}

final class SparseGroupTests: XCTestCase {
    func testGroupSpanningThreeTensorsHandComputed() {
        // One group = conv weight filter 1 of (2, 1, 2) + BN gamma[1] + next conv's input channel 1 of (2, 2, 1).
        let fx = GroupFixture(sizes: [4, 2, 4],
                              groups: [[seg(0, 0, 1, 0, 2), seg(1, 0, 1, 0, 1), seg(2, 0, 2, 2, 1)],
                                       [seg(0, 2, 1, 0, 2), seg(1, 1, 1, 0, 1), seg(2, 1, 2, 2, 1)]],
                              members: [], seed: 0)
        let vals: [[Float]] = [[1, 2, 3, 4], [5, 6], [7, 8, 9, 10]]
        for t in 0..<3 { fx.tensors[t].update(from: vals[t], count: vals[t].count) }
        var norms = [Float](repeating: -1, count: 2)
        fx.withGroups { g in
            XCTAssertEqual(tl_sparse_group_norms(&norms, g, ro(fx.tensors)), 0, String(cString: tl_last_error()))
        }
        XCTAssertEqual(norms[0], Float((1 + 4 + 25 + 49 + 81 as Double).squareRoot()))
        XCTAssertEqual(norms[1], Float((9 + 16 + 36 + 64 + 100 as Double).squareRoot()))
        fx.withGroups { g in XCTAssertEqual(tl_sparse_group_zero(g, rw(fx.tensors), [0, 1]), 0) }
        XCTAssertEqual(fx.values(0), [1, 2, 0, 0])
        XCTAssertEqual(fx.values(1), [5, 0])
        XCTAssertEqual(fx.values(2), [7, 0, 9, 0])
    }

    func testConvChainGroupsMatchReference() {
        for (cout, cin, k, c2, k2) in [(4, 3, 3, 5, 2), (1, 1, 1, 1, 1), (16, 8, 3, 32, 3), (7, 5, 1, 3, 3)] {
            let fx = convChainFixture(cout: cout, cin: cin, k: k, c2: c2, k2: k2, seed: UInt64(cout * 100 + cin))
            let x = ro(fx.tensors)
            let yBuf = fx.copyOfTensors()
            defer { yBuf.forEach { $0.deallocate() } }
            for t in yBuf.indices { for i in 0..<fx.sizes[t] { yBuf[t][i] = Float(i % 5) - 2 + 0.25 * Float(t) } }
            let y = ro(yBuf)
            var norms = [Float](repeating: -1, count: cout)
            var xx = [Double](repeating: -1, count: cout), yy = xx, xy = xx
            fx.withGroups { g in
                XCTAssertEqual(tl_sparse_groups_check(g), 0, String(cString: tl_last_error()))
                XCTAssertEqual(tl_sparse_group_norms(&norms, g, x), 0)
                XCTAssertEqual(tl_sparse_group_stats(&xx, &yy, &xy, g, x, y), 0)
            }
            for c in 0..<cout {
                var sxx = 0.0, syy = 0.0, sxy = 0.0
                for (t, i) in fx.members[c] {
                    let a = Double(x[t]![i]), b = Double(y[t]![i])
                    sxx += a * a; syy += b * b; sxy += a * b
                }
                XCTAssertEqual(Double(norms[c]), sxx.squareRoot(), accuracy: 1e-6 * sxx.squareRoot())
                XCTAssertEqual(xx[c], sxx, accuracy: 1e-12 * sxx)
                XCTAssertEqual(yy[c], syy, accuracy: 1e-12 * syy)
                XCTAssertEqual(xy[c], sxy, accuracy: 1e-12 * (sxx * syy).squareRoot())
            }
            // axpy with per-group alpha, then zeroing the odd groups: check every element against the member lists.
            let before = (0..<fx.sizes.count).map { fx.values($0) }
            let alpha = (0..<cout).map { Float($0 % 3) - 1 } // -1, 0, 1, ...
            fx.withGroups { g in XCTAssertEqual(tl_sparse_group_axpy(g, rw(fx.tensors), y, alpha), 0) }
            var expected = before
            for c in 0..<cout { for (t, i) in fx.members[c] { expected[t][i] = before[t][i].addingProduct(alpha[c], y[t]![i]) } }
            for t in expected.indices { assertBitwiseEqual(fx.values(t), expected[t], "axpy tensor \(t)") }
            let selected = (0..<cout).map { UInt8($0 % 2) }
            fx.withGroups { g in XCTAssertEqual(tl_sparse_group_zero(g, rw(fx.tensors), selected), 0) }
            for c in 0..<cout where c % 2 == 1 { for (t, i) in fx.members[c] { expected[t][i] = 0 } }
            for t in expected.indices { assertBitwiseEqual(fx.values(t), expected[t], "zero tensor \(t)") }
        }
    }

    func testHalfSpaceProjection() {
        // Four groups of two elements in one tensor: x = current point, hx = trial point.
        let fx = GroupFixture(sizes: [8], groups: (0..<4).map { [seg(0, 2 * $0, 1, 0, 2)] }, members: [], seed: 0)
        let xBuf = fx.copyOfTensors()
        defer { xBuf.forEach { $0.deallocate() } }
        xBuf[0].update(from: [1, 0, 1, 1, 0, 0, 2, 0] as [Float], count: 8)
        fx.tensors[0].update(from: [0.1, 5, 0.9, 0.9, 0.3, 0.3, 0.5, 0] as [Float], count: 8)
        // <hx,x>: 0.1 (||x||^2 = 1), 1.8 (2), 0 (0), 1.0 (4). epsilon 0.5: project groups 0 and 3; group 2 has x = 0.
        var zeroed = [UInt8](repeating: 9, count: 4)
        fx.withGroups { g in
            XCTAssertEqual(tl_sparse_group_half_space_project(&zeroed, g, rw(fx.tensors), ro(xBuf), [1, 1, 1, 0], 0.5), 0)
        }
        XCTAssertEqual(zeroed, [1, 0, 0, 0]) // group 3 is not active
        XCTAssertEqual(fx.values(0), [0, 0, 0.9, 0.9, 0.3, 0.3, 0.5, 0])
        fx.withGroups { g in
            XCTAssertEqual(tl_sparse_group_half_space_project(&zeroed, g, rw(fx.tensors), ro(xBuf), nil, 0.5), 0)
        }
        XCTAssertEqual(zeroed, [1, 0, 0, 1])
        XCTAssertEqual(fx.values(0), [0, 0, 0.9, 0.9, 0.3, 0.3, 0, 0])
        // epsilon 0 projects only when the step crosses the origin (<hx, x> < 0).
        fx.tensors[0].update(from: [-0.1, 0, 0.9, 0.9, 0.3, 0.3, 0.5, 0] as [Float], count: 8)
        fx.withGroups { g in
            XCTAssertEqual(tl_sparse_group_half_space_project(&zeroed, g, rw(fx.tensors), ro(xBuf), nil, 0), 0)
        }
        XCTAssertEqual(zeroed, [1, 0, 0, 0])
    }

    func testThreadsBitwise() {
        let fx = convChainFixture(cout: 64, cin: 32, k: 3, c2: 64, k2: 3, seed: 5) // ~37k elements: parallel path
        let x = ro(fx.tensors)
        func run() -> ([Float], [Double]) {
            var norms = [Float](repeating: 0, count: 64), xy = [Double](repeating: 0, count: 64)
            fx.withGroups { g in
                XCTAssertEqual(tl_sparse_group_norms(&norms, g, x), 0)
                XCTAssertEqual(tl_sparse_group_stats(nil, nil, &xy, g, x, x), 0)
            }
            return (norms, xy)
        }
        let (n1, d1) = withThreads(1) { run() }, (n2, d2) = withThreads(2) { run() }
        assertBitwiseEqual(n1, n2)
        // The projection decides per group from fixed-order sums: the same groups with any thread count.
        let hx = fx.copyOfTensors()
        defer { hx.forEach { $0.deallocate() } }
        for c in 0..<64 { for (t, i) in fx.members[c] { hx[t][i] = fx.tensors[t][i] * (c % 3 == 0 ? 0.5 : 0.9) + Float(i % 7) * 0.01 } }
        func project() -> [UInt8] {
            var zeroed = [UInt8](repeating: 9, count: 64)
            let copies = hx.enumerated().map { t, p -> UnsafeMutablePointer<Float> in
                let q = UnsafeMutablePointer<Float>.allocate(capacity: fx.sizes[t])
                q.initialize(from: p, count: fx.sizes[t])
                return q
            }
            defer { copies.forEach { $0.deallocate() } }
            fx.withGroups { g in XCTAssertEqual(tl_sparse_group_half_space_project(&zeroed, g, rw(copies), x, nil, 0.7), 0) }
            return zeroed
        }
        let z1 = withThreads(1) { project() }, z2 = withThreads(2) { project() }
        XCTAssertEqual(z1, z2)
        XCTAssertTrue(z1.contains(1) && z1.contains(0), "the fixture should project some groups and keep others")
        XCTAssertEqual(d1.map { $0.bitPattern }, d2.map { $0.bitPattern })
        for c in 0..<64 { XCTAssertEqual(d1[c], Double(n1[c]) * Double(n1[c]), accuracy: 1e-5 * d1[c]) }
    }

    func testBadDescriptors() {
        func check(_ sizes: [Int], _ offsets: [Int], _ segments: [tl_group_segment], _ fragment: String,
                   file: StaticString = #filePath, line: UInt = #line) {
            sizes.withUnsafeBufferPointer { sz in
                offsets.withUnsafeBufferPointer { off in
                    segments.withUnsafeBufferPointer { sg in
                        var g = tl_groups(num_tensors: sizes.count, tensor_sizes: sz.baseAddress, num_groups: offsets.count - 1,
                                          group_offsets: off.baseAddress, segments: sg.baseAddress)
                        assertFails(tl_sparse_groups_check(&g), TL_ERR_INVALID_ARGUMENT, mentioning: fragment, file: file, line: line)
                    }
                }
            }
        }
        check([10], [0, 1], [seg(1, 0, 1, 0, 1)], "tensor 1")
        check([10], [0, 1], [seg(0, 8, 1, 0, 3)], "exceeds")
        check([10], [0, 1], [seg(0, 0, 4, 3, 2)], "exceeds") // last block 9..10
        check([10], [0, 1], [seg(0, 0, 1, 0, 0)], "block")
        check([10], [0, 1], [seg(0, -1, 1, 0, 1)], "start")
        check([10], [0, 2, 1], [seg(0, 0, 1, 0, 1), seg(0, 1, 1, 0, 1)], "non-decreasing")
        check([10], [1, 2], [seg(0, 0, 1, 0, 1), seg(0, 1, 1, 0, 1)], "group_offsets[0]")
        // Boundary that fits exactly.
        var ok = tl_groups()
        let sizes = [10], offsets = [0, 1], segments = [seg(0, 1, 3, 3, 3)] // 1..3, 4..6, 7..9
        sizes.withUnsafeBufferPointer { sz in offsets.withUnsafeBufferPointer { off in segments.withUnsafeBufferPointer { sg in
            ok = tl_groups(num_tensors: 1, tensor_sizes: sz.baseAddress, num_groups: 1, group_offsets: off.baseAddress, segments: sg.baseAddress)
            XCTAssertEqual(tl_sparse_groups_check(&ok), 0, String(cString: tl_last_error()))
            var norms: [Float] = [0]
            assertFails(tl_sparse_group_norms(&norms, &ok, nil), TL_ERR_NULL_POINTER, mentioning: "x")
            let nullTensor: [UnsafePointer<Float>?] = [nil]
            assertFails(tl_sparse_group_norms(&norms, &ok, nullTensor), TL_ERR_NULL_POINTER, mentioning: "x[0]")
            assertFails(tl_sparse_group_norms(nil, &ok, nullTensor), TL_ERR_NULL_POINTER, mentioning: "norms")
            var xx: [Double] = [0], yy: [Double] = [0]
            let data = [Float](repeating: 1, count: 10)
            data.withUnsafeBufferPointer { d in
                let good: [UnsafePointer<Float>?] = [d.baseAddress]
                assertFails(tl_sparse_group_stats(&xx, &yy, nil, &ok, good, nil), TL_ERR_INVALID_ARGUMENT, mentioning: "y is NULL")
                XCTAssertEqual(tl_sparse_group_stats(&xx, nil, nil, &ok, good, nil), 0)
                XCTAssertEqual(xx, [9])
            }
            assertFails(tl_sparse_group_half_space_project(nil, &ok, [nil], nullTensor, nil, 1.0), TL_ERR_NULL_POINTER, mentioning: "hx[0]")
            assertFails(tl_sparse_group_axpy(&ok, [nil], nullTensor, nil), TL_ERR_NULL_POINTER, mentioning: "alpha")
        } } }
        assertFails(tl_sparse_groups_check(nil), TL_ERR_NULL_POINTER, mentioning: "tl_sparse_groups_check")
    }

    func testHalfSpaceEpsilonRange() {
        let fx = GroupFixture(sizes: [2], groups: [[seg(0, 0, 1, 0, 2)]], members: [], seed: 1)
        fx.withGroups { g in
            let t = rw(fx.tensors)
            assertFails(tl_sparse_group_half_space_project(nil, g, t, ro(fx.tensors), nil, 1.0), TL_ERR_INVALID_ARGUMENT, mentioning: "epsilon")
            assertFails(tl_sparse_group_half_space_project(nil, g, t, ro(fx.tensors), nil, -0.1), TL_ERR_INVALID_ARGUMENT, mentioning: "epsilon")
        }
    }
}
