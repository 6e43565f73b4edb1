import Foundation
import XCTest
import TrainingLab

/// Random uint8 images (n, c, h, w) from the counter-based generator.
private func randomImages(_ count: Int, seed: UInt64) -> [UInt8] {
    randomFloats(count, seed: seed, low: 0, high: 256).map { UInt8(min(255, max(0, $0.rounded(.down)))) }
}

/// Words of the private stream of one sample: Philox counter {key, sub, 0} under `seed`.
private func sampleWords(seed: UInt64, key: UInt64, sub: UInt32) -> [UInt32] {
    var out = [UInt32](repeating: 0, count: 4)
    tl_philox4x32_10([UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32), sub, 0],
                     [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)], &out)
    return out
}

private func unit(_ word: UInt32) -> Double { Double(word >> 8) / 16_777_216.0 }

/// Reference of tl_augment_crop_flip: build the zero-padded image, cut the window, mirror, normalise (Double).
private func referenceCropFlip(images: [UInt8], indices: [Int], mean: [Float]?, std: [Float]?, c: Int, h: Int, w: Int,
                               pad: Int, flipProb: Float, seed: UInt64, counter: UInt64) -> [Float] {
    var out: [Float] = []
    for index in indices {
        let words = sampleWords(seed: seed, key: counter &+ UInt64(index), sub: 0)
        let oy = pad > 0 ? Int(words[0] % UInt32(2 * pad + 1)) : pad
        let ox = pad > 0 ? Int(words[1] % UInt32(2 * pad + 1)) : pad
        let flip = flipProb > 0 && unit(words[2]) < Double(flipProb)
        let ph = h + 2 * pad, pw = w + 2 * pad
        for ch in 0..<c {
            var padded = [Double](repeating: 0, count: ph * pw)
            for y in 0..<h { for x in 0..<w { padded[(y + pad) * pw + x + pad] = Double(images[((index * c + ch) * h + y) * w + x]) / 255 } }
            let m = Double(mean?[ch] ?? 0), s = Double(std?[ch] ?? 1)
            for y in 0..<h {
                for x in 0..<w {
                    let cx = flip ? w - 1 - x : x
                    out.append(Float((padded[(y + oy) * pw + cx + ox] - m) / s))
                }
            }
        }
    }
    return out
}

/// Reference of tl_augment_resized_crop: torchvision's get_params, PyTorch's bilinear (align_corners=False).
private func referenceResizedCrop(images: [UInt8], indices: [Int], mean: [Float]?, std: [Float]?, c: Int, h: Int, w: Int,
                                  oh: Int, ow: Int, scale: (Float, Float), ratio: (Float, Float), flipProb: Float,
                                  seed: UInt64, counter: UInt64) -> [Float] {
    var out: [Float] = []
    for index in indices {
        let key = counter &+ UInt64(index)
        let area = Double(h * w), logLo = log(Double(ratio.0)), logHi = log(Double(ratio.1))
        var box: (top: Int, left: Int, h: Int, w: Int)? = nil
        for attempt in 0..<10 {
            let r = sampleWords(seed: seed, key: key, sub: UInt32(1 + attempt))
            let target = area * (Double(scale.0) + (Double(scale.1) - Double(scale.0)) * unit(r[0]))
            let aspect = exp(logLo + (logHi - logLo) * unit(r[1]))
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
            if inRatio < exp(logLo) { chh = Int((Double(w) / exp(logLo)).rounded(.toNearestOrEven)) }
            else if inRatio > exp(logHi) { cw = Int((Double(h) * exp(logHi)).rounded(.toNearestOrEven)) }
            box = ((h - chh) / 2, (w - cw) / 2, chh, cw)
        }
        let b = box!
        let flip = flipProb > 0 && unit(sampleWords(seed: seed, key: key, sub: 0)[2]) < Double(flipProb)
        for ch in 0..<c {
            func pixel(_ y: Int, _ x: Int) -> Double { Double(images[((index * c + ch) * h + b.top + y) * w + b.left + x]) }
            let m = Double(mean?[ch] ?? 0), s = Double(std?[ch] ?? 1)
            for oy in 0..<oh {
                let sy = max(0, (Double(oy) + 0.5) * Double(b.h) / Double(oh) - 0.5)
                let y0 = Int(sy), y1 = min(y0 + 1, b.h - 1), ly = sy - Double(y0)
                for ox in 0..<ow {
                    let sx = max(0, (Double(flip ? ow - 1 - ox : ox) + 0.5) * Double(b.w) / Double(ow) - 0.5)
                    let x0 = Int(sx), x1 = min(x0 + 1, b.w - 1), lx = sx - Double(x0)
                    let v = (1 - ly) * ((1 - lx) * pixel(y0, x0) + lx * pixel(y0, x1)) + ly * ((1 - lx) * pixel(y1, x0) + lx * pixel(y1, x1))
                    out.append(Float((v / 255 - m) / s))
                }
            }
        }
    }
    return out
}

