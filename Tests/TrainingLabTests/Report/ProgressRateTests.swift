import XCTest
import TrainingLab

/// Throughput and ETA of the progress bar, from batch events at given times.
final class ProgressRateTests: XCTestCase {
    static func batch(_ b: Int, of batches: Int = 10, epoch: Int = 0, epochs: Int = 3, samples: Int, label: String = "erm") -> JSONValue {
        .object([("event", "batch"), ("label", .string(label)), ("epoch", .number(Double(epoch))), ("epochs", .number(Double(epochs))),
                 ("batch", .number(Double(b))), ("batches", .number(Double(batches))), ("samples", .number(Double(samples))), ("loss", 0.5)])
    }

    func testRateAndTimeLeft() throws {
        var rate = ProgressRate()
        rate.batch(Self.batch(1, samples: 100), at: 10)
        XCTAssertNil(rate.imagesPerSecond, "one event gives no rate")
        XCTAssertNil(rate.secondsLeft(batches: 10, epochs: 3))
        rate.batch(Self.batch(5, samples: 500), at: 12)
        XCTAssertEqual(try XCTUnwrap(rate.imagesPerSecond), 200, accuracy: 1e-9)
        // 0.5 s per batch: 5 batches left in this epoch, 2 epochs of 10 batches after it.
        XCTAssertEqual(try XCTUnwrap(rate.secondsLeft(batches: 10, epochs: 3)), 2.5 + 10, accuracy: 1e-9)
        // Once an epoch has ended, its measured length (evaluation included) stands for the later ones.
        XCTAssertEqual(try XCTUnwrap(rate.epoch(.object([("event", "epoch"), ("label", "erm"), ("seconds", 7.0)]))), 200, accuracy: 1e-9,
                       "an epoch ends with its training throughput")
        XCTAssertNil(rate.imagesPerSecond, "the rate restarts with each epoch")
        rate.batch(Self.batch(1, epoch: 1, samples: 100), at: 20)
        rate.batch(Self.batch(3, epoch: 1, samples: 300), at: 21)
        XCTAssertEqual(try XCTUnwrap(rate.secondsLeft(batches: 10, epochs: 3)), 7 * 0.5 + 7, accuracy: 1e-9)
        // Another loop (a teacher, a client) starts afresh, and its rate is not reported on another loop's line.
        rate.batch(Self.batch(4, epoch: 1, samples: 400, label: "erm round 0 client 3"), at: 22)
        XCTAssertNil(rate.imagesPerSecond)
        rate.batch(Self.batch(8, epoch: 1, samples: 800, label: "erm round 0 client 3"), at: 23)
        XCTAssertNotNil(rate.imagesPerSecond)
        XCTAssertNil(rate.epoch(.object([("event", "epoch"), ("label", "erm"), ("round", 0)])))
    }

    func testBarShowsThroughputAndETA() throws {
        var rate = ProgressRate()
        let first = Self.batch(1, samples: 100)
        rate.batch(first, at: 0)
        let plain = try XCTUnwrap(ConsoleProgress.bar(first, rate: rate))
        XCTAssertTrue(plain.hasPrefix("erm  epoch 1/3  ["), plain)
        XCTAssertFalse(plain.contains("ETA"))
        let later = Self.batch(6, samples: 600)
        rate.batch(later, at: 2)
        let bar = try XCTUnwrap(ConsoleProgress.bar(later, rate: rate))
        XCTAssertTrue(bar.contains("] 6/10"), bar)
        XCTAssertTrue(bar.contains("loss 0.5000"), bar)
        XCTAssertTrue(bar.contains("250 img/s"), bar)
        XCTAssertTrue(bar.contains("ETA 0:10"), bar)  // 0.4 s per batch: 4 left + 2 epochs of 10
        XCTAssertNil(ConsoleProgress.bar(.object([("event", "batch")]), rate: rate))
    }

    func testDurations() {
        XCTAssertEqual(ProgressRate.duration(7), "0:07")
        XCTAssertEqual(ProgressRate.duration(249.4), "4:09")
        XCTAssertEqual(ProgressRate.duration(3903), "1:05:03")
    }
}
