/// SCAFFOLD-style control variates as FedMoSWA uses them, over the trainable parameters: the server's c and
/// client i's c_i, with the local gradient corrected by c - c_i (`ControlVariateCorrection`).
public enum ControlVariates {
    /// Client i's new estimate after T local steps that moved the weights from x (`start`) to y (`end`) with
    /// mean learning rate eta_bar: c_i+ = c_i - c + (x - y) / (T * eta_bar).
    public static func clientEstimate(local: ParameterVector, global: ParameterVector, start: ParameterVector, end: ParameterVector,
                                      steps: Int, meanLearningRate: Double) throws -> ParameterVector {
        guard steps > 0, meanLearningRate > 0, meanLearningRate.isFinite else {
            throw TrainingError("control variates: need steps > 0 and a finite mean learning rate > 0, got \(steps) and \(meanLearningRate)")
        }
        let estimate = try start.subtracting(end)
        try estimate.scale(by: Float(1 / (Double(steps) * meanLearningRate)))
        try estimate.add(local)
        try estimate.add(global, scaledBy: -1)
        return estimate
    }

    /// The server's step c <- c + a * mean_i d_i, where d_i = c_i+ - c is what client i sent: a = 1 at the
    /// first aggregation (c becomes the mean fresh estimate), the momentum a_c afterwards, which makes c an
    /// exponential moving average of the clients' estimates.
    public static func serverStep(global: ParameterVector, meanMessage: ParameterVector, momentum: Double, first: Bool) throws {
        try global.add(meanMessage, scaledBy: Float(first ? 1 : momentum))
    }
}
