import XCTest
import TrainingLab

final class LayerTests: XCTestCase {
    func testLayerGradientsAgainstFiniteDifferences() throws {
        try ParameterInit.withSeed(1) {
            let x = Tensor.uniform([2, 3, 6, 5], low: -1, high: 1, seed: 2, requiresGrad: true)
            let conv = Conv2d(3, 4, kernelSize: 3, stride: 2, padding: 1)
            try assertGradientsMatch([x, conv.weight, conv.bias!]) { t in try conv2d(t[0], weight: t[1], bias: t[2], geometry: conv.geometry) }
            let grouped = Conv2d(4, 4, kernelSize: 3, padding: 2, dilation: 2, groups: 2, bias: false)
            let x4 = Tensor.uniform([2, 4, 5, 5], low: -1, high: 1, seed: 3, requiresGrad: true)
            try assertGradientsMatch([x4, grouped.weight]) { t in try conv2d(t[0], weight: t[1], bias: nil, geometry: grouped.geometry) }

            let lin = Linear(5, 3)
            let xl = Tensor.uniform([4, 5], low: -1, high: 1, seed: 4, requiresGrad: true)
            try assertGradientsMatch([xl, lin.weight, lin.bias!]) { t in try linear(t[0], weight: t[1], bias: t[2]) }
            let b = Tensor.uniform([3, 5], low: -1, high: 1, seed: 5, requiresGrad: true)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = Tensor.uniform(ta ? [5, 4] : [4, 5], low: -1, high: 1, seed: 6, requiresGrad: true)
                let bb = tb ? Tensor.uniform([3, 5], low: -1, high: 1, seed: 7, requiresGrad: true) : Tensor.uniform([5, 3], low: -1, high: 1, seed: 7, requiresGrad: true)
                try assertGradientsMatch([a, bb]) { t in try matmul(t[0], t[1], transposeA: ta, transposeB: tb) }
            }
            _ = b

            let bn = BatchNorm(3)
            try assertGradientsMatch([x, bn.gamma, bn.beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3) { t in
                try batchNormTraining(t[0], gamma: t[1], beta: t[2], runningMean: Tensor(zeros: [3]), runningVar: Tensor(shape: [3], repeating: 1), momentum: 0.1, eps: 1e-5)
            }
            let gn = GroupNorm(groups: 3, channels: 3)
            try assertGradientsMatch([x, gn.gamma, gn.beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3) { t in
                try groupNorm(t[0], groups: 3, gamma: t[1], beta: t[2], eps: 1e-5)
            }
            let ln = LayerNorm(5)
            try assertGradientsMatch([x, ln.gamma, ln.beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3) { t in
                try layerNorm(t[0], gamma: t[1], beta: t[2], eps: 1e-5)
            }
            try assertGradientsMatch([x]) { t in try avgPool2d(t[0], Pool2dGeometry(kernel: 2)) }
            try assertGradientsMatch([x]) { t in try globalAvgPool2d(t[0]) }
            try assertGradientsMatch([x]) { t in try maxPool2d(t[0], Pool2dGeometry(kernel: 2)) }
            try assertGradientsMatch([x]) { t in try gelu(t[0]) * sigmoid(t[0]) + TrainingLab.tanh(t[0]) }
            try assertGradientsMatch([xl]) { t in try logSoftmax(t[0]) + softmax(t[0], axis: 0) }
        }
    }

    func testLossGradients() throws {
        let logits = Tensor.uniform([4, 5], low: -2, high: 2, seed: 8, requiresGrad: true)
        let other = Tensor.uniform([4, 5], low: -2, high: 2, seed: 9, requiresGrad: true)
        let labels: [Int32] = [0, 4, 2, 2]
        try assertGradientsMatch([logits]) { t in try crossEntropy(t[0], labels: labels, labelSmoothing: 0.1, temperature: 2) }
        let q = try softmax(Tensor.uniform([4, 5], seed: 10))
        try assertGradientsMatch([logits]) { t in try softCrossEntropy(t[0], targets: q, temperature: 0.5) }
        try assertGradientsMatch([logits, other]) { t in try klDivergence(t[0], t[1]) }
        try assertGradientsMatch([logits, other]) { t in try meanSquaredError(t[0], t[1]) }
        try assertGradientsMatch([logits], eps: 1e-3) { t in try marginLoss(t[0], labels: labels) }
        try assertGradientsMatch([logits]) { t in try weightedMean(crossEntropy(t[0], labels: labels), weights: [1, 2, 0, 0.5]) }
        XCTAssertEqual(try weightedMean(Tensor([1, 2], shape: [2]), weights: [2, 0]).item(), 1)
    }

    func testWholeModelGradient() throws {
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 8, width: 8, classes: 3, seed: 4)
        let x = Tensor.uniform([3, 1, 8, 8], low: 0, high: 1, seed: 11)
        let labels: [Int32] = [0, 1, 2]
        let params = model.parameters()
        // Few parameters to keep finite differences quick: the last layer and the first conv's bias.
        let probe = [params.first { $0.shape == [32] }!, params.last!]
        for p in params where !probe.contains(where: { $0 === p }) { p.requiresGrad = false }
        try assertGradientsMatch(probe, eps: 1e-2, rtol: 5e-2, atol: 5e-3) { _ in try crossEntropy(model(x), labels: labels) }
    }

    func testModelZooShapesParametersAndFlops() throws {
        let expectations: [(String, Int, Int, Int)] = [
            // name, channels, size, parameters
            ("smallcnn", 1, 28, 421_834),
            ("resnet20", 3, 32, 269_722),
            ("resnet8", 3, 32, 75_290),
            ("convnet", 3, 32, 320_010),
            ("lenet5", 1, 28, 61_706),
            ("mlp", 1, 28, 269_322),
        ]
        for (name, c, size, count) in expectations {
            let model = try ModelZoo.make(name, channels: c, height: size, width: size, classes: 10, seed: 0)
            XCTAssertEqual(model.parameters().reduce(0) { $0 + $1.count }, count, name)
            model.eval()
            let x = Tensor.uniform([2, c, size, size], seed: 1)
            var y: Tensor?
            let flops = try FlopCounter.count { y = try withoutGradients { try model(x) } }
            XCTAssertEqual(y?.shape, [2, 10], name)
            XCTAssertGreaterThan(flops, 0)
        }
        let resnet = try ModelZoo.make("resnet20", channels: 3, height: 32, width: 32, classes: 10, seed: 0)
        resnet.eval()
        let flops = try FlopCounter.count { _ = try withoutGradients { try resnet(Tensor(zeros: [1, 3, 32, 32])) } }
        XCTAssertEqual(Double(flops) / 2e6, 40.8, accuracy: 0.5, "resnet20 is about 41 M multiply-adds per image")
        XCTAssertThrowsError(try ModelZoo.make("vgg", channels: 1, height: 28, width: 28, classes: 10, seed: 0)) {
            XCTAssertTrue("\($0)".contains("available: mlp, lenet5, smallcnn"))
        }
    }

    func testParameterNamesAndSeededInit() throws {
        let a = try ModelZoo.make("resnet8", channels: 3, height: 32, width: 32, classes: 10, seed: 7)
        let b = try ModelZoo.make("resnet8", channels: 3, height: 32, width: 32, classes: 10, seed: 7)
        let c = try ModelZoo.make("resnet8", channels: 3, height: 32, width: 32, classes: 10, seed: 8)
        let names = a.namedState().map(\.0)
        XCTAssertEqual(names.first, "layers.0.weight")
        XCTAssertTrue(names.contains("layers.3.conv1.weight"))
        XCTAssertTrue(names.contains("layers.1.runningVar"))
        XCTAssertEqual(Set(names).count, names.count, "names are unique")
        XCTAssertFalse(a.namedParameters().map(\.0).contains("layers.1.runningMean"))
        for ((_, ta), (_, tb)) in zip(a.namedState(), b.namedState()) { XCTAssertEqual(ta.scalars, tb.scalars) }
        XCTAssertNotEqual(a.parameters()[0].scalars, c.parameters()[0].scalars)
    }

    func testTrainEvalModeAndShapeErrors() throws {
        let model = try ModelZoo.make("smallcnn", channels: 1, height: 28, width: 28, classes: 10, seed: 0)
        model.eval()
        XCTAssertFalse(model.children.allSatisfy { $0.1.isTraining })
        XCTAssertThrowsError(try model(Tensor(zeros: [2, 3, 28, 28]))) { XCTAssertTrue("\($0)".contains("conv2d")) }
        model.train()
        XCTAssertTrue(model.isTraining)
    }

    func testLIFLayerSpikesAndCarriesState() throws {
        let lif = LIF(decay: 0.5, threshold: 1)
        let x = try Tensor([0.6, 0.6, 0.6, 0.6], shape: [4, 1])
        // v: 0.6, 0.9, 1.05 -> spike, reset to 0, 0.6
        XCTAssertEqual(try lif(x).scalars, [0, 0, 1, 0])
        let stateful = LIF(decay: 0.5, threshold: 1, carriesState: true)
        let first = try stateful(try Tensor([0.6, 0.6], shape: [2, 1]))
        let second = try stateful(try Tensor([0.6, 0.6], shape: [2, 1]))
        XCTAssertEqual(first.scalars + second.scalars, [0, 0, 1, 0])
        stateful.resetState()
        XCTAssertEqual(try stateful(try Tensor([0.6, 0.6], shape: [2, 1])).scalars, [0, 0])
    }
}
