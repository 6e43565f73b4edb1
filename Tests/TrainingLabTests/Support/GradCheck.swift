import XCTest
import TrainingLab

/// Fails the test at the first element where the autograd gradient of `f` differs from central
/// differences by more than atol + rtol · |numeric| (GradientCheck does the comparison).
func assertGradientsMatch(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                          file: StaticString = #filePath, line: UInt = #line,
                          _ f: ([Tensor]) throws -> Tensor) throws {
    for comparison in try GradientCheck.compare(f, at: inputs, step: eps) {
        if let mismatch = comparison.firstMismatch(relativeTolerance: rtol, absoluteTolerance: atol) {
            XCTFail(mismatch, file: file, line: line)
        }
    }
}
