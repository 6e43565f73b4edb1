import Foundation

/// The files of a run folder, each written atomically (temp file + rename): config.json when the run
/// starts, model.safetensors and report.json when it ends. metrics.jsonl, the TensorBoard event file and the
/// checkpoints are written by the training loops as they go (`MetricsLog`, `Trainer.saveCheckpoint`). Without a
/// folder nothing is written.
struct RunOutputs {
    let directory: URL?

    /// The files a run writes at the top of its folder (and `tlab report`'s page of it): what `--overwrite` removes
    /// before a fresh run.
    static func isRunFile(_ name: String) -> Bool {
        ["config.json", "metrics.jsonl", TensorBoardEvents.fileName, "report.json", "model.safetensors", "report.html"].contains(name)
            || isCheckpoint(name)
    }

    /// checkpoint.safetensors or checkpoint-STAGE.safetensors (`MethodContext.checkpointURL(stage:)`).
    static func isCheckpoint(_ name: String) -> Bool { name.hasPrefix("checkpoint") && name.hasSuffix(".safetensors") }

    /// checkpoint.safetensors and checkpoint-STAGE.safetensors in a folder (none when it does not exist).
    static func checkpointNames(in directory: URL) throws -> [String] {
        try contents(of: directory).filter(isCheckpoint)
    }

    /// The names in a folder, sorted; none when it does not exist.
    static func contents(of directory: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    /// Claims the folder before the run writes anything: a resumed run needs checkpoints whose configuration is
    /// this run's (`ResumeCheck`); a fresh run needs an empty or new folder, or `overwrite`, which removes the
    /// previous run's files (so that none of its checkpoints or reports is mistaken for this run's).
    func claim(resume: Bool, overwrite: Bool, configuration: JSONValue) throws {
        guard let directory else { return }
        guard !(resume && overwrite) else { throw ConfigError("--resume continues the run in \(directory.path) and --overwrite replaces it: choose one") }
        if resume { return try ResumeCheck.verifyFolder(directory, current: configuration) }
        let present = try RunOutputs.contents(of: directory)
        guard !present.isEmpty else { return }
        guard overwrite else { throw RunOutputs.occupied(directory, holding: present) }
        for name in present where RunOutputs.isRunFile(name) {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// The refusal of a folder that holds files already, for a fresh run or comparison.
    static func occupied(_ directory: URL, holding present: [String]) -> ConfigError {
        let shown = present.prefix(4).joined(separator: ", ") + (present.count > 4 ? ", ..." : "")
        return ConfigError("output folder \(directory.path) is not empty (\(shown)); pass --overwrite to replace what is there, --resume to continue it, or choose another --out")
    }

    /// config.json: the run's resolved configuration (`RunPlan.configuration`) and the machine it ran on.
    func writeConfiguration(_ configuration: JSONValue) throws {
        guard let directory else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // "machine" says what the run's times and last bits depend on: CPU, kernel ISA, BLAS core, threads.
        var json = configuration
        json.set("machine", try MachineReport().json)
        try AtomicFile.write(json.serialized(pretty: true) + "\n", to: directory.appendingPathComponent("config.json"))
    }

    func writeModel(_ model: Module, card: ModelCard) throws {
        guard let directory else { return }
        try ModelFile.save(model, to: directory.appendingPathComponent("model.safetensors"), card: card)
    }

    func writeReport(_ report: JSONValue) throws {
        guard let directory else { return }
        try AtomicFile.write(report.serialized(pretty: true) + "\n", to: directory.appendingPathComponent("report.json"))
    }
}
