import TrainingLab

extension BenchSuites {
    static var sparse: [BenchCase] {
        let n = 16 << 20
        return [
            BenchCase(name: "sparse_mask_apply", shape: "16M f32 + u8 mask", work: .bytes(9 * Double(n))) {
                let w = BenchBuffer(count: n), mask = MaskBuffer(count: n)
                return BenchBodies(body: { try tlCheck(tl_sparse_mask_apply(w.pointer, nil, mask.pointer, n)) })
            },
            BenchCase(name: "sparse_mask_apply_w_g", shape: "2 x 16M f32 + u8 mask", work: .bytes(17 * Double(n))) {
                let w = BenchBuffer(count: n), g = BenchBuffer(count: n, seed: 2), mask = MaskBuffer(count: n)
                return BenchBodies(body: { try tlCheck(tl_sparse_mask_apply(w.pointer, g.pointer, mask.pointer, n)) })
            },
            BenchCase(name: "sparse_topk", shape: "1M f32, k = 10%", work: .elements(Double(1 << 20))) {
                let m = 1 << 20
                let w = BenchBuffer(count: m, seed: 3), mask = MaskBuffer(count: m)
                return BenchBodies(body: { try tlCheck(tl_sparse_topk_mask(mask.pointer, w.pointer, m, m / 10)) })
            },
            groupNorms(channels: 512),
        ]
    }


    /// OTOv2-style groups: output channel c of conv1 (C, C, 3, 3) + BN gamma/beta c + input channel c of conv2 (C, C, 3, 3).
    private static func groupNorms(channels c: Int) -> BenchCase {
        let k = 9, convSize = c * c * k
        let total = 2 * convSize + 2 * c
        return BenchCase(name: "sparse_group_norms", shape: "\(c) groups over conv\(c)x\(c)x3x3 + BN + conv", work: .bytes(4 * Double(total))) {
            let tensors = [BenchBuffer(count: convSize, seed: 1), BenchBuffer(count: c, seed: 2), BenchBuffer(count: c, seed: 3),
                           BenchBuffer(count: convSize, seed: 4)]
            let sizes = [convSize, c, c, convSize]
            var segments: [tl_group_segment] = []
            var offsets = [0]
            for ch in 0..<c {
                segments += [tl_group_segment(tensor: 0, start: ch * c * k, count: 1, stride: 0, block: c * k),
                             tl_group_segment(tensor: 1, start: ch, count: 1, stride: 0, block: 1),
                             tl_group_segment(tensor: 2, start: ch, count: 1, stride: 0, block: 1),
                             tl_group_segment(tensor: 3, start: ch * k, count: c, stride: c * k, block: k)]
                offsets.append(segments.count)
            }
            let pointers: [UnsafePointer<Float>?] = tensors.map { UnsafePointer($0.pointer) }
            var norms = [Float](repeating: 0, count: c)
            return BenchBodies(body: {
                try withExtendedLifetime(tensors) {
                    try sizes.withUnsafeBufferPointer { sz in
                        try offsets.withUnsafeBufferPointer { off in
                            try segments.withUnsafeBufferPointer { seg in
                                var groups = tl_groups(num_tensors: 4, tensor_sizes: sz.baseAddress, num_groups: c,
                                                       group_offsets: off.baseAddress, segments: seg.baseAddress)
                                try tlCheck(tl_sparse_group_norms(&norms, &groups, pointers))
                            }
                        }
                    }
                }
            })
        }
    }
}

/// A u8 mask keeping about half of the elements, freed on deinit.
private final class MaskBuffer {
    let pointer: UnsafeMutablePointer<UInt8>

    init(count: Int) {
        let r = BenchBuffer(count: count, seed: 9)
        pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        for i in 0..<count { pointer[i] = r.pointer[i] > 0 ? 1 : 0 }
    }

    deinit { pointer.deallocate() }
}
