import XCTest
import TrainingLab

final class RNGTests: XCTestCase {
    func testPhiloxKnownAnswers() {
        var out = [UInt32](repeating: 0, count: 4)
        tl_philox4x32_10([0, 0, 0, 0], [0, 0], &out)
        XCTAssertEqual(out, [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8])
        tl_philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], &out)
        XCTAssertEqual(out, [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd])
        tl_philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], &out)
        XCTAssertEqual(out, [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1])
    }
}

final class RNGStreamTests: XCTestCase {
    func testUniformDoesNotDependOnTheSplit() {
        let n = 300_001
        let one = randomFloats(n, seed: 42)
        var tail = [Float](repeating: 0, count: 1000)
        XCTAssertEqual(tl_rng_uniform(&tail, 1000, 42, UInt64(n - 1000), -1, 1), 0)
        assertBitwiseEqual(tail, Array(one[(n - 1000)...]))
        XCTAssertTrue(one.allSatisfy { $0 >= -1 && $0 < 1 })
        XCTAssertEqual(Double(one.reduce(0, +)) / Double(n), 0, accuracy: 0.01)
    }

    func testNormalMoments() {
        var x = [Float](repeating: 0, count: 200_000)
        XCTAssertEqual(tl_rng_normal(&x, x.count, 7, 0, 2, 3), 0)
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)
        XCTAssertEqual(mean, 2, accuracy: 0.03)
        XCTAssertEqual(variance.squareRoot(), 3, accuracy: 0.03)
        XCTAssertTrue(x.allSatisfy { $0.isFinite })
    }

    func testBernoulliRate() {
        var x = [Float](repeating: 0, count: 100_000)
        XCTAssertEqual(tl_rng_bernoulli(&x, x.count, 3, 0, 0.3), 0)
        XCTAssertEqual(Double(x.reduce(0, +)) / Double(x.count), 0.3, accuracy: 0.01)
    }

    func testBadArguments() {
        var x = [Float](repeating: 0, count: 4)
        assertFails(tl_rng_uniform(nil, 4, 1, 0, 0, 1), TL_ERR_NULL_POINTER, mentioning: "tl_rng_uniform")
        assertFails(tl_rng_normal(&x, -1, 1, 0, 0, 1), TL_ERR_INVALID_ARGUMENT, mentioning: "n")
        assertFails(tl_rng_bernoulli(&x, 4, 1, 0, 1.5), TL_ERR_INVALID_ARGUMENT, mentioning: "p")
    }
}
