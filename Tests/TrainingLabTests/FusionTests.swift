import XCTest
import TrainingLab

/// Fused layer sequences (batch norm + ReLU, batch norm + residual add + ReLU): autograd against finite
/// differences, and whole models with fusion on against the op-by-op computation.
final class FusionTests: XCTestCase {
    /// Inputs whose values before the ReLU stay at least `margin` from 0, so that the finite-difference probes
    /// (which move them by less) never cross the kink: the first seed from `seed` that gives such inputs.
    private func awayFromKink(seed: UInt64, margin: Float = 0.06, _ preActivation: (Tensor, Tensor) throws -> Tensor) throws -> (Tensor, Tensor) {
        var s = seed
        while true {
            let x = Tensor.uniform([2, 3, 4, 5], low: -1, high: 1, seed: s, requiresGrad: true)
            let r = Tensor.uniform([2, 3, 4, 5], low: -1, high: 1, seed: s + 1, requiresGrad: true)
            let v = try withoutGradients { try preActivation(x, r) }
            if v.scalars.allSatisfy({ abs($0) >= margin }) { return (x, r) }
            s += 2
        }
    }

    func testFusedOpsGradientsAgainstFiniteDifferences() throws {
        let gamma = Tensor.uniform([3], low: 0.5, high: 1.5, seed: 23, requiresGrad: true)
        let beta = Tensor.uniform([3], low: -0.3, high: 0.3, seed: 24, requiresGrad: true)
        let rm = Tensor(zeros: [3]), rv = Tensor(shape: [3], repeating: 1)
        let stats = Tensor.uniform([3], low: 0.5, high: 1.5, seed: 25)
        func train(_ x: Tensor) throws -> Tensor {
            try batchNormTraining(x, gamma: gamma, beta: beta, runningMean: Tensor(zeros: [3]), runningVar: Tensor(zeros: [3]),
                                  momentum: 0.1, eps: 1e-5)
        }
        func infer(_ x: Tensor) throws -> Tensor {
            try batchNormInference(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: stats, eps: 1e-5)
        }
        var (x, r) = try awayFromKink(seed: 100) { x, _ in try train(x) }
        try assertGradientsMatch([x, gamma, beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3) { t in
            try batchNormReLUTraining(t[0], gamma: t[1], beta: t[2], runningMean: rm, runningVar: rv, momentum: 0.1, eps: 1e-5)
        }
        (x, r) = try awayFromKink(seed: 200) { x, r in try train(x) + r }
        try assertGradientsMatch([x, r, gamma, beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3) { t in
            try batchNormAddReLUTraining(t[0], residual: t[1], gamma: t[2], beta: t[3], runningMean: rm, runningVar: rv,
                                         momentum: 0.1, eps: 1e-5)
        }
        (x, r) = try awayFromKink(seed: 300) { x, _ in try infer(x) }
        try assertGradientsMatch([x, gamma, beta]) { t in
            try batchNormReLUInference(t[0], gamma: t[1], beta: t[2], runningMean: rm, runningVar: stats, eps: 1e-5)
        }
        (x, r) = try awayFromKink(seed: 400) { x, r in try infer(x) + r }
        try assertGradientsMatch([x, gamma, beta, r]) { t in
            try batchNormReLUInference(t[0], residual: t[3], gamma: t[1], beta: t[2], runningMean: rm, runningVar: stats, eps: 1e-5)
        }
        XCTAssertThrowsError(try batchNormAddReLUTraining(x, residual: Tensor(zeros: [2, 3, 4, 4]), gamma: gamma, beta: beta,
                                                          runningMean: rm, runningVar: rv, momentum: 0.1, eps: 1e-5))
        XCTAssertThrowsError(try batchNormReLUTraining(x, gamma: Tensor(zeros: [2]), beta: beta, runningMean: rm, runningVar: rv,
                                                       momentum: 0.1, eps: 1e-5))
    }

    /// One training step's outputs, parameter gradients and running statistics, and the evaluation output
    /// with its input gradient, of a model built from a seed.
    private func run(_ name: String, _ c: Int, _ side: Int, fused: Bool) throws -> (out: [Float], grads: [[Float]], state: [[Float]], eval: [Float], dx: [Float], plainEval: [Float]) {
        let previous = LayerFusion.isEnabled
        LayerFusion.isEnabled = fused
        defer { LayerFusion.isEnabled = previous }
        let model = try ModelZoo.make(name, channels: c, height: side, width: side, classes: 10, seed: 3)
        let x = Tensor.uniform([4, c, side, side], low: -1, high: 1, seed: 4)
        let out = try model(x)
        try crossEntropy(out, labels: [1, 2, 3, 4]).mean().backward()
        model.eval()
        let xe = Tensor.uniform([4, c, side, side], low: -1, high: 1, seed: 5, requiresGrad: true)
        let eval = try model(xe)
        try eval.sum().backward()
        let plainEval = try withoutGradients { try model(xe) }  // without recording: the fused inference kernels
        return (out.scalars, model.parameters().map { $0.grad!.scalars }, model.namedState().map(\.1.scalars), eval.scalars,
                xe.grad!.scalars, plainEval.scalars)
    }

    func testFusedModelsMatchOpByOp() throws {
        for (name, c, side) in [("smallcnn", 1, 12), ("smallcnn", 3, 10), ("resnet8", 3, 8)] {
            let fused = try run(name, c, side, fused: true), plain = try run(name, c, side, fused: false)
            // Batch norm takes its affine coefficients from the float statistics in both forms, so the forward
            // values, running statistics and the evaluation pass agree bit for bit, and so do the gradients of
            // batch norm + (residual +) ReLU; the fused batch norm + ReLU + max pool backward (smallcnn) sums
            // in another order, so there they differ by rounding.
            XCTAssertEqual(fused.out, plain.out, "\(name) logits")
            for (i, (a, b)) in zip(fused.grads, plain.grads).enumerated() {
                if name == "resnet8" { XCTAssertEqual(a, b, "\(name) gradient of parameter \(i)") }
                assertClose(a, b, rtol: 1e-3, atol: 1e-5, "\(name) gradient of parameter \(i)")
            }
            XCTAssertEqual(fused.state, plain.state, "\(name) running statistics")
            XCTAssertEqual(fused.eval, plain.eval, "\(name) evaluation output")
            XCTAssertEqual(fused.dx, plain.dx, "\(name) evaluation input gradient")
            XCTAssertEqual(fused.plainEval, fused.eval, "\(name) evaluation output without recording")
        }
    }
}

/// |a - e| <= atol + rtol |e| elementwise, reporting the worst element.
private func assertClose(_ a: [Float], _ e: [Float], rtol: Float, atol: Float, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, e.count, message, file: file, line: line)
    var worst: (Int, Float)? = nil
    for i in 0..<min(a.count, e.count) {
        let excess = abs(a[i] - e[i]) - (atol + rtol * abs(e[i]))
        if !(excess <= 0), worst == nil || !(excess <= worst!.1) { worst = (i, excess.isNaN ? .infinity : excess) }
    }
    if let (i, _) = worst { XCTFail("\(message): [\(i)] \(a[i]) vs \(e[i])", file: file, line: line) }
}
