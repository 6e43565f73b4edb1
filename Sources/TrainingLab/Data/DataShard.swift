/// One process's part of every batch in data-parallel training: of a batch of n samples, replica p of P takes
/// the positions [n p / P, n (p + 1) / P), contiguous and balanced, a function of (n, p, P) only. Every replica
/// draws the same epoch order, so the parts tile each batch exactly once.
public struct DataShard: Equatable, Sendable {
    public let replica: Int
    public let replicas: Int

    public init(replica: Int, replicas: Int) {
        self.replica = replica
        self.replicas = replicas
    }

    /// This replica's part of the batch at `positions`; a batch too small to give every replica a sample is refused.
    public func part(of positions: Range<Int>) throws -> Range<Int> {
        guard replicas >= 1, (0..<replicas).contains(replica) else {
            throw DataError(.invalidArgument, "data shard: replica \(replica) of \(replicas) is out of range")
        }
        let n = positions.count
        guard n >= replicas else {
            throw DataError(.invalidArgument, "data-parallel training over \(replicas) replicas: a batch of \(n) samples cannot give each replica one (an epoch's last batch holds the remainder of the samples divided by the batch size); choose a batch size that leaves no remainder or one of at least \(replicas)")
        }
        return positions.lowerBound + n * replica / replicas..<positions.lowerBound + n * (replica + 1) / replicas
    }
}
