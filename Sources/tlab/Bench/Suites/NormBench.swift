import TrainingLab

extension BenchSuites {
    static var norm: [BenchCase] { [] }
}
