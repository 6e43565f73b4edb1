import CTrainingLab
import Foundation

// The exported C API of include/traininglab.h, implemented in Swift with @_cdecl. Every entry point
// catches errors, records them for tl_last_error and returns a status; none aborts the process.

/// The process-wide registry of the C API, discovered on first use.
private enum HostRegistry {
    static let lock = NSLock()
    static var pluginPaths: [String] = []
    static var registry: PluginRegistry?

    static func shared() throws -> PluginRegistry {
        lock.lock()
        defer { lock.unlock() }
        if let registry { return registry }
        let discovered = try PluginRegistry(pluginPaths: pluginPaths)
        registry = discovered
        return discovered
    }
}

/// A run behind a `tl_run *` handle.
private final class HostRun {
    let plan: RunPlan
    var executed = false
    init(_ plan: RunPlan) { self.plan = plan }
}

/// tl_progress_fn: an event as one-line JSON and the caller's pointer; nonzero asks the run to stop.
public typealias TLProgressCallback = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32

/// Forwards progress events to a C callback as one-line JSON; a nonzero answer requests the run's stop.
private final class CallbackProgress: ProgressSink {
    let callback: TLProgressCallback
    let userData: UnsafeMutableRawPointer?
    let stop: StopRequest

    init(_ callback: @escaping TLProgressCallback, _ userData: UnsafeMutableRawPointer?, stop: StopRequest) {
        self.callback = callback
        self.userData = userData
        self.stop = stop
    }

    func report(_ event: JSONValue) {
        if event.serialized().withCString({ callback($0, userData) }) != 0 { stop.request() }
    }
}

/// Runs `body`, turning thrown errors into a status and tl_last_error message.
private func guarded(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return 0
    } catch let error as CoreError {
        return tl_set_last_error(error.status, error.message)
    } catch let error as NotFound {
        return tl_set_last_error(Int32(TL_ERR_NOT_FOUND.rawValue), error.message)
    } catch let error as ConfigError {
        return tl_set_last_error(Int32(TL_ERR_INVALID_ARGUMENT.rawValue), error.message)
    } catch let error as DataError {
        let status = error.kind == .missingFile ? TL_ERR_IO : TL_ERR_FORMAT
        return tl_set_last_error(Int32(status.rawValue), "\(error)")
    } catch let error as TrainingError {
        return tl_set_last_error(Int32(TL_ERR_NUMERIC.rawValue), error.message)
    } catch {
        return tl_set_last_error(Int32(TL_ERR_INTERNAL.rawValue), "\(error)")
    }
}

private struct NotFound: Error { let message: String }

private func requireEntry(_ registry: PluginRegistry, _ name: String) throws -> PluginRegistry.Entry {
    for part in name.split(separator: "+") where !registry.names.contains(String(part)) {
        throw NotFound(message: "unknown method '\(part)'; available: \(registry.names.joined(separator: ", "))")
    }
    return try registry.entry(named: String(name.split(separator: "+").first ?? ""))
}

private func output(_ text: String, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws {
    guard let out else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "output pointer is NULL") }
    out.pointee = strdup(text)
}

private func string(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String {
    guard let p else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "\(what) is NULL") }
    return String(cString: p)
}

@_cdecl("tl_set_plugin_path")
public func tl_set_plugin_path(_ folders: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let text = try string(folders, "tl_set_plugin_path: folders")
        HostRegistry.lock.lock()
        HostRegistry.pluginPaths = text.split(separator: ":").map(String.init)
        HostRegistry.registry = nil
        HostRegistry.lock.unlock()
    }
}

@_cdecl("tl_methods_list")
public func tl_methods_list(_ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let registry = try HostRegistry.shared()
        try output(JSONValue.array(registry.entries.map(\.descriptor.json)).serialized(), json)
    }
}

@_cdecl("tl_method_describe")
public func tl_method_describe(_ name: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let entry = try requireEntry(try HostRegistry.shared(), try string(name, "tl_method_describe: name"))
        try output(entry.descriptor.json.serialized(), json)
    }
}

