import ArgumentParser
import TrainingLab

/// `tlab models`: the model zoo with parameter counts and forward FLOPs for an input shape.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the models with parameters and FLOPs per image.")

    @Option(help: "Input shape CxHxW.") var input = "1x28x28"
    @Option(help: "Number of classes.") var classes = 10

    func run() throws {
        let dims = input.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { throw ConfigError("--input \(input): expected CxHxW, e.g. 3x32x32") }
        print("model".padding(toLength: 10, withPad: " ", startingAt: 0) + "parameters".padding(toLength: 13, withPad: " ", startingAt: 0)
              + "MFLOPs/image  description")
        for entry in ModelZoo.entries {
            let model = try ModelZoo.make(entry.name, channels: dims[0], height: dims[1], width: dims[2], classes: classes, seed: 0)
            model.eval()
            let flops = try FlopCounter.count { _ = try withoutGradients { try model(Tensor(zeros: [1] + dims)) } }
            let params = model.parameters().reduce(0) { $0 + $1.count }
            print(entry.name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(params).padding(toLength: 13, withPad: " ", startingAt: 0)
                  + String(format: "%-13.2f", Double(flops) / 1e6) + entry.summary)
        }
    }
}
