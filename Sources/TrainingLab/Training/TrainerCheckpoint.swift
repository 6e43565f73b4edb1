import Foundation

/// State a method keeps across epochs (scores, teachers, controllers) that a checkpoint must carry for
/// a resumed run to continue exactly as an uninterrupted one.
public protocol ResumableState: AnyObject {
    /// Tensors and JSON describing the state at an epoch boundary.
    func checkpointState() throws -> (tensors: [(String, Tensor)], json: JSONValue)
    /// Restores what `checkpointState` produced.
    func restoreState(tensors: [String: Tensor], json: JSONValue) throws
}

/// Epoch-boundary checkpoints of a training loop: model state, optimiser state, method states, the
/// loop's counters, and the run's cost and metrics lines so far, in one safetensors file written
/// atomically (metadata key "trainer" holds the JSON, "run" the run's configuration that `ResumeCheck` compares).
extension Trainer {
    /// Writes the state after the epochs run so far.
    public func saveCheckpoint(to url: URL) throws {
        var tensors = try ModelFile.tensors(of: loop.model.namedState().map { ("model.\($0.0)", $0.1) })
        tensors += try ModelFile.tensors(of: loop.optimizer.state.map { ("optimizer.\($0.0)", $0.1) })
        var methodJSON: [JSONValue] = []
        for (i, callback) in callbacks.enumerated() {
            guard let stateful = callback as? ResumableState else { methodJSON.append(.null); continue }
            let (named, json) = try stateful.checkpointState()
            tensors += try ModelFile.tensors(of: named.map { ("method\(i).\($0.0)", $0.1) })
            methodJSON.append(json)
        }
        let state: JSONValue = .object([
            ("epoch", .number(Double(loop.epoch))), ("global_step", .number(Double(loop.globalStep))),
            ("sample_passes", .number(Double(loop.samplePasses))), ("optimizer_steps", .number(Double(loop.optimizer.stepCount))),
            ("nonfinite_steps", .number(Double(loop.nonfiniteSteps))),
            ("history", .array(history)), ("methods", .array(methodJSON)),
            ("run_cost", context.cost.json), ("run_metrics", .array(context.metrics.lines)),
            ("plateau", plateau?.controller.state ?? .null),
        ])
        try SafeTensors.write(tensors, metadata: ["trainer": state.serialized(), ResumeCheck.metadataKey: context.runConfiguration.serialized()],
                              to: url)
    }

    /// Restores a checkpoint written by `saveCheckpoint` of a trainer with the same model, optimiser and methods;
    /// the next `fit()` continues with the following epoch.
    public func loadCheckpoint(from url: URL) throws {
        let file = try SafeTensors.read(from: url)
        guard let text = file.metadata["trainer"] else { throw ConfigError("\(url.path): not a trainer checkpoint (no \"trainer\" metadata)") }
        try ResumeCheck.verify(stored: file.metadata[ResumeCheck.metadataKey], current: context.runConfiguration, checkpoint: url.path)
        let state = try JSONValue.parse(text, source: url.path)
        guard let epoch = state["epoch"]?.doubleValue, let step = state["global_step"]?.doubleValue,
              let passes = state["sample_passes"]?.doubleValue, let optimizerSteps = state["optimizer_steps"]?.doubleValue else {
            throw ConfigError("\(url.path): checkpoint state is incomplete")
        }
        try ModelFile.restore(loop.model.namedState(), from: file, path: url.path, prefix: "model.")
        var optimizerState: [String: Tensor] = [:]
        var methodTensors: [Int: [String: Tensor]] = [:]
        for (name, stored) in file.tensors {
            let t = try Tensor(try stored.floats(), shape: stored.shape)
            if name.hasPrefix("optimizer.") { optimizerState[String(name.dropFirst("optimizer.".count))] = t }
            if name.hasPrefix("method"), let dot = name.firstIndex(of: "."), let i = Int(name[name.index(name.startIndex, offsetBy: 6)..<dot]) {
                methodTensors[i, default: [:]][String(name[name.index(after: dot)...])] = t
            }
        }
        try loop.optimizer.loadState(optimizerState)
        loop.optimizer.stepCount = Int(optimizerSteps)
        let methods = state["methods"]?.arrayValue ?? []
        for (i, callback) in callbacks.enumerated() {
            guard let stateful = callback as? ResumableState else { continue }
            try stateful.restoreState(tensors: methodTensors[i] ?? [:], json: i < methods.count ? methods[i] : .null)
        }
        loop.epoch = Int(epoch)
        loop.globalStep = Int(step)
        loop.restoreCounters(samplePasses: Int(passes))
        loop.nonfiniteSteps = Int(state["nonfinite_steps"]?.doubleValue ?? 0)
        history = state["history"]?.arrayValue ?? []
        context.cost.restore(state["run_cost"])
        if let plateau { try plateau.controller.restore(state["plateau"] ?? .null) }
        try context.metrics.restore(state["run_metrics"]?.arrayValue ?? [])
    }
}