@_cdecl("tl_run_create")
public func tl_run_create(_ name: UnsafePointer<CChar>?, _ configJSON: UnsafePointer<CChar>?,
                          _ runOut: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        guard let runOut else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "tl_run_create: run_out is NULL") }
        runOut.pointee = nil
        let registry = try HostRegistry.shared()
        let methodName = try string(name, "tl_run_create: name")
        _ = try requireEntry(registry, methodName)
        var settings: [(String, JSONValue)] = []
        var assignments: [String] = []
        var outputDirectory: URL?
        var (resume, overwrite) = (false, false)
        if let configJSON {
            let config = try JSONValue.parse(String(cString: configJSON), source: "tl_run_create config")
            guard let pairs = config.objectValue else { throw ConfigError("tl_run_create config: expected a JSON object") }
            for (key, value) in pairs {
                switch key {
                case "options":
                    guard let options = value.objectValue else { throw ConfigError("tl_run_create config: \"options\" must be an object") }
                    assignments += options.map { "\($0.0)=\($0.1.stringValue ?? $0.1.serialized())" }
                case "out":
                    guard let path = value.stringValue else { throw ConfigError("tl_run_create config: \"out\" must be a string") }
                    outputDirectory = URL(fileURLWithPath: path)
                case "resume", "overwrite":
                    guard case .bool(let flag) = value else { throw ConfigError("tl_run_create config: \"\(key)\" must be true or false") }
                    if key == "resume" { resume = flag } else { overwrite = flag }
                default:
                    settings.append((key, value))
                }
            }
        }
        let plan = try RunPlan(registry: registry, name: methodName, settings: settings, optionAssignments: assignments,
                                outputDirectory: outputDirectory)
        plan.resume = resume
        plan.overwrite = overwrite
        runOut.pointee = OpaquePointer(Unmanaged.passRetained(HostRun(plan)).toOpaque())
    }
}

private func hostRun(_ handle: OpaquePointer?, _ function: String) throws -> HostRun {
    guard let handle else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "\(function): run is NULL") }
    return Unmanaged<HostRun>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@_cdecl("tl_run_execute")
public func tl_run_execute(_ handle: OpaquePointer?, _ progress: TLProgressCallback?, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let host = try hostRun(handle, "tl_run_execute")
        guard !host.executed else { throw ConfigError("tl_run_execute: this run was already executed; create a new one") }
        host.executed = true
        try host.plan.execute(progress: progress.map { CallbackProgress($0, userData, stop: host.plan.stopRequest) })
    }
}

@_cdecl("tl_run_report")
public func tl_run_report(_ handle: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let host = try hostRun(handle, "tl_run_report")
        guard let report = host.plan.report else { throw ConfigError("tl_run_report: the run has not completed (call tl_run_execute first)") }
        try output(report.serialized(), json)
    }
}

@_cdecl("tl_run_free")
public func tl_run_free(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<HostRun>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("tl_string_free")
public func tl_string_free(_ s: UnsafeMutablePointer<CChar>?) { free(s) }

/// tl_version's answer, allocated once for the life of the process.
private let versionCString = UnsafePointer(strdup(TrainingLabVersion.string)!)

@_cdecl("tl_version")
public func tl_version() -> UnsafePointer<CChar> { versionCString }

private func savedModel(_ handle: OpaquePointer?, _ function: String) throws -> SavedModel {
    guard let handle else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "\(function): model is NULL") }
    return Unmanaged<SavedModel>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@_cdecl("tl_model_load")
public func tl_model_load(_ path: UnsafePointer<CChar>?, _ modelOut: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        guard let modelOut else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "tl_model_load: model_out is NULL") }
        modelOut.pointee = nil
        let url = URL(fileURLWithPath: try string(path, "tl_model_load: path"))
        let model = try SavedModel(contentsOf: url, models: try HostRegistry.shared().models)
        modelOut.pointee = OpaquePointer(Unmanaged.passRetained(model).toOpaque())
    }
}

@_cdecl("tl_model_describe")
public func tl_model_describe(_ handle: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let card = try savedModel(handle, "tl_model_describe").card
        let floats = { (values: [Float]) in JSONValue.array(values.map { .number(Double($0)) }) }
        try output(JSONValue.object([
            ("model", card.model.map(JSONValue.string) ?? .null),
            ("input_shape", .array(card.inputShape.map { .number(Double($0)) })),
            ("classes", .number(Double(card.classes))), ("class_names", .array(card.classNames.map(JSONValue.string))),
            ("mean", floats(card.mean)), ("std", floats(card.std)), ("traininglab_version", .string(card.version)),
        ]).serialized(), json)
    }
}

@_cdecl("tl_model_predict")
public func tl_model_predict(_ handle: OpaquePointer?, _ inputs: UnsafePointer<Float>?, _ count: Int64, _ probabilities: Int32,
                             _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guarded {
        let saved = try savedModel(handle, "tl_model_predict")
        guard let inputs, let out else { throw CoreError(status: Int32(TL_ERR_NULL_POINTER.rawValue), message: "tl_model_predict: inputs or out is NULL") }
        let size = saved.card.inputShape.reduce(1, *)
        guard count > 0, count <= Int64(Int.max / size) else {
            throw ConfigError("tl_model_predict: count \(count) must be positive and count x \(size) values must fit in memory")
        }
        let n = Int(count), classes = saved.card.classes
        var rows = try saved.logits(values: Array(UnsafeBufferPointer(start: inputs, count: n * size)), count: n)
        if probabilities != 0 {
            rows = (0..<n).flatMap { softmaxRow(rows, row: $0, classes: classes).map(Float.init) }
        }
        rows.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: n * classes) }
    }
}

@_cdecl("tl_model_free")
public func tl_model_free(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<SavedModel>.fromOpaque(UnsafeRawPointer(handle)).release()
}
