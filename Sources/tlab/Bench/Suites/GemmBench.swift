import TrainingLab

extension BenchSuites {
    static var gemm: [BenchCase] { [] }
}
