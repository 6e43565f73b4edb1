import TrainingLab

extension BenchSuites {
    static var loss: [BenchCase] { [] }
}