private func cropFlip(_ images: [UInt8], _ indices: [Int]?, mean: [Float]?, std: [Float]?, n: Int, b: Int, c: Int, h: Int, w: Int,
                      pad: Int, flip: Float, seed: UInt64, counter: UInt64 = 0) -> (Int32, [Float]) {
    var out = [Float](repeating: .nan, count: max(1, b * c * h * w))
    let idx = indices?.map(Int64.init)
    let status = images.withUnsafeBufferPointer { img in
        withOptional(idx) { ip in withOptional(mean) { mp in withOptional(std) { sp in
            tl_augment_crop_flip(&out, img.baseAddress, ip, mp, sp, n, b, c, h, w, pad, flip, seed, counter)
        } } }
    }
    return (status, Array(out.prefix(b * c * h * w)))
}

private func resizedCrop(_ images: [UInt8], _ indices: [Int]?, mean: [Float]?, std: [Float]?, n: Int, b: Int, c: Int, h: Int, w: Int,
                         oh: Int, ow: Int, scale: (Float, Float), ratio: (Float, Float), flip: Float, seed: UInt64,
                         counter: UInt64 = 0) -> (Int32, [Float]) {
    var out = [Float](repeating: .nan, count: max(1, b * c * oh * ow))
    let idx = indices?.map(Int64.init)
    let status = images.withUnsafeBufferPointer { img in
        withOptional(idx) { ip in withOptional(mean) { mp in withOptional(std) { sp in
            tl_augment_resized_crop(&out, img.baseAddress, ip, mp, sp, n, b, c, h, w, oh, ow, scale.0, scale.1, ratio.0, ratio.1,
                                    flip, seed, counter)
        } } }
    }
    return (status, Array(out.prefix(b * c * oh * ow)))
}

private func withOptional<T, R>(_ values: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}

final class AugmentCropFlipTests: XCTestCase {
    func testMatchesReferenceOnSeveralShapes() {
        // (N, B, C, H, W, pad, flip): batch 1, odd sizes, 1x1, pad larger than the image, widths not a multiple of 8.
        let shapes = [(10, 4, 1, 28, 28, 2, Float(0.5)), (7, 5, 3, 32, 32, 4, 0.5), (3, 1, 1, 1, 1, 1, 0.5),
                      (5, 6, 2, 5, 7, 3, 1.0), (4, 4, 3, 9, 13, 0, 0.5), (6, 3, 1, 4, 6, 9, 0.3), (20, 9, 3, 17, 11, 2, 0)]
        for (i, s) in shapes.enumerated() {
            let (n, b, c, h, w, pad, flip) = s
            let images = randomImages(n * c * h * w, seed: UInt64(i + 1))
            let indices = (0..<b).map { ($0 * 7 + i) % n }
            let mean = (0..<c).map { 0.2 + 0.1 * Float($0) }, std = (0..<c).map { 0.3 + 0.05 * Float($0) }
            let (status, got) = cropFlip(images, indices, mean: mean, std: std, n: n, b: b, c: c, h: h, w: w, pad: pad, flip: flip, seed: 99, counter: 5)
            XCTAssertEqual(status, 0, String(cString: tl_last_error()))
            let want = referenceCropFlip(images: images, indices: indices, mean: mean, std: std, c: c, h: h, w: w, pad: pad,
                                         flipProb: flip, seed: 99, counter: 5)
            assertClose(got, want, rtol: 1e-5, atol: 1e-5, "shape \(s)")
        }
    }

