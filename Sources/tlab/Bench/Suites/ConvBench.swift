import TrainingLab

extension BenchSuites {
    /// The three convolutions of the issue at batch 128 (with bias), forward and forward+backward; bench/torch_side.py
    /// times the same layers in PyTorch (`make bench-peer`). The 3->16 input layer's backward computes only the weight
    /// and bias gradients, like the first layer of a network.
    static var conv: [BenchCase] {
        let layers: [(name: String, c: Int, hw: Int, k: Int, stride: Int, inputGrad: Bool)] = [
            ("conv_3to16_32x32", 3, 32, 16, 1, false),
            ("conv_16to32_32x32_s2", 16, 32, 32, 2, true),
            ("conv_64to64_8x8", 64, 8, 64, 1, true),
        ]
        return layers.flatMap { l -> [BenchCase] in
            let n = 128
            let p = tl_conv2d_params(batch: n, in_channels: l.c, in_h: l.hw, in_w: l.hw, out_channels: l.k, kernel_h: 3,
                                     kernel_w: 3, stride_h: l.stride, stride_w: l.stride, pad_h: 1, pad_w: 1,
                                     dilation_h: 1, dilation_w: 1, groups: 1)
            let o = (l.hw + 2 - 3) / l.stride + 1
            let macs = Double(n * l.k * o * o * l.c * 9)
            var algos: (Int32, Int32, Int32) = (-1, -1, -1)
            _ = tl_conv2d_algorithms(&algos.0, &algos.1, &algos.2, p)
            let names = ["im2col", "direct", "winograd"]
            let name = { (a: Int32) in a >= 0 && a < 3 ? names[Int(a)] : "?" }
            let shape = "\(n)x\(l.c)x\(l.hw)x\(l.hw) -> \(l.k)x\(o)x\(o) k3 s\(l.stride) p1"
            let via = " [\(name(algos.0))/\(l.inputGrad ? name(algos.1) : "-")/\(name(algos.2))]"
            func buffers() -> (x: BenchBuffer, w: BenchBuffer, b: BenchBuffer, y: BenchBuffer) {
                (BenchBuffer(count: n * l.c * l.hw * l.hw, seed: 1), BenchBuffer(count: l.k * l.c * 9, seed: 2, low: -0.1, high: 0.1),
                 BenchBuffer(count: l.k, seed: 3), BenchBuffer(count: n * l.k * o * o, seed: 4))
            }
            return [
                BenchCase(name: "\(l.name)_fwd", shape: shape + " [\(name(algos.0))]", work: .flops(2 * macs)) {
                    let (x, w, b, y) = buffers()
                    return BenchBodies(body: idleBeforeFirstCall {
                        try tlCheck(tl_conv2d_forward(y.pointer, x.pointer, w.pointer, b.pointer, p))
                    })
                },
                BenchCase(name: "\(l.name)_fwdbwd", shape: shape + (l.inputGrad ? "" : " no dx") + via,
                          work: .flops(2 * macs * (l.inputGrad ? 3 : 2))) {
                    let (x, w, b, y) = buffers()
                    let dy = BenchBuffer(count: n * l.k * o * o, seed: 5)
                    let dx = BenchBuffer(count: n * l.c * l.hw * l.hw, seed: 6)
                    let dw = BenchBuffer(count: l.k * l.c * 9, seed: 7), db = BenchBuffer(count: l.k, seed: 8)
                    return BenchBodies(body: idleBeforeFirstCall {
                        try tlCheck(tl_conv2d_forward(y.pointer, x.pointer, w.pointer, b.pointer, p))
                        try tlCheck(tl_conv2d_backward(l.inputGrad ? dx.pointer : nil, dw.pointer, db.pointer, dy.pointer,
                                                       x.pointer, w.pointer, p))
                    })
                },
            ]
        }
    }
}
