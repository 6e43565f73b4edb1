/// Learning-rate rules for a client's local steps within a round (`LocalTraining.learningRate`).
public enum ClientLearningRate {
    /// FedSWA's cycle: eta_k = m * eta_r * (1 - (1 - rho) * k / T) for local step k of T, from m * eta_r
    /// down towards m * rho * eta_r, so the clients' end points sit at the low-rate end that the server
    /// averages. Written in this form (not m * ((1 - k/T) eta_r + (k/T) rho eta_r)) so that m = 1, rho = 1
    /// gives exactly eta_r at every step: FedSWA then equals FedAvg bit for bit.
    public static func swaCycle(step k: Int, steps T: Int, roundRate: Double, multiplier m: Double, endRatio rho: Double) -> Double {
        m * roundRate * (1 - (1 - rho) * Double(k) / Double(T))
    }
}
