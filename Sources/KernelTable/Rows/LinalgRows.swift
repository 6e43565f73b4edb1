import Foundation
import TrainingLab

/// Small dense linear algebra (include/tl_linalg.h) against plain elimination and Householder loops in Double.
extension KernelTable {
    static var linalg: [KernelRow] { [logdet, qr, luInverse, etfAngleObjective] }

    private static var logdet: KernelRow {
        let shape = { (n: Int, k: Int, ridge: Double) -> KernelShape in ["n": Double(n), "k": Double(k), "ridge": ridge] }
        return KernelRow(
            name: "logdet_spd", family: "linalg", forward: "tl_logdet_spd", backward: "tl_logdet_spd (inverse output)",
            reference: "Swift: log|det| by Gaussian elimination with pivoting and the Gauss-Jordan inverse, in Double",
            tolerance: Tolerance(abs: 2e-7, rel: 0), backwardTolerance: Tolerance(abs: 1e-4, rel: 1e-3),
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 1e-4, rel: 1e-3), shapes: [shape(6, 4, 0.5).with("asymmetric", 1)]),
            shapes: [shape(1, 1, 0.5), shape(5, 3, 0.5), shape(40, 8, 0.1), shape(130, 128, 0.5), shape(6, 4, 0.5).with("asymmetric", 1)],
            benchShapes: [shape(256, 64, 0.1)],
            work: { s in (.flops(pow(s.value("n"), 3) / 3), .flops(pow(s.value("n"), 3))) },
            note: "B = (a + a^T)/2 + ridge I of a Gram matrix; the backward is the same call's inverse output (= d logdet / d a) times the upstream",
            make: { s in
                let (n, k, ridge) = (s.int("n"), s.int("k"), s.value("ridge")), c = KernelCase()
                let g = kernelRandom(n * k, seed: c.seed())
                var a = (0..<(n * n)).map { e in (0..<k).reduce(Float(0)) { $0 + g[(e / n) * k + $1] * g[(e % n) * k + $1] } }
                if s.has("asymmetric") { a[1] += 0.2 }  // not symmetric: the op reads (a + a^T)/2
                let ab = c.input("a", a, gradient: true)
                let value = c.output("logdet", 1, .f64, gradient: true)
                c.forward { tl_logdet_spd(value.f64, nil, ab.f, n, ridge) }
                c.backward {
                    var scratch = 0.0
                    let status = tl_logdet_spd(&scratch, ab.grad.f, ab.f, n, ridge)
                    for i in 0..<(n * n) { ab.grad.f[i] *= value.up.f[0] }
                    return status
                }
                let b = { (0..<(n * n)).map { e in (ab[e] + ab[(e % n) * n + e / n]) / 2 + (e / n == e % n ? ridge : 0) } }
                c.reference { ["logdet": [Reference.logAbsDet(b(), n)]] }
                c.referenceBackward { ["da": Reference.inverse(b(), n).map { $0 * value.up[0] }] }
                return c
            })
    }

    private static var qr: KernelRow {
        let shape = { (m: Int, n: Int) -> KernelShape in ["m": Double(m), "n": Double(n)] }
        return KernelRow(
            name: "qr", family: "linalg", forward: "tl_qr", backward: "tl_qr_backward",
            reference: "Swift: Householder QR in Double with LAPACK's sign convention (r_jj = -sign(alpha) ||column||)",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-4),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 2e-3, rel: 2e-2), shapes: [shape(6, 4), shape(5, 3)]),
            shapes: [shape(1, 1), shape(5, 3), shape(7, 7), shape(33, 10), shape(6, 4)], benchShapes: [shape(256, 64)],
            work: { s in (.flops(2 * s.value("m") * pow(s.value("n"), 2)), .flops(4 * s.value("m") * pow(s.value("n"), 2))) },
            make: { s in
                let (m, n) = (s.int("m"), s.int("n")), c = KernelCase()
                let a = c.uniform("a", m * n, gradient: true)
                let q = c.output("q", m * n, gradient: true), r = c.output("r", n * n, gradient: true)
                c.forward { tl_qr(q.f, r.f, a.f, m, n) }
                c.backward { tl_qr_backward(a.grad.f, q.up.f, r.up.f, q.f, r.f, m, n) }
                c.reference {
                    let (qv, rv) = Reference.householderQR(a.values, m, n)
                    return ["q": qv, "r": rv]
                }
                return c
            })
    }

    private static var luInverse: KernelRow {
        KernelRow(
            name: "lu_inverse", family: "linalg", forward: "tl_lu_inverse",
            reference: "Swift: Gauss-Jordan inverse and log|det| by elimination with pivoting, in Double",
            tolerance: Tolerance(abs: 1e-3, rel: 1e-3), shapes: [1, 4, 9, 50].map { ["n": Double($0)] }, benchShapes: [["n": 256]],
            work: { s in (.flops(2 * pow(s.value("n"), 3)), nil) }, note: "log|det| compared at 1e-4 n; no backward",
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let a = c.uniform("a", n * n)
                let inverse = c.output("inverse", n * n), value = c.output("logabsdet", 1, .f64, tolerance: Tolerance(abs: 1e-4 * Double(n), rel: 0))
                c.forward { tl_lu_inverse(inverse.f, value.f64, a.f, n) }
                c.reference { ["inverse": Reference.inverse(a.values, n), "logabsdet": [Reference.logAbsDet(a.values, n)]] }
                return c
            })
    }

    private static var etfAngleObjective: KernelRow {
        let shape = { (d: Int, c: Int) -> KernelShape in ["d": Double(d), "c": Double(c)] }
        return KernelRow(
            name: "etf_angle_objective", family: "linalg", forward: "tl_etf_angle_objective",
            backward: "tl_etf_angle_objective (gradient output)",
            reference: "Swift: the SSE-C objective from its definition (column norms, max cosine per class, acos), in Double",
            tolerance: Tolerance(abs: 1e-9, rel: 1e-10), backwardTolerance: Tolerance(abs: 2e-3, rel: 1e-2),
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 2e-3, rel: 1e-2), shapes: [shape(7, 4), shape(3, 3)]),
            shapes: [shape(7, 4), shape(16, 10), shape(3, 3), shape(128, 10)], benchShapes: [shape(128, 10)],
            work: { s in
                let flops = 2 * s.value("d") * s.value("c") * s.value("c")
                return (.flops(flops), .flops(2 * flops))
            },
            note: "FedLoGe's SSE-C refinement (norm 0.1, limit 0.99999); the backward is the same call's gradient output times the upstream",
            make: { s in
                let (d, classes) = (s.int("d"), s.int("c")), c = KernelCase()
                let m = c.uniform("m", d * classes, gradient: true)
                let value = c.output("loss", 1, .f64, gradient: true)
                c.forward {
                    var scratch = [Float](repeating: 0, count: d * classes)
                    return tl_etf_angle_objective(value.f64, &scratch, m.f, d, classes, 0.1, 0.99999)
                }
                c.backward {
                    var scratch = 0.0
                    let status = tl_etf_angle_objective(&scratch, m.grad.f, m.f, d, classes, 0.1, 0.99999)
                    for i in 0..<(d * classes) { m.grad.f[i] *= value.up.f[0] }
                    return status
                }
                c.reference { ["loss": [Reference.etfAngleObjective(m.values, d: d, classes: classes, norm: 0.1, limit: 0.99999)]] }
                return c
            })
    }
}

