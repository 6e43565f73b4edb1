import TrainingLab

extension BenchSuites {
    static var pool: [BenchCase] { [] }
}
