/// Counts the floating-point operations of the forward GEMM-like ops (convolution, linear, matmul;
/// a multiply-add counts 2) while `count` runs: the FLOPs column of `tlab models` and cost models.
public enum FlopCounter {
    private(set) static var isCounting = false
    private static var total = 0

    /// FLOPs of everything `body` runs.
    public static func count(_ body: () throws -> Void) rethrows -> Int {
        let (wasCounting, saved) = (isCounting, total)
        isCounting = true
        total = 0
        defer { isCounting = wasCounting; total += saved }
        try body()
        return total
    }

    static func add(_ flops: Int) { if isCounting { total += flops } }
}
