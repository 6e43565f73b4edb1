import Foundation
import TrainingLab

/// Batch augmentation fused with the gather (include/tl_augment.h), against references that build each
/// padded image, draw the same Philox words and cut, mirror, resize and normalise in Double.
extension KernelTable {
    static var augment: [KernelRow] { [cropFlip(floatStore: false), cropFlip(floatStore: true), resizedCrop, channelHistogram] }

    private static func augmentShape(_ d: [Double]) -> KernelShape {
        ["N": d[0], "B": d[1], "C": d[2], "H": d[3], "W": d[4], "pad": d[5], "flip": d[6]]
    }

    /// The store (uint8 pixels or floats), the gathered indices and the per-channel normalisation of a case.
    private static func store(_ s: KernelShape, _ c: KernelCase, floats: Bool) -> (images: KernelBuffer, indices: KernelBuffer,
                                                                                   mean: KernelBuffer, std: KernelBuffer) {
        let (n, b, ch) = (s.int("N"), s.int("B"), s.int("C"))
        let count = n * ch * s.int("H") * s.int("W")
        let noise = kernelRandom(count, seed: c.seed(), low: 0, high: 256)
        let images = floats ? c.input("samples", noise.map { $0 / 64 - 2 }) : c.input("images", count, .u8) { Double(min(255, noise[$0].rounded(.down))) }
        let indices = c.input("indices", b, .i64) { Double(($0 * 37 + 11) % n) }
        let mean = c.input("mean", (0..<ch).map { 0.2 + 0.1 * Float($0) }), std = c.input("std", (0..<ch).map { 0.3 + 0.05 * Float($0) })
        return (images, indices, mean, std)
    }

    private static func cropFlip(floatStore: Bool) -> KernelRow {
        // (N, B, C, H, W, pad, flip): batch 1, odd sizes, 1x1, pad larger than the image, widths not a multiple of 8,
        // no flip, and a batch large enough for the thread split.
        let shapes = [[10, 4, 1, 28, 28, 2, 0.5], [7, 5, 3, 32, 32, 4, 0.5], [3, 1, 1, 1, 1, 1, 0.5], [5, 6, 2, 5, 7, 3, 1.0],
                      [4, 4, 3, 9, 13, 0, 0.5], [6, 3, 1, 4, 6, 9, 0.3], [20, 9, 3, 17, 11, 2, 0], [300, 256, 3, 32, 32, 4, 0.5]].map { augmentShape($0) }
        let name = floatStore ? "augment_crop_flip_f32" : "augment_crop_flip"
        return KernelRow(
            name: name, family: "augment", forward: "tl_\(name)",
            reference: "Swift: zero-padded image, window at the Philox offsets, mirror, normalise, in Double",
            tolerance: Tolerance(abs: 1e-5, rel: 1e-5), shapes: shapes,
            benchShapes: [augmentShape([10_000, 128, 3, 32, 32, 4, 0.5]), augmentShape([10_000, 128, 1, 28, 28, 2, 0.5])],
            work: { s in (.bytes(s.value("B") * s.value("C") * s.value("H") * s.value("W") * (floatStore ? 8 : 5)), nil) },
            note: "seed 99, counter 5; gathers and draws, no backward",
            make: { s in
                let (n, b, ch, h, w, pad) = (s.int("N"), s.int("B"), s.int("C"), s.int("H"), s.int("W"), s.int("pad"))
                let flip = s.float("flip"), c = KernelCase()
                let (images, indices, mean, std) = store(s, c, floats: floatStore)
                let out = c.output("out", b * ch * h * w)
                if floatStore {
                    c.forward { tl_augment_crop_flip_f32(out.f, images.f, indices.i64, mean.f, std.f, n, b, ch, h, w, pad, flip, 99, 5) }
                } else {
                    c.forward { tl_augment_crop_flip(out.f, images.u8, indices.i64, mean.f, std.f, n, b, ch, h, w, pad, flip, 99, 5) }
                }
                c.reference {
                    ["out": Reference.cropFlip(images.values, scale: floatStore ? 1 : 1.0 / 255, indices: indices.values.map { Int($0) },
                                               mean: mean.values, std: std.values, c: ch, h: h, w: w, pad: pad, flipProb: flip, seed: 99, counter: 5)]
                }
                return c
            })
    }

