import CTrainingLab
import Foundation

/// Why a file found on the plugin path did not provide methods. None of these stops discovery.
public struct PluginSkip: Error, Sendable, Equatable {
    public let path: String
    public let reason: String
}

/// Opens plugin libraries and checks their handshake before touching any of their Swift types.
/// Libraries stay loaded for the life of the process (unloading Swift code breaks later casts).
enum PluginLoader {
    private static var loaded: [String: (registration: PluginRegistration, isTestFixture: Bool)] = [:]
    private static let lock = NSLock()

    /// The registration of the plugin at `path`, or why it is not a usable plugin. A test fixture loads
    /// only when `namedExplicitly` (its file was given, not found in a folder).
    static func load(_ path: String, namedExplicitly: Bool) -> Result<PluginRegistration, PluginSkip> {
        lock.lock()
        defer { lock.unlock() }
        func skip(_ reason: String) -> Result<PluginRegistration, PluginSkip> { .failure(PluginSkip(path: path, reason: reason)) }
        let fixtureSkip = "test fixture: loaded only when its file is named on the plugin path"
        if let cached = loaded[path] {
            return cached.isTestFixture && !namedExplicitly ? skip(fixtureSkip) : .success(cached.registration)
        }

        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown error"
            return skip("cannot be loaded: \(message)")
        }
        guard let handshakeSymbol = dlsym(handle, TL_PLUGIN_HANDSHAKE_SYMBOL) else {
            return skip("not a TrainingLab plugin: no symbol \(TL_PLUGIN_HANDSHAKE_SYMBOL)")
        }
        typealias Handshake = @convention(c) (UnsafeMutablePointer<CChar>?, Int32) -> Int32
        var buffer = [CChar](repeating: 0, count: 256)
        let abi = unsafeBitCast(handshakeSymbol, to: Handshake.self)(&buffer, Int32(buffer.count))
        let fingerprint = String(cString: buffer)
        let hostFingerprint = PluginHandshake.fingerprint
        guard abi == TL_PLUGIN_ABI_VERSION else {
            return skip("wrong plugin ABI version: \(TL_PLUGIN_HANDSHAKE_SYMBOL) reports \(abi), this TrainingLab has \(TL_PLUGIN_ABI_VERSION) (rebuild the plugin)")
        }
        guard fingerprint == hostFingerprint else {
            return skip("built by another toolchain or TrainingLab version: \(TL_PLUGIN_HANDSHAKE_SYMBOL) reports '\(fingerprint)', this host is '\(hostFingerprint)' (rebuild the plugin)")
        }
        let isTestFixture = dlsym(handle, TL_PLUGIN_TEST_FIXTURE_SYMBOL) != nil
        if isTestFixture && !namedExplicitly { return skip(fixtureSkip) }
        guard let entrySymbol = dlsym(handle, TL_PLUGIN_ENTRY_SYMBOL) else {
            return skip("plugin handshake passed but the entry symbol \(TL_PLUGIN_ENTRY_SYMBOL) is missing")
        }
        typealias Entry = @convention(c) () -> UnsafeMutableRawPointer?
        guard let raw = unsafeBitCast(entrySymbol, to: Entry.self)() else {
            return skip("\(TL_PLUGIN_ENTRY_SYMBOL) returned NULL")
        }
        guard let registration = Unmanaged<AnyObject>.fromOpaque(raw).takeRetainedValue() as? PluginRegistration else {
            return skip("\(TL_PLUGIN_ENTRY_SYMBOL) did not return a PluginRegistration of this libTrainingLab (a private copy of the library?)")
        }
        loaded[path] = (registration, isTestFixture)
        return .success(registration)
    }
}
