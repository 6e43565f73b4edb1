/// Reduces the learning rate when a monitored metric stops improving (PyTorch's ReduceLROnPlateau): after
/// more than `patience` epochs without improvement, the multiplier is scaled by `factor` (not below
/// `minimumMultiplier`), then `cooldown` epochs pass before bad epochs are counted again. The training loop
/// applies the multiplier on top of the schedule (`Trainer.plateau`) and checkpoints its state.
public final class ReduceOnPlateau {
    public enum Mode: String, Sendable { case min, max }
    public enum ThresholdMode: String, Sendable { case relative, absolute }

    public let mode: Mode
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let thresholdMode: ThresholdMode
    public let cooldown: Int
    public let minimumMultiplier: Double

    /// The current multiplier of the learning rate (1 until the first reduction).
    public private(set) var multiplier = 1.0
    /// The best value seen so far (nil before the first update).
    public private(set) var best: Double?
    public private(set) var badEpochs = 0
    private var cooldownLeft = 0

    public init(mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minimumMultiplier: Double = 0) throws {
        guard factor > 0, factor < 1 else { throw ConfigError("ReduceOnPlateau: factor must be in (0, 1), got \(factor)") }
        guard patience >= 0, cooldown >= 0, threshold >= 0, minimumMultiplier >= 0 else {
            throw ConfigError("ReduceOnPlateau: patience, cooldown, threshold and minimum multiplier must be >= 0")
        }
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minimumMultiplier = minimumMultiplier
    }

    /// Feeds one epoch's value of the metric and returns the multiplier for the epochs that follow.
    /// A non-finite value counts as no improvement.
    @discardableResult
    public func update(_ value: Double) -> Double {
        if value.isFinite, isBetter(value) {
            best = value
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            multiplier = max(multiplier * factor, minimumMultiplier)
            cooldownLeft = cooldown
            badEpochs = 0
        }
        return multiplier
    }

    private func isBetter(_ value: Double) -> Bool {
        guard let best else { return true }
        switch (mode, thresholdMode) {
        case (.min, .relative): return value < best * (1 - threshold)
        case (.min, .absolute): return value < best - threshold
        case (.max, .relative): return value > best * (1 + threshold)
        case (.max, .absolute): return value > best + threshold
        }
    }

    /// The controller's state for checkpoints.
    public var state: JSONValue {
        .object([("multiplier", .number(multiplier)), ("best", best.map(JSONValue.number) ?? .null),
                 ("bad_epochs", .number(Double(badEpochs))), ("cooldown_left", .number(Double(cooldownLeft)))])
    }

    public func restore(_ state: JSONValue) throws {
        guard let m = state["multiplier"]?.doubleValue, let bad = state["bad_epochs"]?.doubleValue,
              let left = state["cooldown_left"]?.doubleValue else {
            throw ConfigError("ReduceOnPlateau: incomplete checkpoint state \(state.serialized())")
        }
        multiplier = m
        best = state["best"]?.doubleValue
        badEpochs = Int(bad)
        cooldownLeft = Int(left)
    }
}