    private static var resizedCrop: KernelRow {
        // (N, B, C, H, W, OH, OW, scale, ratio, flip); the second to last: every attempt fails, the clamped centre crop;
        // the last: wider than one 256-column chunk of the kernel.
        let cases: [[Double]] = [[8, 6, 1, 28, 28, 28, 28, 0.3, 1, 0.75, 4.0 / 3.0, 0.5], [5, 4, 3, 32, 32, 32, 32, 0.2, 1, 0.75, 4.0 / 3.0, 0.5],
                                 [4, 3, 3, 9, 13, 16, 12, 0.08, 1, 0.5, 2, 1], [3, 3, 1, 1, 1, 3, 2, 0.5, 1, 1, 1, 0.5],
                                 [6, 6, 2, 10, 10, 5, 5, 0.5, 0.9, 0.75, 1.3, 0], [6, 6, 1, 8, 8, 8, 8, 5, 6, 3, 4, 0.5],
                                 [2, 2, 2, 7, 40, 3, 300, 0.3, 1, 2, 6, 0.5], [300, 256, 3, 32, 32, 32, 32, 0.2, 1, 0.75, 1.33, 0.5]]
        let shape = { (d: [Double]) -> KernelShape in
            ["N": d[0], "B": d[1], "C": d[2], "H": d[3], "W": d[4], "OH": d[5], "OW": d[6], "scale_min": d[7], "scale_max": d[8],
             "ratio_min": d[9], "ratio_max": d[10], "flip": d[11]]
        }
        return KernelRow(
            name: "augment_resized_crop", family: "augment", forward: "tl_augment_resized_crop",
            reference: "Swift: torchvision's get_params on the same Philox words, PyTorch's bilinear (align_corners=False), in Double",
            tolerance: Tolerance(abs: 1e-4, rel: 1e-4), shapes: cases.map(shape),
            benchShapes: [shape([10_000, 256, 1, 28, 28, 28, 28, 0.3, 1, 0.75, 4.0 / 3.0, 0.5])],
            work: { s in (.bytes(s.value("B") * s.value("C") * s.value("OH") * s.value("OW") * 5), nil) },
            note: "seed 1234, counter 77; no backward",
            make: { s in
                let (n, b, ch, h, w, oh, ow) = (s.int("N"), s.int("B"), s.int("C"), s.int("H"), s.int("W"), s.int("OH"), s.int("OW"))
                let (scale, ratio) = ((s.float("scale_min"), s.float("scale_max")), (s.float("ratio_min"), s.float("ratio_max")))
                let flip = s.float("flip"), c = KernelCase()
                let (images, indices, mean, std) = store(s, c, floats: false)
                let out = c.output("out", b * ch * oh * ow)
                c.forward {
                    tl_augment_resized_crop(out.f, images.u8, indices.i64, mean.f, std.f, n, b, ch, h, w, oh, ow, scale.0, scale.1, ratio.0,
                                            ratio.1, flip, 1234, 77)
                }
                c.reference {
                    ["out": Reference.resizedCrop(images.values, indices: indices.values.map { Int($0) }, mean: mean.values, std: std.values,
                                                  c: ch, h: h, w: w, oh: oh, ow: ow, scale: scale, ratio: ratio, flipProb: flip, seed: 1234,
                                                  counter: 77)]
                }
                return c
            })
    }

    private static var channelHistogram: KernelRow {
        KernelRow(
            name: "augment_channel_histogram", family: "augment", forward: "tl_augment_channel_histogram",
            reference: "Swift: counts of each byte value per channel", tolerance: .exact,
            shapes: KernelShape.list(["N", "C", "P"], [[1, 1, 1], [3, 2, 5], [17, 3, 33], [300, 3, 1024]]),
            benchShapes: [["N": 10_000, "C": 3, "P": 1024]], work: { s in (.bytes(s.value("N") * s.value("C") * s.value("P")), nil) },
            note: "no backward",
            make: { s in
                let (n, ch, p) = (s.int("N"), s.int("C"), s.int("P")), c = KernelCase()
                let noise = kernelRandom(n * ch * p, seed: c.seed(), low: 0, high: 256)
                let images = c.input("images", n * ch * p, .u8) { Double(min(255, noise[$0].rounded(.down))) }
                let hist = c.output("hist", ch * 256, .i64)
                c.forward { tl_augment_channel_histogram(hist.i64, images.u8, n, ch, p) }
                c.reference {
                    var counts = [Double](repeating: 0, count: ch * 256)
                    for i in 0..<images.count { counts[(i / p) % ch * 256 + Int(images.u8[i])] += 1 }
                    return ["hist": counts]
                }
                return c
            })
    }
}

