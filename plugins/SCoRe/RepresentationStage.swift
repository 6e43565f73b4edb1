import Foundation
import TrainingLab

/// Stage 1: the encoder (and head or classifier) trained with the run's optimiser and learning-rate
/// schedule over the run's epochs and batch size. Set losses see two random-resized-crop views of every
/// image, stacked as [view 0 of the batch; view 1 of the batch] with the labels repeated, as the official
/// code concatenates them; cross-entropy sees one view. A step whose loss is not finite is counted and
/// not applied, so the report can say whether every loss stayed finite.
struct RepresentationStage {
    let objective: Objective
    let options: OptionValues
    let networks: SCoReNetworks

    struct Outcome {
        var nonfiniteSteps: Int
        var samplePasses: Int
        var report: [(String, JSONValue)]
    }

    func run(_ context: MethodContext, log: MetricsLog) throws -> Outcome {
        let config = context.config, train = context.data.train
        let schedule = try LearningRateSchedule(parsing: config.schedule)
        let scaleMin = Float(try options.double("crop_scale_min"))
        let view = Augmentation.randomResizedCrop(scale: scaleMin...1, flip: config.flip)
        let viewCount: Int
        if case .crossEntropy = objective { viewCount = 1 } else { viewCount = 2 }
        let loader = DataLoader(dataset: train, batchSize: config.batchSize, views: Array(repeating: view, count: viewCount),
                                seed: context.seed("data"))
        let settings = SetLossSettings(temperature: try options.double("temperature"), baseTemperature: try options.double("base_temperature"),
                                       lambda: try options.double("lambda"), ridge: try options.double("logdet_delta"))
        let model = networks.trained
        let optimizer = context.makeOptimizer(for: model)
        model.train()

        let sampleShape = view.outputShape(for: train), sampleSize = sampleShape.reduce(1, *)
        var nonfinite = 0, samplePasses = 0
        var epochLosses: [Double] = []
        let started = Stopwatch()
        for epoch in 0..<config.epochs {
            let epochStarted = Stopwatch()
            let order = loader.sampler.indices(epoch: epoch, count: train.count)
            let batches = loader.batchCount(samples: order.count)
            var lossSum = 0.0, counted = 0, epochNonfinite = 0
            for b in 0..<batches {
                let indices = Array(order[(b * config.batchSize)..<min((b + 1) * config.batchSize, order.count)])
                let m = indices.count
                let inputs = Tensor(uninitializedShape: [viewCount * m] + sampleShape)
                for v in 0..<viewCount { try loader.fill(view: v, indices: indices, epoch: epoch, into: inputs.pointer + v * m * sampleSize) }
                let batchLabels = indices.map { train.labels[$0] }
                let labels = Array(Array(repeating: batchLabels, count: viewCount).joined())

                let features = try networks.encoder(inputs)
                let loss: Tensor
                switch objective {
                case .crossEntropy:
                    loss = try crossEntropy(networks.classifier!(features), labels: labels).mean()
                case .set(let kind):
                    loss = try setLoss(kind, embeddings: networks.embeddings(ofFeatures: features), labels: labels, settings: settings)
                }
                let value = Double(try loss.item())
                optimizer.zeroGrad()
                samplePasses += viewCount * m
                let progress = (Double(epoch) + Double(b) / Double(batches)) / Double(config.epochs)
                if b % 10 == 0 || b == batches - 1 {
                    context.progress?.report(.object([("event", "batch"), ("label", .string("\(context.label) stage 1")),
                                                      ("epoch", .number(Double(epoch))), ("batch", .number(Double(b + 1))),
                                                      ("batches", .number(Double(batches))), ("loss", .number(value))]))
                }
                guard value.isFinite else {
                    epochNonfinite += 1
                    continue
                }
                try loss.backward()
                optimizer.learningRate = config.lr * schedule.multiplier(at: progress)
                try optimizer.step()
                lossSum += value
                counted += 1
            }
            nonfinite += epochNonfinite
            let epochLoss = counted > 0 ? lossSum / Double(counted) : .nan
            epochLosses.append(epochLoss)
            try log.append(stage: "representation", [
                ("epoch", .number(Double(epoch))), ("epochs", .number(Double(config.epochs))),
                ("lr", .number(config.lr * schedule.multiplier(at: Double(epoch) / Double(config.epochs)))),
                ("train_loss", .number(epochLoss)), ("nonfinite_steps", .number(Double(epochNonfinite))),
                ("samples", .number(Double(order.count))),
                ("seconds", .number(epochStarted.seconds)),
            ])
        }
        let report: [(String, JSONValue)] = [
            ("objective", .string(objective.name)),
            ("views", .number(Double(viewCount))),
            ("final_loss", .number(epochLosses.last ?? .nan)),
            ("loss_by_epoch", .array(epochLosses.map(JSONValue.number))),
            ("nonfinite_steps", .number(Double(nonfinite))),
            ("all_finite", .bool(nonfinite == 0)),
            ("seconds", .number(started.seconds)),
        ]
        return Outcome(nonfiniteSteps: nonfinite, samplePasses: samplePasses, report: report)
    }
}

/// What the report says about the test set beyond the host's accuracy: accuracy on the rarest training
/// classes, and how close the class means come in the embedding space and in the encoder's features.
struct TestAnalysis {
    let rareClasses: [Int]
    let rareAccuracy: Double
    /// Class-mean cosines of the unit embeddings the loss acts on (z; the features for cross-entropy).
    let embeddingCosine: ClassMeanCosine
    /// Class-mean cosines of the encoder features the probe reads.
    let featureCosine: ClassMeanCosine

    init(networks: SCoReNetworks, classifier: Linear, test: Dataset, trainCounts: [Int], rareCount: Int) throws {
        let features = try Evaluation.outputs(of: networks.encoder, on: test)
        let (embeddings, logits) = try withoutGradients {
            (try networks.embeddings(ofFeatures: features), try classifier(features))
        }
        let classes = test.classCount
        let metrics = try ClassificationMetrics(logits: logits.scalars, labels: test.labels, classes: classes)
        // Rarest first; among equal counts the later class (the long-tail profile puts the tail last).
        rareClasses = Array((0..<classes).sorted { (trainCounts[$0], -$0) < (trainCounts[$1], -$1) }.prefix(rareCount)).sorted()
        let rare = rareClasses.compactMap { metrics.perClassAccuracy[$0] }
        rareAccuracy = rare.isEmpty ? .nan : rare.reduce(0, +) / Double(rare.count)
        embeddingCosine = try ClassMeanCosine(embeddings: embeddings.scalars, dimension: embeddings.shape[1], labels: test.labels, classes: classes)
        featureCosine = try ClassMeanCosine(embeddings: features.scalars, dimension: features.shape[1], labels: test.labels, classes: classes)
    }
}
