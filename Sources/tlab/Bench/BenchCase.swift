import TrainingLab

/// The amount of work one run of a case does, which turns its time into a rate.
enum BenchWork {
    case flops(Double)
    case bytes(Double)
    case elements(Double)
    case images(Double)
}

/// The bodies a prepared case times: its own, and optionally the same work done by a reference
/// implementation (OpenBLAS called directly, a plain loop), timed in the same run.
struct BenchBodies {
    var body: () throws -> Void
    var reference: (() throws -> Void)? = nil
}

/// One benchmark: a name, the shape it runs at, its work, and how to build its inputs.
struct BenchCase {
    var name: String
    var shape: String
    var work: BenchWork
    var prepare: () throws -> BenchBodies
}

/// A float buffer from the core's aligned allocator, filled with uniform values, freed on deinit.
final class BenchBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, seed: UInt64 = 1, low: Float = -1, high: Float = 1) {
        self.count = count
        pointer = tl_alloc(count * MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: count)
        _ = tl_rng_uniform(pointer, count, seed, 0, low, high)
    }

    deinit { tl_free(pointer) }
}