extension Reference {
    /// log |det(a)| of a (n, n) by Gaussian elimination with partial pivoting.
    public static func logAbsDet(_ a: [Double], _ n: Int) -> Double {
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

    /// a^-1 of a (n, n) by Gauss-Jordan elimination with partial pivoting.
    public static func inverse(_ a: [Double], _ n: Int) -> [Double] {
        var m = a, inv = (0..<(n * n)).map { $0 / n == $0 % n ? 1.0 : 0 }
        for c in 0..<n {
            let p = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
            for k in 0..<n { m.swapAt(c * n + k, p * n + k); inv.swapAt(c * n + k, p * n + k) }
            let d = m[c * n + c]
            for k in 0..<n { m[c * n + k] /= d; inv[c * n + k] /= d }
            for r in 0..<n where r != c {
                let f = m[r * n + c]
                for k in 0..<n { m[r * n + k] -= f * m[c * n + k]; inv[r * n + k] -= f * inv[c * n + k] }
            }
        }
        return inv
    }

    /// Reduced QR of a (m, n), m >= n, by Householder reflections with LAPACK's sign choice: q (m, n), r (n, n).
    public static func householderQR(_ a: [Double], _ m: Int, _ n: Int) -> (q: [Double], r: [Double]) {
        var work = a, vs: [[Double]] = []
        for j in 0..<n {
            let alpha = work[j * n + j], tail = ((j + 1)..<m).reduce(0.0) { $0 + work[$1 * n + j] * work[$1 * n + j] }
            var v = [Double](repeating: 0, count: m)
            if tail == 0 {
                vs.append(v)  // H = I, r_jj = alpha
                continue
            }
            let beta = -(alpha >= 0 ? 1.0 : -1.0) * (alpha * alpha + tail).squareRoot()
            v[j] = alpha - beta
            for i in (j + 1)..<m { v[i] = work[i * n + j] }
            let vv = v.reduce(0) { $0 + $1 * $1 }
            for col in j..<n {
                let dot = (j..<m).reduce(0.0) { $0 + v[$1] * work[$1 * n + col] }
                for i in j..<m { work[i * n + col] -= 2 * v[i] * dot / vv }
            }
            vs.append(v)
        }
        let r = (0..<(n * n)).map { e in e / n <= e % n ? work[(e / n) * n + e % n] : 0 }
        // q = H_0 ... H_{n-1} applied to the first n columns of the identity.
        var q = (0..<(m * n)).map { $0 / n == $0 % n ? 1.0 : 0 }
        for j in stride(from: n - 1, through: 0, by: -1) {
            let v = vs[j], vv = v.reduce(0) { $0 + $1 * $1 }
            if vv == 0 { continue }
            for col in 0..<n {
                let dot = (0..<m).reduce(0.0) { $0 + v[$1] * q[$1 * n + col] }
                for i in 0..<m { q[i * n + col] -= 2 * v[i] * dot / vv }
            }
        }
        return (q, r)
    }
}

extension Reference {
    /// FedLoGe's SSE-C objective of m (d, classes) row-major, column k = class vector m_k:
    /// sum_k (||m_k|| - norm)^2 - mean_k acos(clamp(max_{j != k} cos(m_k, m_j), -limit, limit)).
    public static func etfAngleObjective(_ m: [Double], d: Int, classes: Int, norm: Double, limit: Double) -> Double {
        func column(_ k: Int) -> [Double] { (0..<d).map { m[$0 * classes + k] } }
        func length(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var loss = 0.0
        for k in 0..<classes {
            let a = column(k)
            loss += (length(a) - norm) * (length(a) - norm)
            var best = -Double.infinity
            for j in 0..<classes where j != k {
                let b = column(j)
                best = max(best, zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (length(a) * length(b)))
            }
            loss -= Foundation.acos(min(max(best, -limit), limit)) / Double(classes)
        }
        return loss
    }
}
