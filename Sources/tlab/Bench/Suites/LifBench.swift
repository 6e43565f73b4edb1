import TrainingLab

extension BenchSuites {
    static var lif: [BenchCase] { [] }
}
