import Foundation
import XCTest
import TrainingLab

/// Sparsity (include/tl_sparse.h) beyond the kernel table's checks: non-finite values under a mask, hand-computed
/// ties of top-k, groups spanning several tensors computed by hand, the half-space projection's cases,
/// descriptor validation and bad arguments.

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

    init(sizes: [Int], groups: [[tl_group_segment]], seed: UInt64) {
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

// MARK: - Tests

final class SparseMaskTests: XCTestCase {
    func testNonFiniteValuesUnderAZeroMaskBecomeZero() {
        // NaN and inf under a zero mask become exact zeros (a multiply would keep NaN).
        var w: [Float] = [.nan, .infinity, 2, .nan]
        XCTAssertEqual(tl_sparse_mask_apply(&w, nil, [0, 0, 1, 1], 4), 0)
        XCTAssertEqual(w[0..<3], [0, 0, 2])
        XCTAssertTrue(w[3].isNaN)
    }

    func testCountNonzeroHandComputed() {
        var c = -1
        XCTAssertEqual(tl_sparse_count_nonzero(&c, [0, -0.0, 1, .nan, 0, 3], 6), 0)
        XCTAssertEqual(c, 3)
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

    func testTopKGlobalAcrossTensors() {
        // Hand case: the cut at |2| falls between tensors; ties go to the earlier tensor.
        let ws: [[Float]] = [[1, 2, 0.5], [], [-2, 3], [2]]
        XCTAssertEqual(topKGlobal(ws, k: 2), [[0, 1, 0], [], [0, 1], [0]])
        XCTAssertEqual(topKGlobal(ws, k: 3), [[0, 1, 0], [], [1, 1], [0]])
        XCTAssertEqual(topKGlobal(ws, k: 4), [[0, 1, 0], [], [1, 1], [1]])
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
                              seed: 0)
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

    func testHalfSpaceProjection() {
        // Four groups of two elements in one tensor: x = current point, hx = trial point.
        let fx = GroupFixture(sizes: [8], groups: (0..<4).map { [seg(0, 2 * $0, 1, 0, 2)] }, seed: 0)
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
        let fx = GroupFixture(sizes: [2], groups: [[seg(0, 0, 1, 0, 2)]], seed: 1)
        fx.withGroups { g in
            let t = rw(fx.tensors)
            assertFails(tl_sparse_group_half_space_project(nil, g, t, ro(fx.tensors), nil, 1.0), TL_ERR_INVALID_ARGUMENT, mentioning: "epsilon")
            assertFails(tl_sparse_group_half_space_project(nil, g, t, ro(fx.tensors), nil, -0.1), TL_ERR_INVALID_ARGUMENT, mentioning: "epsilon")
        }
    }
}
