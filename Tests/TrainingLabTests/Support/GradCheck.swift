import XCTest
import TrainingLab

/// Compares the autograd gradient of sum(f(inputs) * r), r a fixed random direction, with central
/// differences for every input that requires gradients. Inputs are perturbed in place and restored.
func assertGradientsMatch(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                          file: StaticString = #filePath, line: UInt = #line,
                          _ f: ([Tensor]) throws -> Tensor) throws {
    for t in inputs { t.zeroGrad() }
    let out = try f(inputs)
    let direction = Tensor.uniform(out.shape, low: -1, high: 1, seed: 99)
    try (out * direction).sum().backward()
    func probe() throws -> Double {
        let y = try withoutGradients { try f(inputs) }
        var s = 0.0
        for i in 0..<y.count { s += Double(y.pointer[i]) * Double(direction.pointer[i]) }
        return s
    }
    for (k, t) in inputs.enumerated() where t.requiresGrad {
        guard let analytic = t.grad?.scalars else {
            XCTFail("input \(k) received no gradient", file: file, line: line)
            continue
        }
        var numeric = [Float](repeating: 0, count: t.count)
        for i in 0..<t.count {
            let saved = t.pointer[i]
            t.pointer[i] = saved + eps
            let up = try probe()
            t.pointer[i] = saved - eps
            let down = try probe()
            t.pointer[i] = saved
            numeric[i] = Float((up - down) / Double(2 * eps))
        }
        for i in 0..<t.count where !(abs(analytic[i] - numeric[i]) <= atol + rtol * abs(numeric[i])) {
            XCTFail("input \(k) [\(i)]: autograd \(analytic[i]) vs finite difference \(numeric[i])", file: file, line: line)
            break
        }
    }
}
