import TrainingLab

extension BenchSuites {
    static var augment: [BenchCase] { [] }
}
