/// The work a run has done, counted once for the whole run (every loop and every extra pass a method makes):
/// training samples sent through forward + backward, and the FLOPs a method chose to count. Methods that
/// run extra passes (attacks, teachers with gradients, several subnets per step) add theirs here, so cost
/// ratios between methods compare real work. Checkpoints carry it.
public final class RunCost {
    public private(set) var samplePasses = 0
    public private(set) var flops = 0

    public init() {}

    public func add(samplePasses n: Int) { samplePasses += n }
    public func add(flops n: Int) { flops += n }

    var json: JSONValue { .object([("sample_passes", .number(Double(samplePasses))), ("flops", .number(Double(flops)))]) }

    func restore(_ json: JSONValue?) {
        samplePasses = Int(json?["sample_passes"]?.doubleValue ?? 0)
        flops = Int(json?["flops"]?.doubleValue ?? 0)
    }
}
