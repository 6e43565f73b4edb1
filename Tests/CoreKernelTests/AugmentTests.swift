import Foundation
import XCTest
import TrainingLab

/// Batch augmentation (include/tl_augment.h) beyond the kernel table's checks: evaluation mode, the spread and
/// balance of offsets and flips, independence from batch position, full-scale crops, the range of crop sizes,
/// hand-computed histograms and bad arguments.

/// Random uint8 images (n, c, h, w) from the counter-based generator.
private func randomImages(_ count: Int, seed: UInt64) -> [UInt8] {
    randomFloats(count, seed: seed, low: 0, high: 256).map { UInt8(min(255, max(0, $0.rounded(.down)))) }
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
