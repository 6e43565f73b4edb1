// swift-tools-version:6.0
// Fuzz targets for the readers of outside files (README, "Hostile input, fuzzing and sanitizers"). A package of
// its own because libFuzzer supplies `main`: built only by `make fuzz`, with -sanitize=fuzzer,address and
// -parse-as-library, never by the ordinary `swift build`.
import PackageDescription

let package = Package(
    name: "TrainingLabFuzz",
    dependencies: [.package(path: "../../Sources/TrainingLabPackage")],
    targets: [
        .executableTarget(name: "tlab-fuzz", dependencies: [.product(name: "TrainingLab", package: "TrainingLabPackage")],
                          path: "Sources/tlab-fuzz"),
    ],
    swiftLanguageModes: [.v5]
)
