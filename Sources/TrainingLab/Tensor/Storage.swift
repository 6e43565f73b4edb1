import CTrainingLab
import Foundation

/// A 64-byte aligned float buffer owned by one or more tensors (reshapes share it).
/// Buffers go back to `BufferPool` instead of the system allocator: a training step allocates the
/// same sizes every iteration, and large fresh allocations would page-fault every time.
public final class Storage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = count
        pointer = BufferPool.shared.take(count: count)
    }

    deinit { BufferPool.shared.give(pointer, count: count) }
}

/// Caching allocator keyed by exact element count, bounded in total bytes.
final class BufferPool {
    static let shared = BufferPool(limitBytes: 1 << 31)

    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    private let limitBytes: Int
    private let lock = NSLock()

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    func take(count: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        if var list = free[count], let p = list.popLast() {
            free[count] = list
            cachedBytes -= count * 4
            lock.unlock()
            return p
        }
        lock.unlock()
        guard let raw = tl_alloc(max(count, 1) * MemoryLayout<Float>.stride) else {
            fatalError("TrainingLab: out of memory allocating \(count) floats")
        }
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        lock.lock()
        if cachedBytes + count * 4 <= limitBytes {
            free[count, default: []].append(p)
            cachedBytes += count * 4
            lock.unlock()
        } else {
            lock.unlock()
            tl_free(p)
        }
    }

    /// Frees every cached buffer (for tests and between large jobs).
    func trim() {
        lock.lock()
        for list in free.values { for p in list { tl_free(p) } }
        free.removeAll()
        cachedBytes = 0
        lock.unlock()
    }
}
