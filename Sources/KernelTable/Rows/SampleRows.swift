import TrainingLab

/// Bilinear grid sampling (include/tl_sample.h).
extension KernelTable {
    static var sample: [KernelRow] { [gridSample] }

    private static var gridSample: KernelRow {
        let shape = { (d: [Int], align: Double) -> KernelShape in
            ["n": Double(d[0]), "c": Double(d[1]), "h": Double(d[2]), "w": Double(d[3]), "ho": Double(d[4]), "wo": Double(d[5]), "align": align]
        }
        let small = [0.0, 1].map { shape([2, 3, 5, 7, 4, 3], $0) }
        return KernelRow(
            name: "grid_sample", family: "sample", forward: "tl_grid_sample_forward", backward: "tl_grid_sample_backward",
            reference: "Swift: PyTorch's bilinear grid_sample with zero padding, in Double",
            // The kernel maps grid to pixel coordinates in float: ~1e-7 of the size, times pixel differences up to 2.
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5),
            // Small steps: the sample is piecewise bilinear, so differences must not cross a pixel boundary.
            finiteDifferences: FiniteDifferences(step: 1e-3, tolerance: Tolerance(abs: 2e-3, rel: 1e-2), shapes: small),
            shapes: small + [0.0, 1].map { shape([3, 8, 23, 19, 21, 17], $0) }, benchShapes: [shape([128, 16, 32, 32, 32, 32], 0)],
            work: { s in
                let out = s.value("n") * s.value("c") * s.value("ho") * s.value("wo")
                return (.bytes(8 * out + 8 * s.value("n") * s.value("ho") * s.value("wo")), .bytes(16 * out))
            },
            note: "grid in [-1.2, 1.2) with a corner and a far-outside point, moved a tenth of a pixel off pixel boundaries (the kinks)",
            make: { s in
                let (n, ch, h, w, ho, wo) = (s.int("n"), s.int("c"), s.int("h"), s.int("w"), s.int("ho"), s.int("wo"))
                let align = s.flag("align"), c = KernelCase()
                let x = c.uniform("x", n * ch * h * w, gradient: true)
                var grid = kernelRandom(n * ho * wo * 2, seed: c.seed(), low: -1.2, high: 1.2)
                (grid[0], grid[1], grid[2], grid[3]) = (-1, 1, 3, 0.1)
                grid = grid.enumerated().map { i, g in
                    let size = Float(i % 2 == 0 ? w : h)
                    let pixel = align ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2
                    return abs(pixel - pixel.rounded()) < 0.05 ? g + 0.2 / size : g
                }
                let g = c.input("grid", grid, gradient: true)
                let y = c.output("y", n * ch * ho * wo, gradient: true)
                c.forward { tl_grid_sample_forward(y.f, x.f, g.f, n, ch, h, w, ho, wo, align ? 1 : 0) }
                c.backward { tl_grid_sample_backward(x.grad.f, g.grad.f, y.up.f, x.f, g.f, n, ch, h, w, ho, wo, align ? 1 : 0) }
                c.reference {
                    let xv = x.values, gv = g.values
                    func pixel(_ v: Double, _ size: Int) -> Double { align ? (v + 1) / 2 * Double(size - 1) : ((v + 1) * Double(size) - 1) / 2 }
                    var out = [Double](repeating: 0, count: y.count)
                    for b in 0..<n {
                        for oy in 0..<ho {
                            for ox in 0..<wo {
                                let gi = ((b * ho + oy) * wo + ox) * 2
                                let ix = pixel(gv[gi], w), iy = pixel(gv[gi + 1], h)
                                let x0 = Int(ix.rounded(.down)), y0 = Int(iy.rounded(.down)), tx = ix - Double(x0), ty = iy - Double(y0)
                                for k in 0..<ch {
                                    var v = 0.0
                                    for (dx, dy, wt) in [(0, 0, (1 - tx) * (1 - ty)), (1, 0, tx * (1 - ty)), (0, 1, (1 - tx) * ty), (1, 1, tx * ty)] {
                                        let (px, py) = (x0 + dx, y0 + dy)
                                        if px >= 0 && px < w && py >= 0 && py < h { v += wt * xv[((b * ch + k) * h + py) * w + px] }
                                    }
                                    out[((b * ch + k) * ho + oy) * wo + ox] = v
                                }
                            }
                        }
                    }
                    return ["y": out]
                }
                return c
            })
    }
}
