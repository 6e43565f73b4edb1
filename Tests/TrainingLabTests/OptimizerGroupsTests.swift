import XCTest
import TrainingLab

/// Parameter groups, checkpoint state and rebinding of SGD and AdamW.
final class OptimizerGroupsTests: XCTestCase {
    /// Named tensors of the given shapes with seeded values and gradients.
    private func parameters(_ shapes: [(String, [Int])], seed: UInt64) -> [(String, Tensor)] {
        shapes.enumerated().map { i, entry in
            let t = Tensor.uniform(entry.1, low: -1, high: 1, seed: seed, offset: UInt64(i) * 1000, requiresGrad: true)
            t.grad = Tensor.uniform(entry.1, low: -1, high: 1, seed: seed + 1, offset: UInt64(i) * 1000)
            return (entry.0, t)
        }
    }

    private func copies(_ named: [(String, Tensor)]) -> [(String, Tensor)] {
        named.map { name, t in
            let c = t.copy()
            c.requiresGrad = true
            c.grad = t.grad?.copy()
            return (name, c)
        }
    }

    func testSGDGroupsByHand() throws {
        let w = try Tensor([1, 2], shape: [1, 2], requiresGrad: true), b = try Tensor([1], shape: [1], requiresGrad: true)
        w.grad = try Tensor([1, 1], shape: [1, 2])
        b.grad = try Tensor([1], shape: [1])
        var groups = ParameterGroup.decayAndNoDecay([("w", w), ("b", b)])
        XCTAssertEqual(groups.map(\.name), ["decay", "no_decay"])
        groups[1].learningRateScale = 2
        let sgd = try SGD(groups: groups, learningRate: 0.1, weightDecay: 0.5)
        XCTAssertEqual(sgd.parameters.map(\.0), ["w", "b"])
        try sgd.step()
        // w -= 0.1 (1 + 0.5 w); b -= 0.2 * 1 (no decay, twice the rate).
        XCTAssertEqual(w.scalars[0], 0.85, accuracy: 1e-6)
        XCTAssertEqual(w.scalars[1], 1.8, accuracy: 1e-6)
        XCTAssertEqual(b.scalars[0], 0.8, accuracy: 1e-6)
    }

    func testGroupsEqualSeparateOptimisersBitwise() throws {
        let shapes = [("conv.weight", [4, 3, 2, 2]), ("conv.bias", [4]), ("fc.weight", [2, 16])]
        for adam in [false, true] {
            let grouped = parameters(shapes, seed: 3)
            let alone = copies(grouped)
            let groups = [ParameterGroup("backbone", Array(grouped[0...1]), learningRateScale: 0.5, weightDecay: 0.1),
                          ParameterGroup("head", [grouped[2]])]
            let a: Optimizer = adam ? try AdamW(groups: groups, learningRate: 0.01, weightDecay: 0.3)
                                    : try SGD(groups: groups, learningRate: 0.01, momentum: 0.9, weightDecay: 0.3)
            let backbone: Optimizer = adam ? AdamW(Array(alone[0...1]), learningRate: 0.005, weightDecay: 0.1)
                                           : SGD(Array(alone[0...1]), learningRate: 0.005, momentum: 0.9, weightDecay: 0.1)
            let head: Optimizer = adam ? AdamW([alone[2]], learningRate: 0.01, weightDecay: 0.3)
                                       : SGD([alone[2]], learningRate: 0.01, momentum: 0.9, weightDecay: 0.3)
            for _ in 0..<3 { try a.step(); try backbone.step(); try head.step() }
            for ((name, x), (_, y)) in zip(grouped, alone) { XCTAssertEqual(x.scalars, y.scalars, "\(name) adam=\(adam)") }
        }
    }

