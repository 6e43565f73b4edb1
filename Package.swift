// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Every paper method is one dynamically loaded plugin: a folder plugins/<Name> becomes the `.dynamic`
/// library product lib<Name>.so. Test fixture plugins live in Tests/Plugins/<Name> and are built the same
/// way; the registry loads them only when their file is named explicitly (see `PluginRegistry`).
/// Nothing is listed by hand: adding a folder adds a plugin.
func folders(under path: String) -> [String] {
    let url = URL(fileURLWithPath: Context.packageDirectory).appendingPathComponent(path)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
    return names.filter { name in
        var isDirectory: ObjCBool = false
        return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }.sorted()
}

let plugins = folders(under: "plugins").map { (name: $0, path: "plugins/\($0)") }
    + folders(under: "Tests/Plugins").map { (name: $0, path: "Tests/Plugins/\($0)") }

let core = Target.Dependency.product(name: "TrainingLab", package: "TrainingLabPackage")

/// OpenMPI's header and library folders (Debian's libopenmpi-dev: /usr/lib/<triple>/openmpi/{include,lib}), or nil.
func openMPI() -> (include: String, lib: String)? {
    let fm = FileManager.default
    for triple in ((try? fm.contentsOfDirectory(atPath: "/usr/lib")) ?? []).sorted() {
        let root = "/usr/lib/\(triple)/openmpi"
        if fm.fileExists(atPath: "\(root)/include/mpi.h"), fm.fileExists(atPath: "\(root)/lib/libmpi.so") { return ("\(root)/include", "\(root)/lib") }
    }
    return nil
}

/// The MPI transport, libTrainingLabMPI.so (include/tl_mpi.h): the only code that links MPI. The core opens it with
/// dlopen for backend=mpi runs, so libTrainingLab.so and everyone without MPI are unaffected. It is built where
/// OpenMPI's development files are installed (`make deps` installs them); elsewhere the package builds without it.
let mpiTransport: (products: [Product], targets: [Target]) = openMPI().map { mpi in
    ([.library(name: "TrainingLabMPI", type: .dynamic, targets: ["TrainingLabMPI"])],
     [.target(name: "TrainingLabMPI", path: "Sources/TrainingLabMPI", publicHeadersPath: ".",
              cSettings: [.unsafeFlags(["-std=c99", "-O2", "-Wall", "-Wextra", "-I", "\(Context.packageDirectory)/include", "-I", mpi.include])],
              linkerSettings: [.unsafeFlags(["-L", mpi.lib]), .linkedLibrary("mpi")])])
} ?? ([], [])

let package = Package(
    name: "TrainingLabProject",
    products: [.executable(name: "tlab", targets: ["tlab"])]
        + plugins.map { .library(name: $0.name, type: .dynamic, targets: [$0.name]) } + mpiTransport.products,
    dependencies: [
        .package(path: "Sources/TrainingLabPackage"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML run configurations (`tlab run --config FILE.yaml`); JSON and config.json need no package.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .executableTarget(
            name: "tlab",
            dependencies: [core, "KernelTable", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Yams", package: "Yams")],
            path: "Sources/tlab"
        ),
        // The kernel table (one row per kernel, with its plain reference) that the kernel tests and `tlab bench`
        // both read; a target of its own so that libTrainingLab.so does not carry the references. Optimised in
        // debug builds too: its element loops run the references and checks over every test shape.
        .target(name: "KernelTable", dependencies: [core], path: "Sources/KernelTable",
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .testTarget(name: "CoreKernelTests", dependencies: [core, "KernelTable"], path: "Tests/CoreKernelTests"),
        .testTarget(name: "TrainingLabTests", dependencies: [core], path: "Tests/TrainingLabTests"),
    ] + plugins.map { .target(name: $0.name, dependencies: [core], path: $0.path, exclude: ["README.md"]) } + mpiTransport.targets,
    swiftLanguageModes: [.v5]
)
