// swift-tools-version:6.0
import PackageDescription

/// Every paper method is one dynamically loaded plugin: a folder under plugins/ and a `.dynamic`
/// library product of the same name. Adding a method means adding its name here.
let pluginNames = ["Erm", "InfoBatch", "SCoRe", "LTD"]

let core = Target.Dependency.product(name: "TrainingLab", package: "TrainingLabPackage")

let package = Package(
    name: "TrainingLabProject",
    products: [.executable(name: "tlab", targets: ["tlab"])]
        + pluginNames.map { .library(name: $0, type: .dynamic, targets: [$0]) },
    dependencies: [
        .package(path: "Sources/TrainingLabPackage"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "tlab",
            dependencies: [core, .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/tlab"
        ),
        .testTarget(name: "CoreKernelTests", dependencies: [core], path: "Tests/CoreKernelTests"),
        .testTarget(name: "TrainingLabTests", dependencies: [core], path: "Tests/TrainingLabTests"),
    ] + pluginNames.map { .target(name: $0, dependencies: [core], path: "plugins/\($0)", exclude: ["README.md"]) },
    swiftLanguageModes: [.v5]
)
