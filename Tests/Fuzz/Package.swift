// swift-tools-version:6.0
// Fuzz targets for the readers of outside files (README, "Hostile input, fuzzing and sanitizers"). A package of
// its own so that only `make fuzz` builds it, with -sanitize=fuzzer,address; the ordinary build never sees it.
import PackageDescription

let package = Package(
    name: "TrainingLabFuzz",
    dependencies: [.package(path: "../../Sources/TrainingLabPackage")],
    targets: [
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver"),
        .executableTarget(name: "tlab-fuzz",
                          dependencies: ["FuzzDriver", .product(name: "TrainingLab", package: "TrainingLabPackage")],
                          path: "Sources/tlab-fuzz"),
    ],
    swiftLanguageModes: [.v5]
)
