import Foundation
import TrainingLab

/// Counter-based random streams (include/tl_rng.h) against the inline Philox word of each element
/// (RNGTests checks Philox itself against published known answers).
extension KernelTable {
    static var rng: [KernelRow] { [uniformRow, normalRow, bernoulliRow] }

    /// Sizes and offsets: odd, a block boundary mid-call, above the parallel threshold, offsets past 2^32.
    private static let rngShapes: [KernelShape] = [(1, 0), (7, 3), (1000, 5), (300_001, 0), (70_001, Double(UInt64(1) << 33 | 2))]
        .map { ["n": $0.0, "offset": $0.1] }
    private static let rngBench: KernelShape = ["n": 16_777_216, "offset": 0]

    private static func rngRow(_ name: String, reference: String, tolerance: Tolerance, note: String,
                               call: @escaping (UnsafeMutablePointer<Float>, Int, UInt64) -> Int32,
                               word: @escaping (Int, UInt64) -> Double) -> KernelRow {
        KernelRow(
            name: name, family: "rng", forward: "tl_\(name)", reference: reference, tolerance: tolerance, shapes: rngShapes,
            benchShapes: [rngBench], work: { s in (.bytes(4 * s.value("n")), nil) }, note: note + "; seed 42; no backward",
            make: { s in
                let n = s.int("n"), offset = UInt64(s.value("offset")), c = KernelCase()
                let out = c.output("out", n)
                c.forward { call(out.f, n, offset) }
                c.reference { ["out": (0..<n).map { word($0, offset) }] }
                return c
            })
    }

    private static var uniformRow: KernelRow {
        rngRow("rng_uniform", reference: "Swift: low + (high - low) u(word offset + i) in Float", tolerance: .exact, note: "[-1, 1)",
               call: { tl_rng_uniform($0, $1, 42, $2, -1, 1) },
               word: { i, offset in Double(-1 + 2 * tl_u32_to_unit(tl_rng_u32(42, offset + UInt64(i)))) })
    }

    private static var normalRow: KernelRow {
        rngRow("rng_normal", reference: "Swift: Box-Muller on words 2(offset + i) and 2(offset + i) + 1, in Double",
               tolerance: Tolerance(abs: 1e-6, rel: 1e-6), note: "mean 2, std 3",
               call: { tl_rng_normal($0, $1, 42, $2, 2, 3) },
               word: { i, offset in
                   let w = 2 * (offset + UInt64(i))
                   let u1 = 1 - Double(tl_u32_to_unit(tl_rng_u32(42, w))), u2 = Double(tl_u32_to_unit(tl_rng_u32(42, w + 1)))
                   return 2 + 3 * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
               })
    }

    private static var bernoulliRow: KernelRow {
        rngRow("rng_bernoulli", reference: "Swift: u(word offset + i) < p", tolerance: .exact, note: "p 0.3",
               call: { tl_rng_bernoulli($0, $1, 42, $2, 0.3) },
               word: { i, offset in tl_u32_to_unit(tl_rng_u32(42, offset + UInt64(i))) < 0.3 ? 1 : 0 })
    }
}