    func testEvaluationModeIsPlainScaling() {
        let images = randomImages(3 * 2 * 5 * 4, seed: 3)
        let (status, got) = cropFlip(images, nil, mean: nil, std: nil, n: 3, b: 3, c: 2, h: 5, w: 4, pad: 0, flip: 0, seed: 1)
        XCTAssertEqual(status, 0)
        assertClose(got, images.map { Float($0) / 255 }, rtol: 1e-6, atol: 1e-7)
    }

    func testOffsetsAndFlipsAreSpreadAndUnbiased() {
        // 1x1x5 images holding 1..5: each output row reveals its shift and flip.
        let n = 4000, pad = 2
        let images = (0..<n).flatMap { _ in [UInt8](1...5) }
        let (status, out) = cropFlip(images, nil, mean: nil, std: nil, n: n, b: n, c: 1, h: 1, w: 5, pad: pad, flip: 0.5, seed: 11)
        XCTAssertEqual(status, 0)
        var flips = 0
        var rows = Set<[Int]>()
        for i in 0..<n {
            let row = (0..<5).map { Int((out[i * 5 + $0] * 255).rounded()) }
            rows.insert(row)
            let nonzero = row.filter { $0 != 0 }
            if nonzero.count > 1 && nonzero.first! > nonzero.last! { flips += 1 }
        }
        // H = 1 with pad 2: a vertical shift of +-1 or +-2 blanks the row (4 of 5 dy values).
        XCTAssertEqual(Double(flips) / Double(n) * 5, 0.5, accuracy: 0.1)
        XCTAssertGreaterThanOrEqual(rows.count, 9, "5 horizontal shifts x 2 flips + blank rows should all occur")
    }

    func testSampleDependsOnIndexNotPosition() {
        let (n, c, h, w) = (6, 3, 8, 8)
        let images = randomImages(n * c * h * w, seed: 4)
        let (_, a) = cropFlip(images, [5, 1, 3], mean: nil, std: nil, n: n, b: 3, c: c, h: h, w: w, pad: 3, flip: 0.5, seed: 7)
        let (_, b) = cropFlip(images, [3, 5], mean: nil, std: nil, n: n, b: 2, c: c, h: h, w: w, pad: 3, flip: 0.5, seed: 7)
        let plane = c * h * w
        assertBitwiseEqual(Array(a[0..<plane]), Array(b[plane..<(2 * plane)]))
        assertBitwiseEqual(Array(a[(2 * plane)...]), Array(b[0..<plane]))
        let (_, other) = cropFlip(images, [5, 1, 3], mean: nil, std: nil, n: n, b: 3, c: c, h: h, w: w, pad: 3, flip: 0.5, seed: 8)
        XCTAssertNotEqual(a, other, "a different seed must draw different transforms")
    }

