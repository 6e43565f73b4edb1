import XCTest
import Foundation
import TrainingLab

/// The differentiable ops of the set losses: exp, log, masked log-sum-exp, L2 row normalisation and
/// log-determinants, against plain references and finite differences.
final class ExpLogLinalgOpsTests: XCTestCase {
    func testExpLogAndNormalisationGradients() throws {
        let x = Tensor.uniform([3, 5], low: -1, high: 1, seed: 1, requiresGrad: true)
        try assertGradientsMatch([x], eps: 1e-3) { try exp($0[0]) }
        let p = Tensor.uniform([3, 5], low: 0.5, high: 2, seed: 2, requiresGrad: true)
        try assertGradientsMatch([p], eps: 1e-3) { try log($0[0]) }
        try assertGradientsMatch([x], eps: 1e-3) { try l2Normalized($0[0]) }
        let unit = try l2Normalized(x).scalars
        for r in 0..<3 { XCTAssertEqual((0..<5).reduce(Float(0)) { $0 + unit[r * 5 + $1] * unit[r * 5 + $1] }, 1, accuracy: 1e-6) }
        XCTAssertThrowsError(try l2Normalized(Tensor(zeros: [4])))
    }

    func testLogSumExpOfRowsAndColumnsWithMask() throws {
        let values: [Float] = [1, 2, 3, -1, 0, 4]
        let x = try Tensor(values, shape: [2, 3], requiresGrad: true)
        let mask = [true, false, true, false, false, true]
        let rows = try logSumExp(x, axis: 1, mask: mask).scalars
        XCTAssertEqual(Double(rows[0]), Foundation.log(Foundation.exp(1.0) + Foundation.exp(3.0)), accuracy: 1e-6)
        XCTAssertEqual(rows[1], 4, accuracy: 1e-6)
        let columns = try logSumExp(x, axis: 0, mask: mask).scalars
        XCTAssertEqual(columns[0], 1, accuracy: 1e-6)
        XCTAssertEqual(columns[1], -.infinity)
        XCTAssertEqual(Double(columns[2]), Foundation.log(Foundation.exp(3.0) + Foundation.exp(4.0)), accuracy: 1e-6)
        for axis in [0, 1] {
            try assertGradientsMatch([x], eps: 1e-3) { try logSumExp($0[0], axis: axis) }
            try assertGradientsMatch([x], eps: 1e-3) { try logSumExp($0[0], axis: axis, mask: [true, true, true, false, true, true]) }
        }
        XCTAssertThrowsError(try logSumExp(x, axis: 2))
        XCTAssertThrowsError(try logSumExp(x, axis: 1, mask: [true]))
    }

    func testLogDeterminantGradientIsTheInverse() throws {
        let g = Tensor.uniform([5, 3], low: -1, high: 1, seed: 4)
        let a = try matmul(g, g, transposeB: true).copy()
        a.requiresGrad = true
        try assertGradientsMatch([a], eps: 1e-3, rtol: 1e-2, atol: 1e-3) { try logDeterminant($0[0], ridge: 0.5) }
        // Through the Gram matrix, the way the set losses use it (the small side and the large side).
        for shape in [[4, 6], [7, 3]] {
            let z = Tensor.uniform(shape, low: -1, high: 1, seed: 5, requiresGrad: true)
            try assertGradientsMatch([z], eps: 1e-3, rtol: 1e-2, atol: 1e-3) { try gramLogDeterminant($0[0], ridge: 0.5) }
        }
        XCTAssertThrowsError(try logDeterminant(Tensor(zeros: [2, 3])))
        XCTAssertThrowsError(try logDeterminant(try Tensor([1, 2, 2, 1], shape: [2, 2])), "indefinite")
        XCTAssertThrowsError(try gramLogDeterminant(Tensor(zeros: [5, 2]), ridge: 0), "n > d needs a ridge")
    }

    /// logdet(Z Zᵀ + δ I_n) = logdet(Zᵀ Z + δ I_d) + (n - d) log δ, the identity that replaces the
    /// 2B x 2B factorisation of the whole batch by a d x d one.
    func testGramLogDeterminantIdentity() throws {
        let w = try Tensor([0.3, -0.2, 0.5, 0.1, 0.4, -0.3, -0.6, 0.2, 0.1, 0.2, 0.2, 0.2, 0.5, -0.1, 0.0, -0.2, -0.4, 0.3, 0.0, 0.3, -0.5],
                           shape: [7, 3])
        let numpy = -2.431581071888246  // numpy.linalg.slogdet(W Wᵀ + 0.5 I)[1]
        let direct = try logDeterminant(matmul(w, w, transposeB: true), ridge: 0.5).item()
        let viaSmallSide = try gramLogDeterminant(w, ridge: 0.5).item()
        XCTAssertEqual(Double(direct), numpy, accuracy: 1e-5)
        XCTAssertEqual(Double(viaSmallSide), numpy, accuracy: 1e-5)
        for (n, d, ridge) in [(512, 128, 0.5), (130, 128, 0.5), (300, 16, 0.1)] {
            let z = try l2Normalized(Tensor.uniform([n, d], low: -1, high: 1, seed: UInt64(n + d)))
            let big = Double(try logDeterminant(matmul(z, z, transposeB: true), ridge: ridge).item())
            let small = Double(try gramLogDeterminant(z, ridge: ridge).item())
            // Both are rounded to float at the end: compare to 1e-5 of the magnitude.
            XCTAssertEqual(small, big, accuracy: 1e-5 * max(1, abs(big)), "n \(n) d \(d)")
        }
    }
}
