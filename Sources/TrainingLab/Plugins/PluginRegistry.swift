import CTrainingLab
import Foundation

/// What the plugins found at startup provide: methods, models beside the core's, dataset derivations,
/// augmentations and evaluation metrics. Every `lib*.so` on the plugin search path that passes the
/// handshake is loaded.
///
/// Search order (earlier wins when two folders hold a library of the same file name):
/// 1. folders or files given explicitly (`--plugin-path`),
/// 2. `TRAININGLAB_PLUGIN_PATH` (colon separated),
/// 3. the folder holding libTrainingLab.so (SwiftPM puts plugins beside it for each build configuration), or
///    where that folder has `traininglab/plugins` (an installed tree, `make install`: PREFIX/lib holds other
///    libraries too), that subfolder instead,
/// 4. the executable's folder.
/// Files that are not plugins are recorded in `skipped` with the reason; two plugins providing the
/// same method or model name is an error. Test fixtures (plugins exporting `tl_plugin_test_fixture`)
/// load only when their file, not its folder, is on the path.
public final class PluginRegistry {
    public struct Entry {
        public let type: any TrainingMethod.Type
        public let pluginPath: String
        public var descriptor: MethodDescriptor { type.descriptor }
    }

    public private(set) var entries: [Entry] = []
    /// The core's models and those of every plugin.
    public private(set) var models = ModelCatalog.core
    /// Derivations a dataset SPEC can name beside the core's keys.
    public private(set) var datasetDerivations = Catalog<DatasetDerivation>(kind: "dataset derivation", name: \.name)
    /// Swift augmentations a run can select by name (`Augmentation.transforms`).
    public private(set) var augmentations = Catalog<BatchTransform>(kind: "augmentation", name: \.name)
    /// Metrics computed on final models by the `Evaluator`.
    public private(set) var metrics = Catalog<EvaluationMetric>(kind: "evaluation metric", name: \.name)
    /// Differentiable operations plugins define (`CustomOperation`), by name.
    public private(set) var operations = Catalog<CustomOperation>(kind: "operation", name: \.name)
    public private(set) var skipped: [PluginSkip] = []
    /// Folders that were searched, in order.
    public private(set) var searchPath: [String] = []

    /// Discovers plugins. Throws only when two plugins claim one method name.
    public init(pluginPaths: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var folders = pluginPaths
        if let env = environment["TRAININGLAB_PLUGIN_PATH"] { folders += env.split(separator: ":").map(String.init) }
        if let lib = PluginRegistry.coreLibraryFolder { folders.append(PluginRegistry.pluginFolder(besideCore: lib)) }
        if let exe = PluginRegistry.executableFolder { folders.append(exe) }

        var seenFolders: Set<String> = []
        var claimedFileNames: [String: String] = [:]
        for folder in folders {
            let resolved = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
            guard seenFolders.insert(resolved).inserted else { continue }
            searchPath.append(resolved)
            for path in PluginRegistry.libraries(at: resolved) {
                let fileName = (path as NSString).lastPathComponent
                if let earlier = claimedFileNames[fileName] {
                    if earlier != path { skipped.append(PluginSkip(path: path, reason: "shadowed by \(earlier), earlier on the search path")) }
                    continue
                }
                claimedFileNames[fileName] = path
                switch PluginLoader.load(path, namedExplicitly: path == resolved) {
                case .failure(let skip): skipped.append(skip)
                case .success(let registration): try register(registration, from: path)
                }
            }
        }
        entries.sort { $0.descriptor.name < $1.descriptor.name }
    }

    /// Adds everything a registration provides; a name (or dataset SPEC key) already taken is an error naming
    /// both providers, and then nothing of the registration is added.
    public func register(_ registration: PluginRegistration, from path: String) throws {
        var models = self.models, derivations = datasetDerivations, augmentations = self.augmentations, metrics = self.metrics
        var operations = self.operations
        try models.add(registration.models, provider: path)
        for derivation in registration.datasetDerivations {
            try derivation.checkDeclaration()
            for key in derivation.keys {
                if let other = derivations.entries.first(where: { $0.item.keys.contains(key) }) {
                    throw ConfigError("two providers of the dataset SPEC key '\(key)': \(other.provider) (derivation '\(other.item.name)') and \(path) (derivation '\(derivation.name)'); remove one")
                }
            }
            try derivations.add([derivation], provider: path)
        }
        try augmentations.add(registration.augmentations, provider: path)
        try metrics.add(registration.metrics, provider: path)
        try operations.add(registration.operations, provider: path)
        for type in registration.methods {
            let name = type.descriptor.name
            if let existing = entries.first(where: { $0.descriptor.name == name }) {
                throw ConfigError("two plugins provide the method '\(name)': \(existing.pluginPath) and \(path); remove one")
            }
        }
        self.models = models
        datasetDerivations = derivations
        self.augmentations = augmentations
        self.metrics = metrics
        self.operations = operations
        entries += registration.methods.map { Entry(type: $0, pluginPath: path) }
    }

    public var names: [String] { entries.map(\.descriptor.name) }

    /// The method called `name`; unknown names list the registered ones.
    public func entry(named name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.descriptor.name == name }) else {
            let known = names.isEmpty ? "none found (searched: \(searchPath.joined(separator: ", ")))" : names.joined(separator: ", ")
            throw ConfigError("unknown method '\(name)'; available: \(known)")
        }
        return entry
    }

    /// `lib*.so` files in a folder (or the file itself), except the core library and the MPI transport (which
    /// SwiftPM builds beside them; it is opened only for backend=mpi, see `MPITransport`).
    private static func libraries(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        if !isDirectory.boolValue { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasPrefix("lib") && $0.hasSuffix(".so") && !["libTrainingLab.so", TL_MPI_LIBRARY_NAME].contains($0) }
            .sorted().map { (path as NSString).appendingPathComponent($0) }
    }

    /// The folder of the loaded libTrainingLab.so, found from the address of one of its functions.
    public static var coreLibraryFolder: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard tl_core_library_path(&buffer, buffer.count) == 0 else { return nil }
        return (String(cString: buffer) as NSString).deletingLastPathComponent
    }

    /// The plugins' folder of a core library in `folder`: its traininglab/plugins subfolder when it exists.
    static func pluginFolder(besideCore folder: String) -> String {
        let installed = (folder as NSString).appendingPathComponent("traininglab/plugins")
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: installed, isDirectory: &isDirectory) && isDirectory.boolValue ? installed : folder
    }

    static var executableFolder: String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (exe as NSString).deletingLastPathComponent
    }
}
