import Foundation
import TrainingLab

/// Stage 1: the encoder (and head or classifier) trained on the run's training loop with the run's
/// optimiser and learning-rate schedule over the run's epochs and batch size. Set losses see two
/// random-resized-crop views of every image, stacked as [view 0 of the batch; view 1 of the batch] with the
/// labels repeated, as the official code concatenates them; cross-entropy sees one view. A step whose loss
/// is not finite is counted and not applied (`NonFiniteLossPolicy.skipStep`), so the report can say whether
/// every loss stayed finite. The loop records as stage "representation": metrics.jsonl lines, checkpoint,
/// `--stop-after` and `--resume` come with it.
struct RepresentationStage {
    let objective: Objective
    let options: OptionValues
    let networks: SCoReNetworks

    struct Outcome {
        var nonfiniteSteps: Int
        var report: [(String, JSONValue)]
    }

    func run(_ context: MethodContext) throws -> Outcome {
        let config = context.config
        let view = Augmentation.randomResizedCrop(scale: Float(try options.double("crop_scale_min"))...1, flip: config.flip)
        let viewCount: Int
        if case .crossEntropy = objective { viewCount = 1 } else { viewCount = 2 }
        let loader = DataLoader(dataset: context.data.train, batchSize: config.batchSize, views: Array(repeating: view, count: viewCount),
                                seed: context.seed("data"))
        let settings = SetLossSettings(temperature: try options.double("temperature"), baseTemperature: try options.double("base_temperature"),
                                       lambda: try options.double("lambda"), ridge: try options.double("logdet_delta"))
        let (networks, objective) = (self.networks, self.objective)
        let step = ClosureObjective { step, _ in
            let inputs = viewCount == 1 ? step.inputs : try concatenated(step.views)
            let labels = Array(Array(repeating: step.labels, count: viewCount).joined())
            let features = try networks.encoder(inputs)
            switch objective {
            case .crossEntropy:
                step.batchLoss = try crossEntropy(networks.classifier!(features), labels: labels).mean()
            case .set(let kind):
                step.batchLoss = try setLoss(kind, embeddings: networks.embeddings(ofFeatures: features), labels: labels, settings: settings)
            }
        }
        let started = Stopwatch()
        let trainer = context.makeTrainer(model: networks.trained, test: .some(nil), stage: "representation", objective: step, loader: loader)
        trainer.nonFiniteLoss = .skipStep
        try trainer.fit()
        let epochLosses = trainer.history.map { $0["train_loss"]?.doubleValue ?? .nan }
        let nonfinite = trainer.loop.nonfiniteSteps
        let report: [(String, JSONValue)] = [
            ("objective", .string(objective.name)),
            ("views", .number(Double(viewCount))),
            ("final_loss", .number(epochLosses.last ?? .nan)),
            ("loss_by_epoch", .array(epochLosses.map(JSONValue.number))),
            ("nonfinite_steps", .number(Double(nonfinite))),
            ("all_finite", .bool(nonfinite == 0)),
            ("seconds", .number(started.seconds)),
        ]
        return Outcome(nonfiniteSteps: nonfinite, report: report)
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
        rareClasses = rarestClasses(trainCounts: trainCounts, count: rareCount)
        let rare = rareClasses.compactMap { metrics.perClassAccuracy[$0] }
        rareAccuracy = rare.isEmpty ? .nan : rare.reduce(0, +) / Double(rare.count)
        embeddingCosine = try ClassMeanCosine(embeddings: embeddings.scalars, dimension: embeddings.shape[1], labels: test.labels, classes: classes)
        featureCosine = try ClassMeanCosine(embeddings: features.scalars, dimension: features.shape[1], labels: test.labels, classes: classes)
    }
}