    func testThreadCountDoesNotChangeResults() {
        let (n, b, c, h, w) = (300, 256, 3, 32, 32)
        let images = randomImages(n * c * h * w, seed: 5)
        let indices = (0..<b).map { ($0 * 37) % n }
        let one = withThreads(1) { cropFlip(images, indices, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], n: n, b: b, c: c, h: h, w: w, pad: 4, flip: 0.5, seed: 3).1 }
        let two = withThreads(2) { cropFlip(images, indices, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], n: n, b: b, c: c, h: h, w: w, pad: 4, flip: 0.5, seed: 3).1 }
        assertBitwiseEqual(one, two)
    }

    func testBadArguments() {
        let images = [UInt8](repeating: 1, count: 2 * 3 * 4 * 4)
        var out = [Float](repeating: 0, count: 2 * 3 * 4 * 4)
        let idx: [Int64] = [0, 1]
        assertFails(tl_augment_crop_flip(nil, images, idx, nil, nil, 2, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_NULL_POINTER, mentioning: "tl_augment_crop_flip: out")
        assertFails(tl_augment_crop_flip(&out, nil, idx, nil, nil, 2, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_NULL_POINTER, mentioning: "images")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, nil, 2, -1, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "B")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, nil, 2, 2, 0, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, nil, 2, 2, 3, 4, -4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "W")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, nil, 0, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "N")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, nil, 2, 2, 3, 4, 4, -1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "pad")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, nil, 2, 2, 3, 4, 4, 1, 1.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "flip_prob")
        assertFails(tl_augment_crop_flip(&out, images, [0, 2], nil, nil, 2, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "indices[1] = 2")
        assertFails(tl_augment_crop_flip(&out, images, [-1, 0], nil, nil, 2, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "indices[0]")
        assertFails(tl_augment_crop_flip(&out, images, nil, nil, nil, 1, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "B (2) must be <= N (1)")
        assertFails(tl_augment_crop_flip(&out, images, idx, nil, [1, 0, 1], 2, 2, 3, 4, 4, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "std[1]")
        // B = 0 is a no-op that leaves the output alone.
        var untouched: [Float] = [42]
        XCTAssertEqual(tl_augment_crop_flip(&untouched, images, nil, nil, nil, 2, 0, 3, 4, 4, 1, 0.5, 0, 0), 0)
        XCTAssertEqual(untouched, [42])
    }
}

final class AugmentResizedCropTests: XCTestCase {
    func testMatchesReferenceOnSeveralShapes() {
        // (N, B, C, H, W, OH, OW, scale, ratio, flip)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, (Float, Float), (Float, Float), Float)] = [
            (8, 6, 1, 28, 28, 28, 28, (0.3, 1), (0.75, 4.0 / 3.0), 0.5),
            (5, 4, 3, 32, 32, 32, 32, (0.2, 1), (0.75, 4.0 / 3.0), 0.5),
            (4, 3, 3, 9, 13, 16, 12, (0.08, 1), (0.5, 2), 1),
            (3, 3, 1, 1, 1, 3, 2, (0.5, 1), (1, 1), 0.5),
            (6, 6, 2, 10, 10, 5, 5, (0.5, 0.9), (0.75, 1.3), 0),
            (6, 6, 1, 8, 8, 8, 8, (5, 6), (3, 4), 0.5), // every attempt fails: the clamped centre crop
            (2, 2, 2, 7, 40, 3, 300, (0.3, 1), (2, 6), 0.5), // wider than one 256-column chunk of the kernel
        ]
        for (i, t) in cases.enumerated() {
            let (n, b, c, h, w, oh, ow, scale, ratio, flip) = t
            let images = randomImages(n * c * h * w, seed: UInt64(20 + i))
            let indices = (0..<b).map { ($0 * 5 + i) % n }
            let mean = (0..<c).map { 0.1 * Float($0 + 1) }, std = (0..<c).map { 0.25 + 0.1 * Float($0) }
            let (status, got) = resizedCrop(images, indices, mean: mean, std: std, n: n, b: b, c: c, h: h, w: w, oh: oh, ow: ow,
                                            scale: scale, ratio: ratio, flip: flip, seed: 1234, counter: 77)
            XCTAssertEqual(status, 0, String(cString: tl_last_error()))
            let want = referenceResizedCrop(images: images, indices: indices, mean: mean, std: std, c: c, h: h, w: w, oh: oh, ow: ow,
                                            scale: scale, ratio: ratio, flipProb: flip, seed: 1234, counter: 77)
            assertClose(got, want, rtol: 1e-4, atol: 1e-4, "case \(i)")
        }
    }

    func testFullScaleSquareCropIsIdentity() {
        let images = randomImages(2 * 3 * 6 * 6, seed: 9)
        let (status, got) = resizedCrop(images, nil, mean: nil, std: nil, n: 2, b: 2, c: 3, h: 6, w: 6, oh: 6, ow: 6,
                                        scale: (1, 1), ratio: (1, 1), flip: 0, seed: 1)
        XCTAssertEqual(status, 0)
        assertClose(got, images.map { Float($0) / 255 }, rtol: 1e-6, atol: 1e-6)
    }

    func testCropsVaryInSizeWithinTheScaleRange() {
        // A single bright pixel per 28x28 image never survives every crop; the fraction of the image kept is
        // visible as the spread of mean intensities of a smooth ramp.
        let n = 400
        let ramp = (0..<28 * 28).map { UInt8(($0 % 28) * 9) }
        let images = (0..<n).flatMap { _ in ramp }
        let (status, out) = resizedCrop(images, nil, mean: nil, std: nil, n: n, b: n, c: 1, h: 28, w: 28, oh: 28, ow: 28,
                                        scale: (0.3, 1), ratio: (0.75, 4.0 / 3.0), flip: 0, seed: 5)
        XCTAssertEqual(status, 0)
        let ranges = (0..<n).map { i -> Float in
            let row = out[(i * 784)..<(i * 784 + 28)]
            return row.max()! - row.min()!
        }
        // Crop widths range from about sqrt(0.3 * 0.75) * 28 = 13 to 28 columns of the ramp.
        XCTAssertLessThan(ranges.min()!, 0.6)
        XCTAssertGreaterThan(ranges.max()!, 0.95)
    }

    func testThreadCountDoesNotChangeResults() {
        let (n, b) = (300, 256)
        let images = randomImages(n * 3 * 32 * 32, seed: 6)
        let indices = (0..<b).map { ($0 * 11) % n }
        let one = withThreads(1) { resizedCrop(images, indices, mean: nil, std: nil, n: n, b: b, c: 3, h: 32, w: 32, oh: 32, ow: 32, scale: (0.2, 1), ratio: (0.75, 1.33), flip: 0.5, seed: 3).1 }
        let two = withThreads(2) { resizedCrop(images, indices, mean: nil, std: nil, n: n, b: b, c: 3, h: 32, w: 32, oh: 32, ow: 32, scale: (0.2, 1), ratio: (0.75, 1.33), flip: 0.5, seed: 3).1 }
        assertBitwiseEqual(one, two)
    }

    func testBadArguments() {
        let images = [UInt8](repeating: 1, count: 2 * 16)
        var out = [Float](repeating: 0, count: 2 * 16)
        assertFails(tl_augment_resized_crop(&out, images, nil, nil, nil, 2, 2, 1, 4, 4, 0, 4, 0.5, 1, 1, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "OH")
        assertFails(tl_augment_resized_crop(&out, images, nil, nil, nil, 2, 2, 1, 4, 4, 4, 4, 0, 1, 1, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "scale")
        assertFails(tl_augment_resized_crop(&out, images, nil, nil, nil, 2, 2, 1, 4, 4, 4, 4, 0.9, 0.5, 1, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "scale")
        assertFails(tl_augment_resized_crop(&out, images, nil, nil, nil, 2, 2, 1, 4, 4, 4, 4, 0.5, 1, 2, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "ratio")
        assertFails(tl_augment_resized_crop(&out, images, [0, 3], nil, nil, 2, 2, 1, 4, 4, 4, 4, 0.5, 1, 1, 1, 0.5, 0, 0), TL_ERR_INVALID_ARGUMENT, mentioning: "indices[1]")
        assertFails(tl_augment_resized_crop(nil, images, nil, nil, nil, 2, 2, 1, 4, 4, 4, 4, 0.5, 1, 1, 1, 0.5, 0, 0), TL_ERR_NULL_POINTER, mentioning: "tl_augment_resized_crop")
    }
}

final class AugmentHistogramTests: XCTestCase {
    func testCountsPerChannel() {
        // 3 images (2 channels, 5 pixels): channel 0 holds 7s and 9s, channel 1 the image index.
        var images: [UInt8] = []
        for i in 0..<3 { images += [7, 7, 9, 7, 9] + [UInt8](repeating: UInt8(i), count: 5) }
        var hist = [Int64](repeating: -1, count: 512)
        XCTAssertEqual(tl_augment_channel_histogram(&hist, images, 3, 2, 5), 0)
        XCTAssertEqual(hist[7], 9)
        XCTAssertEqual(hist[9], 6)
        XCTAssertEqual(hist[256 + 0], 5)
        XCTAssertEqual(hist[256 + 1], 5)
        XCTAssertEqual(hist[256 + 2], 5)
        XCTAssertEqual(hist.reduce(0, +), 30)
        assertFails(tl_augment_channel_histogram(nil, images, 3, 2, 5), TL_ERR_NULL_POINTER, mentioning: "hist")
        assertFails(tl_augment_channel_histogram(&hist, images, 3, 0, 5), TL_ERR_INVALID_ARGUMENT, mentioning: "C")
    }
}
