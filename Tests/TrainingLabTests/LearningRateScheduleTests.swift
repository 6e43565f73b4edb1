import XCTest
import Foundation
import TrainingLab

final class LearningRateScheduleTests: XCTestCase {
    func testStepDecayAtMilestones() throws {
        let s = try LearningRateSchedule(parsing: "step:0.75:0.1")
        XCTAssertEqual(s.multiplier(at: 0), 1)
        XCTAssertEqual(s.multiplier(at: 0.74), 1)
        XCTAssertEqual(s.multiplier(at: 6.0 / 8.0), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 1), 0.1, accuracy: 1e-12)
    }

    func testCosineEnds() {
        let s = LearningRateSchedule(.cosine(floor: 0))
        XCTAssertEqual(s.multiplier(at: 0), 1, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 0.5), 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 1), 0, accuracy: 1e-12)
    }

    /// Values of torch.optim.lr_scheduler.OneCycleLR(max_lr=1, total_steps=101, pct_start=0.3,
    /// anneal_strategy='cos', div_factor=25, final_div_factor=1e4) follow these closed forms.
    func testOneCycleMatchesPyTorchShape() {
        let s = LearningRateSchedule(.oneCycle(pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4))
        XCTAssertEqual(s.multiplier(at: 0), 0.04, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 0.3), 1, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 0.15), 0.04 + (1 - 0.04) * 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 1), 4e-6, accuracy: 1e-15)
    }

    func testWarmupAndParsingErrors() throws {
        let s = try LearningRateSchedule(parsing: "cosine+warmup:0.1")
        XCTAssertEqual(s.multiplier(at: 0), 0, accuracy: 1e-12)
        XCTAssertEqual(s.multiplier(at: 0.05), 0.5 * LearningRateSchedule(.cosine(floor: 0)).multiplier(at: 0.05), accuracy: 1e-12)
        XCTAssertThrowsError(try LearningRateSchedule(parsing: "exp"))
        XCTAssertThrowsError(try LearningRateSchedule(parsing: "step"))
        XCTAssertThrowsError(try LearningRateSchedule(parsing: "cosine:x"))
    }
}
