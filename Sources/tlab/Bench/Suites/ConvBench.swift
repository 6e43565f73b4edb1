import TrainingLab

extension BenchSuites {
    static var conv: [BenchCase] { [] }
}
