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

/// QR and the LU inverse against plain references; the QR gradient against finite differences.
final class FactorizationKernelTests: XCTestCase {
    func testQRReconstructsWithOrthonormalQAndTriangularR() {
        for (m, n) in [(1, 1), (5, 3), (7, 7), (33, 10)] {
            let a = randomFloats(m * n, seed: UInt64(m * n))
            var q = [Float](repeating: 0, count: m * n), r = [Float](repeating: 0, count: n * n)
            XCTAssertEqual(tl_qr(&q, &r, a, m, n), 0)
            let qr = (0..<(m * n)).map { e in (0..<n).reduce(Float(0)) { $0 + q[(e / n) * n + $1] * r[$1 * n + e % n] } }
            assertClose(qr, a, rtol: 1e-4, atol: 1e-5, "q r = a for \(m)x\(n)")
            let qtq = (0..<(n * n)).map { e in (0..<m).reduce(Float(0)) { $0 + q[$1 * n + e / n] * q[$1 * n + e % n] } }
            assertClose(qtq, (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 }, rtol: 0, atol: 1e-5, "qᵀq = I for \(m)x\(n)")
            for i in 0..<n { for j in 0..<i { XCTAssertEqual(r[i * n + j], 0) } }
        }
        var q = [Float](repeating: 0, count: 6), r = [Float](repeating: 0, count: 9)
        assertFails(tl_qr(&q, &r, [Float](repeating: 1, count: 6), 2, 3), TL_ERR_INVALID_ARGUMENT, mentioning: "m >= n")
    }

    func testQRBackwardMatchesFiniteDifferences() {
        let (m, n) = (6, 4)
        let a = randomFloats(m * n, seed: 41)
        let dq = randomFloats(m * n, seed: 42), dr = randomFloats(n * n, seed: 43)
        var q = [Float](repeating: 0, count: m * n), r = [Float](repeating: 0, count: n * n)
        XCTAssertEqual(tl_qr(&q, &r, a, m, n), 0)
        var da = [Float](repeating: 0, count: m * n)
        XCTAssertEqual(tl_qr_backward(&da, dq, dr, q, r, m, n), 0)
        let numeric = numericalGradient(at: a, eps: 1e-2) { p in
            var q = [Float](repeating: 0, count: m * n), r = [Float](repeating: 0, count: n * n)
            _ = tl_qr(&q, &r, p, m, n)
            return dot(q, dq) + dot(r, dr)
        }
        assertClose(da, numeric, rtol: 2e-2, atol: 2e-3)
        var onlyQ = da
        XCTAssertEqual(tl_qr_backward(&onlyQ, dq, nil, q, r, m, n), 0, "a NULL dr counts as zero")
        var zeroR = [Float](repeating: 0, count: n * n)
        XCTAssertEqual(tl_qr_backward(&da, dq, &zeroR, q, r, m, n), 0)
        XCTAssertEqual(onlyQ, da)
        assertFails(tl_qr_backward(&da, dq, dr, q, [Float](repeating: 0, count: n * n), m, n), TL_ERR_NUMERIC, mentioning: "rank")
    }

    func testLUInverseAndLogAbsDeterminantMatchTheReference() {
        for n in [1, 4, 9, 50] {
            let a = randomFloats(n * n, seed: UInt64(n) + 50)
            var inverse = [Float](repeating: 0, count: n * n), value = 0.0
            XCTAssertEqual(tl_lu_inverse(&inverse, &value, a, n), 0)
            XCTAssertEqual(value, refLogAbsDet(a.map(Double.init), n), accuracy: 1e-4 * Double(n), "n \(n)")
            let product = (0..<(n * n)).map { e in (0..<n).reduce(Float(0)) { $0 + a[(e / n) * n + $1] * inverse[$1 * n + e % n] } }
            assertClose(product, (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 }, rtol: 0, atol: 1e-3, "a a⁻¹ = I for n \(n)")
            var onlyValue = 0.0
            XCTAssertEqual(tl_lu_inverse(nil, &onlyValue, a, n), 0)
            XCTAssertEqual(onlyValue, value)
        }
        var inverse = [Float](repeating: 0, count: 4)
        assertFails(tl_lu_inverse(&inverse, nil, [1, 2, 2, 4], 2), TL_ERR_NUMERIC, mentioning: "singular")
    }
}
