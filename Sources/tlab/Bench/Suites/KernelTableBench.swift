import KernelTable
import TrainingLab

extension BenchSuites {
    /// Every row of the kernel table (Sources/KernelTable) at its bench shapes: `<row>_fwd` and `<row>_bwd`, or
    /// `<row>` for a row without a backward. Each case first checks its results against the row's reference at
    /// that shape (the backward against the reference backward, or finite differences at a few elements); a
    /// mismatch is reported for the case instead of a time.
    static var kernels: [BenchCase] {
        KernelTable.rows.flatMap { row in row.benchShapes.flatMap { kernelCases(row, $0) } }
    }

    private static func kernelCases(_ row: KernelRow, _ shape: KernelShape) -> [BenchCase] {
        let work = row.work(shape)
        let prepared = PreparedCase(row, shape)
        let forward = BenchCase(name: row.backward == nil ? row.name : row.name + "_fwd", shape: shape.description,
                                work: benchWork(work.forward)) {
            let c = try prepared.validated(keep: row.backward != nil)
            return BenchBodies(body: { try c.runForward() })
        }
        guard row.backward != nil, let backward = work.backward else { return [forward] }
        return [forward, BenchCase(name: row.name + "_bwd", shape: shape.description, work: benchWork(backward)) {
            let c = try prepared.validated(keep: false)
            return BenchBodies(body: { try c.runBackward() })
        }]
    }

    private static func benchWork(_ work: KernelWork) -> BenchWork {
        switch work {
        case .flops(let f): return .flops(f)
        case .bytes(let b): return .bytes(b)
        case .elements(let e): return .elements(e)
        }
    }
}

/// A row's case at one bench shape, built and validated once for its forward and backward bench cases, and
/// left with the forward's results in place (the state the backward reads). The case is dropped as soon as
/// its last bench case has it, so large shapes do not pile up.
private final class PreparedCase {
    let row: KernelRow
    let shape: KernelShape
    private var made: KernelCase?

    init(_ row: KernelRow, _ shape: KernelShape) {
        self.row = row
        self.shape = shape
    }

    func validated(keep: Bool) throws -> KernelCase {
        let c = try made ?? {
            let fresh = try row.make(shape)
            try KernelChecks.validate(row, fresh, shape)
            fresh.reset()
            try fresh.runForward()
            return fresh
        }()
        made = keep ? c : nil
        return c
    }
}