    func testDecaySplitOfAModelAndGroupErrors() throws {
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 3, seed: 1)
        let groups = ParameterGroup.decayAndNoDecay(model.namedParameters())
        XCTAssertEqual(groups[0].parameters.map(\.0), ["layers.0.weight", "layers.4.weight", "layers.9.weight", "layers.11.weight"])
        XCTAssertEqual(groups[1].parameters.map(\.0), ["layers.0.bias", "layers.1.gamma", "layers.1.beta", "layers.4.bias",
                                                       "layers.5.gamma", "layers.5.beta", "layers.9.bias", "layers.11.bias"])
        XCTAssertEqual(groups[1].weightDecay, 0)
        let p = model.namedParameters()
        XCTAssertThrowsError(try SGD(groups: [ParameterGroup("a", [p[0]]), ParameterGroup("b", [p[1], p[0]])], learningRate: 0.1)) {
            XCTAssertTrue("\($0)".contains("parameter 'layers.0.weight' is in more than one group"), "\($0)")
        }
        XCTAssertThrowsError(try AdamW(groups: [ParameterGroup("a", [p[0]], learningRateScale: -1)], learningRate: 0.1)) {
            XCTAssertTrue("\($0)".contains("group 'a' needs learningRateScale >= 0"), "\($0)")
        }
    }

    func testStateNamesAndRoundTripAreUnchangedByGroups() throws {
        let named = parameters([("w", [3, 2]), ("b", [3])], seed: 5)
        let sgd = try SGD(groups: ParameterGroup.decayAndNoDecay(named), learningRate: 0.1, momentum: 0.9)
        try sgd.step()
        XCTAssertEqual(sgd.state.map(\.0), ["w.momentum", "b.momentum"])
        let adam = try AdamW(groups: ParameterGroup.decayAndNoDecay(copies(named)), learningRate: 0.1)
        try adam.step()
        XCTAssertEqual(adam.state.map(\.0), ["w.exp_avg", "w.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq"])

        // A restored optimiser continues exactly like the original.
        let restored = copies(named)
        let resumed = SGD(restored, learningRate: 0.1, momentum: 0.9)
        try resumed.loadState(Dictionary(uniqueKeysWithValues: sgd.state))
        try sgd.step()
        try resumed.step()
        for ((_, x), (_, y)) in zip(sgd.parameters, restored) { XCTAssertEqual(x.scalars, y.scalars) }
        XCTAssertThrowsError(try resumed.loadState(["w.momentum": Tensor(zeros: [5])])) {
            XCTAssertTrue("\($0)".contains("SGD state w.momentum has [5], parameter has [3, 2]"), "\($0)")
        }
    }
}

final class OptimizerRebindTests: XCTestCase {
    /// Gathers rows (axis 0) and then columns (axis 1) of a row-major tensor by hand.
    private func expectedSlice(_ t: Tensor, rows: [Int], columns: [Int]? = nil) -> [Float] {
        let s = t.shape, inner = s.dropFirst().reduce(1, *), innermost = s.dropFirst(2).reduce(1, *)
        let cols = columns ?? Array(0..<(s.count > 1 ? s[1] : 1))
        var out: [Float] = []
        for r in rows {
            if s.count == 1 { out.append(t.scalars[r]); continue }
            for c in cols { out += t.scalars[(r * inner + c * innermost)..<(r * inner + (c + 1) * innermost)] }
        }
        return out
    }

    private func withGradient(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor.uniform(shape, low: -1, high: 1, seed: seed, requiresGrad: true)
        t.grad = Tensor.uniform(shape, low: -1, high: 1, seed: seed + 100)
        return t
    }

    func testPrunedRowsKeepTheirMomentumBitExactly() throws {
        let fc1 = Linear(3, 4), fc2 = Linear(4, 2)
        let named = { [("fc1.weight", fc1.weight), ("fc1.bias", fc1.bias!), ("fc2.weight", fc2.weight), ("fc2.bias", fc2.bias!)] }
        for (_, p) in named() { p.grad = Tensor.uniform(p.shape, low: -1, high: 1, seed: UInt64(p.count)) }
        let sgd = SGD(named(), learningRate: 0.1, momentum: 0.9)
        sgd.masks["fc2.weight"] = try Tensor([1, 0, 1, 1, 0, 1, 1, 1], shape: [2, 4])
        try sgd.step()
        try sgd.step()
        let before = Dictionary(uniqueKeysWithValues: sgd.state)

        // Structured pruning of fc1's output unit 1: fc1 loses row 1, fc2 loses column 1.
        let kept = [0, 2, 3]
        fc1.weight = try Tensor(expectedSlice(fc1.weight, rows: kept), shape: [3, 3], requiresGrad: true)
        fc1.bias = try Tensor(expectedSlice(fc1.bias!, rows: kept), shape: [3], requiresGrad: true)
        fc2.weight = try Tensor(expectedSlice(fc2.weight, rows: [0, 1], columns: kept), shape: [2, 3], requiresGrad: true)
        let report = try sgd.rebind(to: named(), kept: ["fc1.weight": KeptIndices(axis0: kept), "fc1.bias": KeptIndices(axis0: kept),
                                                        "fc2.weight": KeptIndices(axis1: kept)])
        XCTAssertEqual(report.sliced, ["fc1.weight", "fc1.bias", "fc2.weight"])
        XCTAssertEqual(report.carried, ["fc2.bias"])
        XCTAssertTrue(report.reset.isEmpty && report.dropped.isEmpty, "\(report)")

        let after = Dictionary(uniqueKeysWithValues: sgd.state)
        XCTAssertEqual(after["fc1.weight.momentum"]!.scalars.map(\.bitPattern), expectedSlice(before["fc1.weight.momentum"]!, rows: kept).map(\.bitPattern))
        XCTAssertEqual(after["fc1.bias.momentum"]!.scalars.map(\.bitPattern), expectedSlice(before["fc1.bias.momentum"]!, rows: kept).map(\.bitPattern))
        XCTAssertEqual(after["fc2.weight.momentum"]!.scalars.map(\.bitPattern),
                       expectedSlice(before["fc2.weight.momentum"]!, rows: [0, 1], columns: kept).map(\.bitPattern))
        XCTAssertTrue(after["fc2.bias.momentum"]! === before["fc2.bias.momentum"]!)
        XCTAssertEqual(sgd.masks["fc2.weight"]?.scalars, [1, 1, 1, 0, 1, 1])
        XCTAssertEqual(after["fc1.weight.momentum"]!.shape, [3, 3])

        // The optimiser now updates the new tensors.
        fc1.weight.grad = Tensor(zeros: [3, 3])
        let w = fc1.weight.scalars
        try sgd.step()
        XCTAssertNotEqual(fc1.weight.scalars, w, "momentum moves the new weight")
    }

