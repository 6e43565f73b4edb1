import XCTest
import Foundation
import TrainingLab

/// log |det(a)| by Gaussian elimination with partial pivoting, plain Double.
private func refLogAbsDet(_ a: [Double], _ n: Int) -> Double {
    var m = a, result = 0.0
    for c in 0..<n {
        let p = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
        if p != c { for k in 0..<n { m.swapAt(c * n + k, p * n + k) } }
        result += Foundation.log(abs(m[c * n + c]))
        for r in (c + 1)..<n {
            let f = m[r * n + c] / m[c * n + c]
            for k in c..<n { m[r * n + k] -= f * m[c * n + k] }
        }
    }
    return result
}

/// A random symmetric PSD matrix g gᵀ (n, n) from g (n, k).
private func gram(_ n: Int, _ k: Int, seed: UInt64) -> [Float] {
    let g = randomFloats(n * k, seed: seed)
    return (0..<(n * n)).map { e in (0..<k).reduce(Float(0)) { $0 + g[(e / n) * k + $1] * g[(e % n) * k + $1] } }
}

final class LinalgTests: XCTestCase {
    func testLogDeterminantAndInverseMatchTheReference() {
        for (n, k, ridge) in [(1, 1, 0.5), (5, 3, 0.5), (40, 8, 0.1), (130, 128, 0.5)] {
            let a = gram(n, k, seed: UInt64(n))
            var value = 0.0
            var inverse = [Float](repeating: 0, count: n * n)
            XCTAssertEqual(tl_logdet_spd(&value, &inverse, a, n, ridge), 0)
            let b = (0..<(n * n)).map { Double(a[$0]) + ($0 / n == $0 % n ? ridge : 0) }
            XCTAssertEqual(value, refLogAbsDet(b, n), accuracy: 1e-9 * Double(n), "n \(n)")
            var worst = 0.0
            for i in 0..<n {
                for j in 0..<n {
                    let product = (0..<n).reduce(0.0) { $0 + b[i * n + $1] * Double(inverse[$1 * n + j]) }
                    worst = max(worst, abs(product - (i == j ? 1 : 0)))
                }
            }
            XCTAssertLessThan(worst, 1e-4, "B B^-1 = I, n \(n)")
            var alone = 0.0
            XCTAssertEqual(tl_logdet_spd(&alone, nil, a, n, ridge), 0)
            XCTAssertEqual(alone, value)
        }
    }

    func testGradientIsTheInverseOfTheSymmetrisedMatrix() {
        let n = 6
        var a = gram(n, 4, seed: 3)
        a[1] += 0.2  // not symmetric: the op reads (a + aᵀ)/2
        var value = 0.0
        var inverse = [Float](repeating: 0, count: n * n)
        XCTAssertEqual(tl_logdet_spd(&value, &inverse, a, n, 0.5), 0)
        let numeric = numericalGradient(at: a, eps: 1e-3) { probe in
            var v = 0.0
            _ = tl_logdet_spd(&v, nil, probe, n, 0.5)
            return v
        }
        assertClose(inverse, numeric, rtol: 1e-3, atol: 1e-4)
    }

    func testNotPositiveDefiniteAndNonFiniteInputsAreRefused() {
        var value = 0.0
        assertFails(tl_logdet_spd(&value, nil, [1, 2, 2, 1], 2, 0), TL_ERR_NUMERIC, mentioning: "pivot 1")
        assertFails(tl_logdet_spd(&value, nil, [0, 0, 0, 0], 2, -0.1), TL_ERR_NUMERIC, mentioning: "not positive definite")
        assertFails(tl_logdet_spd(&value, nil, [.nan, 0, 0, 1], 2, 0.5), TL_ERR_NUMERIC, mentioning: "pivot 0")
        assertFails(tl_logdet_spd(&value, nil, [1], 0, 0.5), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_logdet_spd(nil, nil, [1], 1, 0.5), TL_ERR_NULL_POINTER, mentioning: "logdet")
        assertFails(tl_logdet_spd(&value, nil, [1], 1, .infinity), TL_ERR_INVALID_ARGUMENT, mentioning: "ridge")
    }
}
