import TrainingLab

extension BenchSuites {
    static var quant: [BenchCase] { [] }
}