extension Reference {
    /// Words of the private stream of one sample: Philox counter {key, sub, 0} under `seed`.
    static func sampleWords(seed: UInt64, key: UInt64, sub: UInt32) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: 4)
        tl_philox4x32_10([UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32), sub, 0],
                         [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)], &out)
        return out
    }

    private static func unit(_ word: UInt32) -> Double { Double(word >> 8) / 16_777_216.0 }

    /// tl_augment_crop_flip(_f32): pixels times `scale` (1/255 for bytes), zero-padded, the window at the drawn
    /// offsets, mirrored with probability flipProb, normalised.
    public static func cropFlip(_ images: [Double], scale: Double, indices: [Int], mean: [Double], std: [Double], c: Int, h: Int, w: Int,
                                pad: Int, flipProb: Float, seed: UInt64, counter: UInt64) -> [Double] {
        var out: [Double] = []
        for index in indices {
            let words = sampleWords(seed: seed, key: counter &+ UInt64(index), sub: 0)
            let oy = pad > 0 ? Int(words[0] % UInt32(2 * pad + 1)) : pad
            let ox = pad > 0 ? Int(words[1] % UInt32(2 * pad + 1)) : pad
            let flip = flipProb > 0 && unit(words[2]) < Double(flipProb)
            let ph = h + 2 * pad, pw = w + 2 * pad
            for ch in 0..<c {
                var padded = [Double](repeating: 0, count: ph * pw)
                for y in 0..<h { for x in 0..<w { padded[(y + pad) * pw + x + pad] = images[((index * c + ch) * h + y) * w + x] * scale } }
                for y in 0..<h {
                    for x in 0..<w { out.append((padded[(y + oy) * pw + (flip ? w - 1 - x : x) + ox] - mean[ch]) / std[ch]) }
                }
            }
        }
        return out
    }

    /// tl_augment_resized_crop: torchvision's get_params, PyTorch's bilinear (align_corners=False), flip, normalise.
    public static func resizedCrop(_ images: [Double], indices: [Int], mean: [Double], std: [Double], c: Int, h: Int, w: Int, oh: Int,
                                   ow: Int, scale: (Float, Float), ratio: (Float, Float), flipProb: Float, seed: UInt64,
                                   counter: UInt64) -> [Double] {
        var out: [Double] = []
        for index in indices {
            let key = counter &+ UInt64(index)
            let area = Double(h * w), logLo = Foundation.log(Double(ratio.0)), logHi = Foundation.log(Double(ratio.1))
            var box: (top: Int, left: Int, h: Int, w: Int)? = nil
            for attempt in 0..<10 {
                let r = sampleWords(seed: seed, key: key, sub: UInt32(1 + attempt))
                let target = area * (Double(scale.0) + (Double(scale.1) - Double(scale.0)) * unit(r[0]))
                let aspect = Foundation.exp(logLo + (logHi - logLo) * unit(r[1]))
                let cw = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
                let chh = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
                if cw > 0 && cw <= w && chh > 0 && chh <= h {
                    box = (Int(r[2] % UInt32(h - chh + 1)), Int(r[3] % UInt32(w - cw + 1)), chh, cw)
                    break
                }
            }
            if box == nil {
                let inRatio = Double(w) / Double(h)
                var cw = w, chh = h
                if inRatio < Foundation.exp(logLo) { chh = Int((Double(w) / Foundation.exp(logLo)).rounded(.toNearestOrEven)) }
                else if inRatio > Foundation.exp(logHi) { cw = Int((Double(h) * Foundation.exp(logHi)).rounded(.toNearestOrEven)) }
                box = ((h - chh) / 2, (w - cw) / 2, chh, cw)
            }
            let b = box!
            let flip = flipProb > 0 && unit(sampleWords(seed: seed, key: key, sub: 0)[2]) < Double(flipProb)
            for ch in 0..<c {
                func pixel(_ y: Int, _ x: Int) -> Double { images[((index * c + ch) * h + b.top + y) * w + b.left + x] }
                for oy in 0..<oh {
                    let sy = max(0, (Double(oy) + 0.5) * Double(b.h) / Double(oh) - 0.5)
                    let y0 = Int(sy), y1 = min(y0 + 1, b.h - 1), ly = sy - Double(y0)
                    for ox in 0..<ow {
                        let sx = max(0, (Double(flip ? ow - 1 - ox : ox) + 0.5) * Double(b.w) / Double(ow) - 0.5)
                        let x0 = Int(sx), x1 = min(x0 + 1, b.w - 1), lx = sx - Double(x0)
                        let v = (1 - ly) * ((1 - lx) * pixel(y0, x0) + lx * pixel(y0, x1)) + ly * ((1 - lx) * pixel(y1, x0) + lx * pixel(y1, x1))
                        out.append((v / 255 - mean[ch]) / std[ch])
                    }
                }
            }
        }
        return out
    }
}
