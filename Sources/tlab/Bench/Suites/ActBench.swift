import TrainingLab

/// Activation cases at training sizes (smallcnn and resnet20 first layers, which stay largely in the
/// 32 MB L3 between calls; one DRAM-sized ReLU shape, 128x64x56x56). Rates count bytes moved once each:
/// forward x in and y out (8 bytes per element), backward dy and the saved tensor in and dx out (12).
/// Softmax rows stay in L1, so its extra passes over a row are not memory traffic; softmax and the
/// exp-based activations are bound by exp, not by memory.
extension BenchSuites {
    static var act: [BenchCase] {
        let shapes = [(128, 32, 28, 28), (128, 16, 32, 32), (128, 64, 56, 56)]
        let relu = shapes.flatMap { s -> [BenchCase] in
            let count = s.0 * s.1 * s.2 * s.3, label = "\(s.0)x\(s.1)x\(s.2)x\(s.3)"
            return [
                unaryCase("relu_fwd", label, count) { tl_relu_forward($0, $1, $2) },
                binaryCase("relu_bwd", label, count) { tl_relu_backward($0, $1, $2, $3) },
            ]
        }
        let count = 128 * 32 * 28 * 28, label = "128x32x28x28"
        let others = [
            unaryCase("sigmoid_fwd", label, count) { tl_sigmoid_forward($0, $1, $2) },
            unaryCase("tanh_fwd", label, count) { tl_tanh_forward($0, $1, $2) },
            unaryCase("gelu_tanh_fwd", label, count) { tl_gelu_forward($0, $1, $2, TL_GELU_TANH) },
            binaryCase("gelu_tanh_bwd", label, count) { tl_gelu_backward($0, $1, $2, $3, TL_GELU_TANH) },
            unaryCase("gelu_erf_fwd", label, count) { tl_gelu_forward($0, $1, $2, TL_GELU_ERF) },
        ]
        let softmax = [false, true].flatMap { log in
            [softmaxCase(log: log, backward: false, rows: 128, classes: 1000),
             softmaxCase(log: log, backward: true, rows: 128, classes: 1000)]
        }
        return relu + others + softmax
    }

    private static func unaryCase(_ name: String, _ shape: String, _ count: Int,
                                  _ kernel: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Int32) -> BenchCase {
        BenchCase(name: name, shape: shape, work: .bytes(8 * Double(count))) {
            let x = BenchBuffer(count: count, low: -4, high: 4), y = BenchBuffer(count: count)
            return BenchBodies(body: { try tlCheck(kernel(y.pointer, x.pointer, count)) })
        }
    }

    private static func binaryCase(_ name: String, _ shape: String, _ count: Int,
                                   _ kernel: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Int32) -> BenchCase {
        BenchCase(name: name, shape: shape, work: .bytes(12 * Double(count))) {
            let saved = BenchBuffer(count: count, low: -4, high: 4), dy = BenchBuffer(count: count, seed: 2)
            let dx = BenchBuffer(count: count)
            return BenchBodies(body: { try tlCheck(kernel(dx.pointer, dy.pointer, saved.pointer, count)) })
        }
    }

    private static func softmaxCase(log: Bool, backward: Bool, rows: Int, classes: Int) -> BenchCase {
        let count = rows * classes
        let name = (log ? "log_softmax" : "softmax") + (backward ? "_bwd" : "_fwd")
        return BenchCase(name: name, shape: "\(rows)x\(classes) axis 1", work: .bytes((backward ? 12 : 8) * Double(count))) {
            let x = BenchBuffer(count: count, low: -5, high: 5), y = BenchBuffer(count: count)
            let dy = BenchBuffer(count: count, seed: 2), dx = BenchBuffer(count: count)
            let forward = {
                try tlCheck(log ? tl_log_softmax_forward(y.pointer, x.pointer, rows, classes, 1)
                                : tl_softmax_forward(y.pointer, x.pointer, rows, classes, 1))
            }
            try forward()
            return BenchBodies(body: backward ? {
                try tlCheck(log ? tl_log_softmax_backward(dx.pointer, dy.pointer, y.pointer, rows, classes, 1)
                                : tl_softmax_backward(dx.pointer, dy.pointer, y.pointer, rows, classes, 1))
            } : forward)
        }
    }
}
