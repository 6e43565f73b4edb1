import TrainingLab

/// Normalisation cases at training sizes (smallcnn and resnet20 first layers, which stay largely in the
/// 32 MB L3 between calls) and one DRAM-sized shape (128x64x56x56). Rates count the bytes each kernel
/// actually moves: batch norm reads its input twice (statistics, then normalisation), so the training
/// forward moves 12 bytes per element (x twice, y once) and the backward 20 (dy and x twice, dx once).
extension BenchSuites {
    static var norm: [BenchCase] {
        let shapes = [(128, 32, 28, 28), (128, 16, 32, 32), (128, 64, 56, 56)]
        return shapes.flatMap { s in [batchNormTrainForward(s), batchNormTrainBackward(s)] }
            + [batchNormEvalForward(shapes[0]), instanceNorm(shapes[0], backward: false), instanceNorm(shapes[0], backward: true),
               layerNorm(rows: 4096, d: 768, backward: false), layerNorm(rows: 4096, d: 768, backward: true)]
    }

    private static func label(_ s: (Int, Int, Int, Int)) -> String { "\(s.0)x\(s.1)x\(s.2)x\(s.3)" }

    private static func batchNormTrainForward(_ s: (Int, Int, Int, Int)) -> BenchCase {
        let (n, c, h, w) = s
        let count = n * c * h * w
        return BenchCase(name: "batchnorm_train_fwd", shape: label(s), work: .bytes(12 * Double(count))) {
            let x = BenchBuffer(count: count), y = BenchBuffer(count: count)
            let gamma = BenchBuffer(count: c, low: 0.5, high: 1.5), beta = BenchBuffer(count: c)
            let mean = BenchBuffer(count: c), rstd = BenchBuffer(count: c)
            let runningMean = BenchBuffer(count: c), runningVar = BenchBuffer(count: c, low: 0.5, high: 1.5)
            return BenchBodies(body: {
                try tlCheck(tl_batchnorm_train_forward(y.pointer, mean.pointer, rstd.pointer, runningMean.pointer, runningVar.pointer,
                                                       x.pointer, gamma.pointer, beta.pointer, n, c, h * w, 0.1, 1e-5))
            })
        }
    }

    private static func batchNormTrainBackward(_ s: (Int, Int, Int, Int)) -> BenchCase {
        let (n, c, h, w) = s
        let count = n * c * h * w
        return BenchCase(name: "batchnorm_train_bwd", shape: label(s), work: .bytes(20 * Double(count))) {
            let x = BenchBuffer(count: count), y = BenchBuffer(count: count), dy = BenchBuffer(count: count, seed: 2)
            let dx = BenchBuffer(count: count)
            let gamma = BenchBuffer(count: c, low: 0.5, high: 1.5), beta = BenchBuffer(count: c)
            let mean = BenchBuffer(count: c), rstd = BenchBuffer(count: c), dgamma = BenchBuffer(count: c), dbeta = BenchBuffer(count: c)
            try tlCheck(tl_batchnorm_train_forward(y.pointer, mean.pointer, rstd.pointer, nil, nil,
                                                   x.pointer, gamma.pointer, beta.pointer, n, c, h * w, 0.1, 1e-5))
            return BenchBodies(body: {
                try tlCheck(tl_batchnorm_train_backward(dx.pointer, dgamma.pointer, dbeta.pointer, dy.pointer, x.pointer,
                                                        gamma.pointer, mean.pointer, rstd.pointer, n, c, h * w))
            })
        }
    }

    private static func batchNormEvalForward(_ s: (Int, Int, Int, Int)) -> BenchCase {
        let (n, c, h, w) = s
        let count = n * c * h * w
        return BenchCase(name: "batchnorm_eval_fwd", shape: label(s), work: .bytes(8 * Double(count))) {
            let x = BenchBuffer(count: count), y = BenchBuffer(count: count)
            let gamma = BenchBuffer(count: c, low: 0.5, high: 1.5), beta = BenchBuffer(count: c)
            let runningMean = BenchBuffer(count: c), runningVar = BenchBuffer(count: c, low: 0.5, high: 1.5)
            return BenchBodies(body: {
                try tlCheck(tl_batchnorm_eval_forward(y.pointer, x.pointer, gamma.pointer, beta.pointer, runningMean.pointer,
                                                      runningVar.pointer, n, c, h * w, 1e-5))
            })
        }
    }

    /// Group norm with G = C (instance norm, the `convnet` of dataset distillation): the same traffic as batch norm.
    private static func instanceNorm(_ s: (Int, Int, Int, Int), backward: Bool) -> BenchCase {
        let (n, c, h, w) = s
        let count = n * c * h * w
        return BenchCase(name: backward ? "instancenorm_bwd" : "instancenorm_fwd", shape: label(s) + " G=C",
                         work: .bytes((backward ? 20 : 12) * Double(count))) {
            let x = BenchBuffer(count: count), y = BenchBuffer(count: count), dy = BenchBuffer(count: count, seed: 2)
            let dx = BenchBuffer(count: count)
            let gamma = BenchBuffer(count: c, low: 0.5, high: 1.5), beta = BenchBuffer(count: c)
            let mean = BenchBuffer(count: n * c), rstd = BenchBuffer(count: n * c), dgamma = BenchBuffer(count: c), dbeta = BenchBuffer(count: c)
            let forward = {
                try tlCheck(tl_groupnorm_forward(y.pointer, mean.pointer, rstd.pointer, x.pointer, gamma.pointer, beta.pointer,
                                                 n, c, h * w, c, 1e-5))
            }
            try forward()
            return BenchBodies(body: backward ? {
                try tlCheck(tl_groupnorm_backward(dx.pointer, dgamma.pointer, dbeta.pointer, dy.pointer, x.pointer, gamma.pointer,
                                                  mean.pointer, rstd.pointer, n, c, h * w, c))
            } : forward)
        }
    }

    /// Layer norm over transformer-sized rows; the row stays in L1, so x is read once from memory.
    private static func layerNorm(rows: Int, d: Int, backward: Bool) -> BenchCase {
        let count = rows * d
        return BenchCase(name: backward ? "layernorm_bwd" : "layernorm_fwd", shape: "\(rows)x\(d)",
                         work: .bytes((backward ? 12 : 8) * Double(count))) {
            let x = BenchBuffer(count: count), y = BenchBuffer(count: count), dy = BenchBuffer(count: count, seed: 2)
            let dx = BenchBuffer(count: count)
            let gamma = BenchBuffer(count: d, low: 0.5, high: 1.5), beta = BenchBuffer(count: d)
            let mean = BenchBuffer(count: rows), rstd = BenchBuffer(count: rows), dgamma = BenchBuffer(count: d), dbeta = BenchBuffer(count: d)
            let forward = {
                try tlCheck(tl_layernorm_forward(y.pointer, mean.pointer, rstd.pointer, x.pointer, gamma.pointer, beta.pointer, rows, d, 1e-5))
            }
            try forward()
            return BenchBodies(body: backward ? {
                try tlCheck(tl_layernorm_backward(dx.pointer, dgamma.pointer, dbeta.pointer, dy.pointer, x.pointer, gamma.pointer,
                                                  mean.pointer, rstd.pointer, rows, d))
            } : forward)
        }
    }
}
