import TrainingLab

extension BenchSuites {
    static var act: [BenchCase] { [] }
}
