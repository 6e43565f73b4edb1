import XCTest
import TrainingLab

private final class Pruner: InLoopMethod {
    static let descriptor = MethodDescriptor(name: "pruner", title: "t", paper: "-", summary: "-", claims: [.sampleOrder])
    init(options: OptionValues) {}
}

private final class Reorderer: InLoopMethod {
    static let descriptor = MethodDescriptor(name: "reorderer", title: "t", paper: "-", summary: "-", claims: [.sampleOrder, .inputs])
    init(options: OptionValues) {}
}

private final class Attacker: InLoopMethod {
    static let descriptor = MethodDescriptor(name: "attacker", title: "t", paper: "-", summary: "-",
                                             options: [.double("eps", 0.1, in: 0...1, help: "radius")], claims: [.inputs])
    init(options: OptionValues) {}
}

private final class Owner: LoopOwningMethod {
    static let descriptor = MethodDescriptor(name: "owner", title: "t", paper: "-", summary: "-")
    init(options: OptionValues) {}
    func run(_ context: MethodContext) throws -> MethodOutcome { MethodOutcome(model: nil) }
}

final class MethodCombinationTests: XCTestCase {
    private func registry() throws -> PluginRegistry {
        let registry = try PluginRegistry(pluginPaths: [], environment: [:])
        try registry.register(PluginRegistration(Pruner.self, Reorderer.self, Attacker.self, Owner.self), from: "test")
        return registry
    }

    func testCompatibleInLoopMethodsCombine() throws {
        let plan = try RunPlan(registry: try registry(), name: "pruner+attacker", optionAssignments: ["attacker.eps=0.2"])
        XCTAssertEqual(plan.methodName, "pruner+attacker")
        XCTAssertEqual(try plan.options[1].double("eps"), 0.2)
    }

    func testConflictingClaimsAreRefused() throws {
        XCTAssertThrowsError(try RunPlan(registry: try registry(), name: "pruner+reorderer")) {
            XCTAssertEqual("\($0)", "methods 'pruner' and 'reorderer' conflict: both take over sampleOrder")
        }
        XCTAssertThrowsError(try RunPlan(registry: try registry(), name: "reorderer+attacker")) {
            XCTAssertTrue("\($0)".contains("both take over inputs"))
        }
    }

    func testLoopOwningMethodsRunAlone() throws {
        XCTAssertThrowsError(try RunPlan(registry: try registry(), name: "owner+pruner")) {
            XCTAssertTrue("\($0)".contains("runs its own loop and cannot be combined"))
        }
    }

    func testCombinedOptionsMustNameTheirMethod() throws {
        XCTAssertThrowsError(try RunPlan(registry: try registry(), name: "pruner+attacker", optionAssignments: ["eps=0.2"])) {
            XCTAssertTrue("\($0)".contains("method.option"))
        }
    }

    func testDuplicateRegistrationIsAnError() throws {
        let registry = try registry()
        XCTAssertThrowsError(try registry.register(PluginRegistration(Pruner.self), from: "other")) {
            XCTAssertTrue("\($0)".contains("two plugins provide the method 'pruner': test and other"))
        }
    }
}
