import TrainingLab

/// Pooling cases at the sizes of the first layers of smallcnn (128x32x28x28) and resnet20 (128x16x32x32),
/// which stay largely in the 32 MB L3 between calls, and one DRAM-sized shape (128x64x56x56, 103 MB per
/// tensor) that shows the kernels against the STREAM bandwidth proper. Rates count the bytes the kernel
/// moves: input, output and int32 indices, each once.
extension BenchSuites {
    static var pool: [BenchCase] {
        let shapes = [(128, 32, 28, 28), (128, 16, 32, 32), (128, 64, 56, 56)]
        return shapes.flatMap { s in [maxPoolForward(s), maxPoolBackward(s)] } + [globalAvgPool((128, 64, 8, 8))]
    }

    private static func label(_ s: (Int, Int, Int, Int)) -> String { "\(s.0)x\(s.1)x\(s.2)x\(s.3)" }

    private static func maxPoolForward(_ s: (Int, Int, Int, Int)) -> BenchCase {
        let (n, c, h, w) = s
        let input = n * c * h * w, output = n * c * (h / 2) * (w / 2)
        return BenchCase(name: "maxpool2d_2x2_fwd", shape: label(s) + " k2s2", work: .bytes(Double(4 * input + 8 * output))) {
            let x = BenchBuffer(count: input), y = BenchBuffer(count: output), idx = IndexBuffer(count: output)
            return BenchBodies(body: {
                try tlCheck(tl_maxpool2d_forward(y.pointer, idx.pointer, x.pointer, n, c, h, w, 2, 2, 2, 2, 0, 0))
            })
        }
    }

    private static func maxPoolBackward(_ s: (Int, Int, Int, Int)) -> BenchCase {
        let (n, c, h, w) = s
        let input = n * c * h * w, output = n * c * (h / 2) * (w / 2)
        return BenchCase(name: "maxpool2d_2x2_bwd", shape: label(s) + " k2s2", work: .bytes(Double(4 * input + 8 * output))) {
            let x = BenchBuffer(count: input), y = BenchBuffer(count: output), idx = IndexBuffer(count: output)
            let dx = BenchBuffer(count: input), dy = BenchBuffer(count: output, seed: 2)
            try tlCheck(tl_maxpool2d_forward(y.pointer, idx.pointer, x.pointer, n, c, h, w, 2, 2, 2, 2, 0, 0))
            return BenchBodies(body: {
                try tlCheck(tl_maxpool2d_backward(dx.pointer, dy.pointer, idx.pointer, n, c, h, w, 2, 2, 2, 2, 0, 0))
            })
        }
    }

    private static func globalAvgPool(_ s: (Int, Int, Int, Int)) -> BenchCase {
        let (n, c, h, w) = s
        return BenchCase(name: "global_avgpool2d_fwd", shape: label(s), work: .bytes(Double(4 * (n * c * h * w + n * c)))) {
            let x = BenchBuffer(count: n * c * h * w), y = BenchBuffer(count: n * c)
            return BenchBodies(body: { try tlCheck(tl_global_avgpool2d_forward(y.pointer, x.pointer, n, c, h, w)) })
        }
    }
}

/// An int32 buffer from the core's aligned allocator (max-pool indices), freed on deinit.
private final class IndexBuffer {
    let pointer: UnsafeMutablePointer<Int32>

    init(count: Int) {
        pointer = tl_alloc(count * MemoryLayout<Int32>.stride)!.bindMemory(to: Int32.self, capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { tl_free(pointer) }
}
