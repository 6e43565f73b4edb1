import CTrainingLab
import Foundation

/// backend=mpi for runs without clients: the ranks of the MPI job as data-parallel replicas. A sum gathers
/// every rank's values at rank 0, which adds them in rank order and sends the result back, so every rank
/// gets the same bits. A rank that sends nothing for the transport's time limit ends the run with an error
/// (which aborts the job): data-parallel training cannot go on without one of its shards.
final class MPIReplicaGroup: ReplicaGroup {
    let transport: MPITransport

    init(transport: MPITransport) { self.transport = transport }

    var rank: Int { transport.rank }
    var count: Int { transport.ranks }

    func sum(_ values: Tensor) throws {
        let bytes = try exchange(Data(bytes: values.pointer, count: values.count * MemoryLayout<Float>.size)) { total, part in
            try tlCheck(total.withUnsafeMutableBytes { t in
                part.withUnsafeBytes { p in
                    tl_axpy(t.baseAddress!.assumingMemoryBound(to: Float.self), p.baseAddress!.assumingMemoryBound(to: Float.self), values.count, 1)
                }
            })
        }
        bytes.withUnsafeBytes { values.pointer.update(from: $0.baseAddress!.assumingMemoryBound(to: Float.self), count: values.count) }
    }

    func sum(_ values: [Double]) throws -> [Double] {
        let bytes = try exchange(values.withUnsafeBytes { Data($0) }) { total, part in
            var sums = total.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            part.withUnsafeBytes { for (i, v) in $0.bindMemory(to: Double.self).enumerated() { sums[i] += v } }
            total = sums.withUnsafeBytes { Data($0) }
        }
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// Rank 0: its own bytes, then `add(&total, part)` of ranks 1, 2, … in order, sent back to each; other ranks:
    /// send theirs, receive the total. Every message must have this rank's length (replicas in step).
    private func exchange(_ mine: Data, add: (inout Data, Data) throws -> Void) throws -> Data {
        guard count > 1 else { return mine }
        if rank > 0 {
            try transport.send(mine, to: 0, tag: .replicaPart)
            return try receive(from: 0, tag: .replicaSum, length: mine.count)
        }
        var total = mine
        for source in 1..<count { try add(&total, try receive(from: source, tag: .replicaPart, length: mine.count)) }
        for destination in 1..<count { try transport.send(total, to: destination, tag: .replicaSum) }
        return total
    }

    private func receive(from source: Int, tag: MPITransport.Tag, length: Int) throws -> Data {
        guard let message = try transport.receive(from: source, tag: tag, wait: transport.timeout) else {
            throw TrainingError("data-parallel training: rank \(rank) heard nothing from rank \(source) for \(transport.timeout) s (TRAININGLAB_MPI_TIMEOUT); its process died or hangs, and the run cannot go on without its shard")
        }
        guard message.bytes.count == length else {
            throw TrainingError("data-parallel training: rank \(source) sent \(message.bytes.count) bytes where rank \(rank) expected \(length); the replicas are out of step")
        }
        return message.bytes
    }
}
