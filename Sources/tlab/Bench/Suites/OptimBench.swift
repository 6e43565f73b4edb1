import TrainingLab

extension BenchSuites {
    static var optim: [BenchCase] { [] }
}
