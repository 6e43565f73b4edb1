import XCTest
import TrainingLab

/// Bilinear grid sampling with zero padding, written directly from PyTorch's definition (Double).
private func refGridSample(_ x: [Float], _ grid: [Float], n: Int, c: Int, h: Int, w: Int, ho: Int, wo: Int, align: Bool) -> [Float] {
    func pixel(_ g: Float, _ size: Int) -> Double {
        align ? (Double(g) + 1) / 2 * Double(size - 1) : ((Double(g) + 1) * Double(size) - 1) / 2
    }
    var y = [Float](repeating: 0, count: n * c * ho * wo)
    for b in 0..<n {
        for oy in 0..<ho {
            for ox in 0..<wo {
                let gi = ((b * ho + oy) * wo + ox) * 2
                let ix = pixel(grid[gi], w), iy = pixel(grid[gi + 1], h)
                let x0 = Int(ix.rounded(.down)), y0 = Int(iy.rounded(.down))
                let tx = ix - Double(x0), ty = iy - Double(y0)
                for ch in 0..<c {
                    var v = 0.0
                    for (dx, dy, wt) in [(0, 0, (1 - tx) * (1 - ty)), (1, 0, tx * (1 - ty)), (0, 1, (1 - tx) * ty), (1, 1, tx * ty)] {
                        let (px, py) = (x0 + dx, y0 + dy)
                        if px >= 0 && px < w && py >= 0 && py < h { v += wt * Double(x[((b * c + ch) * h + py) * w + px]) }
                    }
                    y[((b * c + ch) * ho + oy) * wo + ox] = Float(v)
                }
            }
        }
    }
    return y
}

final class SampleTests: XCTestCase {
    /// Odd sizes, points inside, on the border and outside, both corner conventions.
    private let dims = (n: 2, c: 3, h: 5, w: 7, ho: 4, wo: 3)

    private func inputs(seed: UInt64) -> ([Float], [Float]) {
        let d = dims
        let x = randomFloats(d.n * d.c * d.h * d.w, seed: seed)
        var grid = randomFloats(d.n * d.ho * d.wo * 2, seed: seed + 1, low: -1.2, high: 1.2)
        grid[0] = -1; grid[1] = 1; grid[2] = 3; grid[3] = 0.1  // a corner and a far-outside point
        return (x, grid)
    }

    func testForwardMatchesTheReference() {
        let d = dims
        let (x, grid) = inputs(seed: 1)
        for align in [false, true] {
            var y = [Float](repeating: 0, count: d.n * d.c * d.ho * d.wo)
            XCTAssertEqual(tl_grid_sample_forward(&y, x, grid, d.n, d.c, d.h, d.w, d.ho, d.wo, align ? 1 : 0), 0)
            assertClose(y, refGridSample(x, grid, n: d.n, c: d.c, h: d.h, w: d.w, ho: d.ho, wo: d.wo, align: align), rtol: 1e-5, atol: 1e-6,
                        "align \(align)")
        }
        var y = [Float](repeating: 0, count: 4)
        assertFails(tl_grid_sample_forward(&y, [0], [0, 0], 1, 1, 0, 1, 1, 1, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "h")
    }

    func testBackwardMatchesFiniteDifferencesOfTheReference() {
        let d = dims
        let (x, base) = inputs(seed: 3)
        let dy = randomFloats(d.n * d.c * d.ho * d.wo, seed: 5)
        for align in [false, true] {
            // The sample has kinks where a coordinate crosses a whole pixel: move points off them by a tenth
            // of a pixel so that the differences below stay on one side.
            let grid = base.enumerated().map { i, g -> Float in
                let size = i % 2 == 0 ? d.w : d.h
                let pixel = align ? (g + 1) / 2 * Float(size - 1) : ((g + 1) * Float(size) - 1) / 2
                return Swift.abs(pixel - pixel.rounded()) < 0.05 ? g + 0.2 / Float(size) : g
            }
            var dx = [Float](repeating: 0, count: x.count), dgrid = [Float](repeating: 0, count: grid.count)
            XCTAssertEqual(tl_grid_sample_backward(&dx, &dgrid, dy, x, grid, d.n, d.c, d.h, d.w, d.ho, d.wo, align ? 1 : 0), 0)
            let numericX = numericalGradient(at: x, eps: 1e-2) {
                dot(refGridSample($0, grid, n: d.n, c: d.c, h: d.h, w: d.w, ho: d.ho, wo: d.wo, align: align), dy)
            }
            assertClose(dx, numericX, rtol: 1e-3, atol: 1e-4, "dx align \(align)")
            // Small steps: the sample is piecewise bilinear, so differences must not cross a pixel boundary.
            let numericGrid = numericalGradient(at: grid, eps: 1e-3) {
                dot(refGridSample(x, $0, n: d.n, c: d.c, h: d.h, w: d.w, ho: d.ho, wo: d.wo, align: align), dy)
            }
            assertClose(dgrid, numericGrid, rtol: 1e-2, atol: 2e-3, "dgrid align \(align)")
        }
    }

    func testBitwiseIndependentOfTheThreadCount() {
        let (n, c, h, w, ho, wo) = (3, 8, 23, 19, 21, 17)  // above the parallel threshold
        let x = randomFloats(n * c * h * w, seed: 7), grid = randomFloats(n * ho * wo * 2, seed: 8, low: -1.1, high: 1.1)
        let dy = randomFloats(n * c * ho * wo, seed: 9)
        func run() -> [[Float]] {
            var y = [Float](repeating: 0, count: dy.count), dx = x, dgrid = grid
            _ = tl_grid_sample_forward(&y, x, grid, n, c, h, w, ho, wo, 0)
            _ = tl_grid_sample_backward(&dx, &dgrid, dy, x, grid, n, c, h, w, ho, wo, 0)
            return [y, dx, dgrid]
        }
        let one = withThreads(1) { run() }, two = withThreads(2) { run() }
        for (a, b) in zip(one, two) { assertBitwiseEqual(a, b) }
    }
}
