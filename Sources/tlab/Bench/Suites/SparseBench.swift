import TrainingLab

extension BenchSuites {
    static var sparse: [BenchCase] { [] }
}
