/// Every benchmark case, one list per kernel family (each in Suites/).
enum BenchSuites {
    static var all: [BenchCase] {
        gemm + conv + pool + norm + act + loss + optim + quant + sparse + lif + augment + trainStep
    }
}
