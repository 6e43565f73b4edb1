import Foundation

/// The files of a run folder, each written atomically (temp file + rename): config.json when the run
/// starts, model.safetensors and report.json when it ends. metrics.jsonl and the checkpoints are written by
/// the training loops as they go (`MetricsLog`, `Trainer.saveCheckpoint`). Without a folder nothing is written.
struct RunOutputs {
    let directory: URL?

    func writeConfiguration(method: String, config: RunConfig, options: JSONValue) throws {
        guard let directory else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // "machine" says what the run's times and last bits depend on: CPU, kernel ISA, BLAS core, threads.
        let json: JSONValue = .object([("method", .string(method)), ("config", config.json), ("options", options),
                                       ("machine", try MachineReport().json)])
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