    func testAdamMomentsSlicedAlongBothAxesOfAConvolution() throws {
        let conv = withGradient([4, 3, 2, 2], seed: 1)
        let adam = AdamW([("conv.weight", conv)], learningRate: 0.01)
        try adam.step()
        let before = Dictionary(uniqueKeysWithValues: adam.state)
        let pruned = withGradient([2, 2, 2, 2], seed: 2)
        try adam.rebind(to: [("conv.weight", pruned)], kept: ["conv.weight": KeptIndices(axis0: [1, 3], axis1: [0, 2])])
        let after = Dictionary(uniqueKeysWithValues: adam.state)
        for slot in ["exp_avg", "exp_avg_sq"] {
            XCTAssertEqual(after["conv.weight.\(slot)"]!.scalars, expectedSlice(before["conv.weight.\(slot)"]!, rows: [1, 3], columns: [0, 2]), slot)
        }
    }

    func testResetDroppedNewAndGroupsKept() throws {
        let w = withGradient([3, 2], seed: 1), b = withGradient([3], seed: 2), gone = withGradient([2], seed: 3)
        let sgd = try SGD(groups: ParameterGroup.decayAndNoDecay([("w", w), ("b", b), ("gone", gone)]), learningRate: 0.1, momentum: 0.9, weightDecay: 0.1)
        try sgd.step()
        let grown = withGradient([4, 2], seed: 4), extra = withGradient([5], seed: 5)
        let report = try sgd.rebind(to: [("w", grown), ("b", b), ("extra", extra)])
        XCTAssertEqual(report.carried, ["b"])
        XCTAssertEqual(report.dropped, ["gone"])
        XCTAssertEqual(report.reset["extra"], "new parameter")
        XCTAssertEqual(report.reset["w"], "shape changed from [3, 2] to [4, 2] and no kept indices were given")
        XCTAssertTrue("\(report)".contains("reset w: shape changed"), "\(report)")
        XCTAssertEqual(sgd.state.map(\.0), ["b.momentum"])
        XCTAssertEqual(sgd.groups.map { $0.parameters.map(\.0) }, [["w", "extra"], ["b"]], "names stay in their group, new ones join the first")
        XCTAssertEqual(sgd.groups[1].weightDecay, 0)
    }

    func testInconsistentKeptIndicesThrowAndChangeNothing() throws {
        let w = withGradient([4, 3], seed: 1)
        let sgd = SGD([("w", w)], learningRate: 0.1, momentum: 0.9)
        try sgd.step()
        let state = sgd.state.map { $0.1.scalars }
        let pruned = withGradient([2, 3], seed: 2)
        XCTAssertThrowsError(try sgd.rebind(to: [("w", pruned)], kept: ["w": KeptIndices(axis0: [0, 1, 2])])) {
            XCTAssertTrue("\($0)".contains("kept indices of 'w' (3 along axis 0) turn its old shape [4, 3] into [3, 3], but the new parameter has [2, 3]"), "\($0)")
        }
        XCTAssertThrowsError(try sgd.rebind(to: [("w", pruned)], kept: ["w": KeptIndices(axis0: [0, 7])])) {
            XCTAssertTrue("\($0)".contains("index[1] = 7 is outside [0, 4)"), "\($0)")
        }
        XCTAssertThrowsError(try sgd.rebind(to: [("w", pruned)], kept: ["v": KeptIndices(axis0: [0])])) {
            XCTAssertTrue("\($0)".contains("kept indices given for 'v', which is not among the new parameters"), "\($0)")
        }
        XCTAssertTrue(sgd.parameters[0].1 === w)
        XCTAssertEqual(sgd.state.map { $0.1.scalars }, state)
    }
}
