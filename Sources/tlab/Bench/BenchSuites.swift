/// Every benchmark case: the kernel table's rows (Suites/KernelTableBench.swift), then the cases that are
/// not one kernel of the table or that compare with other implementations (each in Suites/).
enum BenchSuites {
    static var all: [BenchCase] {
        gemm + conv + kernels + lif + augment + trainStep
    }
}
