import Foundation

/// Throughput and time left of one training loop, from its "batch" progress events (batch b of B in epoch e
/// of E, images seen so far in the epoch): images/s and batches/s since the first event of the current
/// epoch, the time left in this epoch at that pace, and for the later epochs the measured length of the
/// last whole epoch (evaluation included) once there is one. Time is passed in, so it is tested without clocks.
public struct ProgressRate {
    private var origin: (label: String, epoch: Int, batch: Double, samples: Double, time: Double)?
    private var latest: (batch: Double, samples: Double, time: Double)?
    /// Seconds of the last completed epoch of each label.
    private var epochSeconds: [String: Double] = [:]

    public init() {}

    /// Takes a "batch" event seen at `time` seconds.
    public mutating func batch(_ event: JSONValue, at time: Double) {
        let label = event["label"]?.stringValue ?? "", epoch = Int(event["epoch"]?.doubleValue ?? 0)
        let batch = event["batch"]?.doubleValue ?? 0, samples = event["samples"]?.doubleValue ?? 0
        if let o = origin, o.label == label, o.epoch == epoch, batch > o.batch {
            latest = (batch, samples, time)
        } else {
            origin = (label, epoch, batch, samples, time)
            latest = nil
        }
    }

    /// Takes an "epoch" event (a metrics line with its "seconds"); returns the images/s of the epoch's training when
    /// the batches seen were that loop's (a federated round's line follows its clients' loops, which it does not sum).
    @discardableResult
    public mutating func epoch(_ event: JSONValue) -> Double? {
        let label = event["label"]?.stringValue ?? ""
        if let seconds = event["seconds"]?.doubleValue { epochSeconds[label] = seconds }
        defer { origin = nil; latest = nil }
        return origin?.label == label ? imagesPerSecond : nil
    }

    /// Images per second in the current epoch; nil until two events of it were seen.
    public var imagesPerSecond: Double? {
        guard let o = origin, let l = latest, l.time > o.time, l.samples > o.samples else { return nil }
        return (l.samples - o.samples) / (l.time - o.time)
    }

    /// Seconds until the loop's last epoch ends, for the latest event (B batches per epoch, E epochs).
    public func secondsLeft(batches: Double, epochs: Int) -> Double? {
        guard let o = origin, let l = latest, l.time > o.time else { return nil }
        let perBatch = (l.time - o.time) / (l.batch - o.batch)
        let laterEpochs = Double(max(epochs - o.epoch - 1, 0))
        return max(batches - l.batch, 0) * perBatch + laterEpochs * (epochSeconds[o.label] ?? batches * perBatch)
    }

    /// "1:05:03", "4:09", "0:07".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded()), h = s / 3600, m = s / 60 % 60, r = s % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, r) : String(format: "%d:%02d", m, r)
    }
}
