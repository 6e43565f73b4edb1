// swift-tools-version:6.0
// The core library, packaged on its own so that SwiftPM links it as ONE shared library
// (libTrainingLab.so) used by the CLI, the tests and every plugin. A target cannot depend on a
// dynamic product of its own package; without this nesting each plugin would carry a private
// static copy and its types would not conform to the host's protocols (README, "Design notes": one shared core library).
// CSources, include and TrainingLab here are symlinks to the real folders at the repository top.
import Foundation
import PackageDescription

/// Debian ships omp.h inside LLVM's versioned resource directory; find it instead of pinning one version.
func openMPIncludeDirectory() -> String? {
    let fm = FileManager.default
    let roots = ((try? fm.contentsOfDirectory(atPath: "/usr/lib")) ?? [])
        .filter { $0.hasPrefix("llvm-") }.sorted().reversed()
    for llvm in roots {
        let clangDir = "/usr/lib/\(llvm)/lib/clang"
        for version in ((try? fm.contentsOfDirectory(atPath: clangDir)) ?? []).sorted().reversed() {
            let dir = "\(clangDir)/\(version)/include"
            if fm.fileExists(atPath: "\(dir)/omp.h") { return dir }
        }
    }
    return fm.fileExists(atPath: "/usr/include/omp.h") ? "/usr/include" : nil
}

var coreFlags = ["-std=c99", "-O3", "-march=x86-64-v3", "-fopenmp", "-Wall", "-Wextra", "-Wno-unused-parameter"]
if let dir = openMPIncludeDirectory() { coreFlags += ["-isystem", dir] }

let package = Package(
    name: "TrainingLabPackage",
    products: [
        .library(name: "TrainingLab", type: .dynamic, targets: ["TrainingLab"]),
    ],
    targets: [
        .target(
            name: "CTrainingLab",
            path: ".",
            sources: ["CSources"],
            publicHeadersPath: "include",
            cSettings: [.unsafeFlags(coreFlags)],
            linkerSettings: [.linkedLibrary("omp5"), .linkedLibrary("openblas"), .linkedLibrary("z"), .linkedLibrary("m")]
        ),
        .target(
            name: "TrainingLab",
            dependencies: ["CTrainingLab"],
            path: "TrainingLab"
        ),
    ],
    swiftLanguageModes: [.v5]
)
