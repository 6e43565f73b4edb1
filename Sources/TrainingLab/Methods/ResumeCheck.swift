import Foundation

/// What `--resume` checks: a checkpoint carries the resolved configuration of the run that wrote it (metadata key
/// "run"), and a run continues from it only when its own resolved configuration is the same, so that a resumed run
/// is the run that was stopped. Every difference is named ("epochs 4 -> 5").
///
/// Not compared, because they change where or how fast a run executes and not what it computes: the command-line
/// flags outside the configuration (`--stop-after`, `--threads`, `--out`, `--plugin-path`, `--overwrite`) and the
/// configuration keys in `mayDiffer`.
public enum ResumeCheck {
    /// Keys of the configuration's "config" object that may differ. `backend`: a federated run gives the same
    /// numbers in-process and under MPI, and a data-parallel run resumes only in-process.
    public static let mayDiffer: Set<String> = ["backend"]

    /// The metadata key of checkpoints that holds the configuration.
    public static let metadataKey = "run"

    /// "epochs 4 -> 5", "infobatch.ratio 0.5 -> 0.3", "method erm -> infobatch": every leaf that differs between
    /// the checkpoint's configuration and the current one, in the current one's order (then the checkpoint's extra
    /// keys), run options and method options named as on the command line.
    public static func differences(checkpoint: JSONValue, current: JSONValue) -> [String] {
        var found: [String] = []
        func walk(_ path: [String], _ old: JSONValue?, _ new: JSONValue?) {
            if case .object(let newPairs)? = new, case .object(let oldPairs)? = old {
                for (key, value) in newPairs { walk(path + [key], old?[key], value) }
                for (key, value) in oldPairs where new?[key] == nil { walk(path + [key], value, nil) }
                return
            }
            guard old != new else { return }
            if path.count == 2, path[0] == "config", mayDiffer.contains(path[1]) { return }
            // "config.epochs" reads "epochs", "options.erm.x" reads "erm.x": the names `--set` takes.
            let name = (["config", "options"].contains(path.first) && path.count > 1 ? path.dropFirst() : path[...]).joined(separator: ".")
            found.append("\(name) \(old?.serialized() ?? "(absent)") -> \(new?.serialized() ?? "(absent)")")
        }
        walk([], checkpoint, current)
        return found
    }

    /// Refuses a checkpoint whose configuration (`stored`, the metadata text) differs from `current`, naming every
    /// difference, or that carries none.
    public static func verify(stored: String?, current: JSONValue, checkpoint path: String) throws {
        guard let stored else {
            throw ConfigError("cannot resume from \(path): it does not record the configuration of its run (written by an older TrainingLab), so the resumed run could differ unnoticed; start afresh (--overwrite)")
        }
        try verify(try JSONValue.parse(stored, source: "\(path) (metadata \"\(metadataKey)\")"), current: current, source: path)
    }

    private static func verify(_ stored: JSONValue, current: JSONValue, source: String) throws {
        let differences = differences(checkpoint: stored, current: current)
        guard differences.isEmpty else {
            throw ConfigError("cannot resume from \(source): this run's configuration differs from the stopped run's: \(differences.joined(separator: ", ")); resume with the stopped run's settings (its config.json: --config) or start afresh (--overwrite or another --out)")
        }
    }

    /// Checks a run folder before a resumed run writes anything there: every checkpoint (checkpoint.safetensors,
    /// checkpoint-STAGE.safetensors), or, when the stopped run wrote none yet (stopped in its first epoch), its
    /// config.json, since the resumed run replaces what is there.
    static func verifyFolder(_ directory: URL, current: JSONValue) throws {
        let checkpoints = try RunOutputs.checkpointNames(in: directory)
        for name in checkpoints {
            let url = directory.appendingPathComponent(name)
            try verify(stored: try SafeTensors.read(from: url).metadata[metadataKey], current: current, checkpoint: url.path)
        }
        let config = directory.appendingPathComponent("config.json")
        guard checkpoints.isEmpty, FileManager.default.fileExists(atPath: config.path) else { return }
        let written = try JSONValue.parse(String(contentsOf: config, encoding: .utf8), source: config.path)
        try verify(.object((written.objectValue ?? []).filter { $0.0 != "machine" }), current: current, source: config.path)
    }
}
