/// The processes of a data-parallel run: every replica trains the same model on its shard of every global
/// batch (`DataShard`), and the loop replaces each replica's gradient by the sum over replicas of their shares
/// of the batch times their gradients (the gradient of the whole batch's mean loss) before every update, so all
/// replicas hold the same weights. Replica 0 evaluates and writes the run's outputs. BatchNorm layers
/// normalise with their replica's batch statistics and keep their own running statistics (PyTorch DDP without
/// SyncBatchNorm); replica 0's are the ones saved.
public protocol ReplicaGroup: AnyObject {
    /// This replica, 0..<count.
    var rank: Int { get }
    var count: Int { get }
    /// Replaces `values` on every replica by the sum of all replicas' `values`, added in rank order (the same
    /// bits on every replica).
    func sum(_ values: Tensor) throws
    /// The sum of all replicas' `values`, added in rank order.
    func sum(_ values: [Double]) throws -> [Double]
}
