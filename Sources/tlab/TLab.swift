import ArgumentParser
import TrainingLab

@main
struct TLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tlab",
        abstract: "TrainingLab: published training methods as plugins over a C99 + OpenMP core.",
        version: TrainingLabVersion.string,
        subcommands: [Methods.self, Describe.self, Run.self, Compare.self, Train.self, Report.self, Models.self, Eval.self, Predict.self,
                      Export.self, Bench.self]
    )
}
