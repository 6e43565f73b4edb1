import XCTest
import TrainingLab

/// Float sample stores, metadata columns and registered derivations and augmentations, through the loader.
final class DataStoreTests: XCTestCase {
    /// Five samples of shape (2, 3) holding 10 * i + k, with one label and one subgroup each.
    private func floatSet(shape: [Int] = [2, 3]) throws -> Dataset {
        let size = shape.reduce(1, *)
        return try Dataset(name: "floats", sampleShape: shape, values: (0..<(5 * size)).map { Float(10 * ($0 / size) + $0 % size) },
                           labels: [0, 1, 0, 1, 1], classCount: 2, metadata: [MetadataColumn.subgroup: [7, 8, 9, 7, 8]])
    }

    func testFloatSamplesComeOutAsStoredWithTheirShape() throws {
        let data = try floatSet(shape: [2, 2, 3, 1])
        let batches = try DataLoader(dataset: data, batchSize: 2, sampler: SubsetSampler([4, 1, 2])).epoch(0).collect()
        XCTAssertEqual(batches.map(\.inputs.shape), [[2, 2, 2, 3, 1], [1, 2, 2, 3, 1]])
        XCTAssertEqual(batches[0].images, data.sample(4) + data.sample(1), "no scaling, no normalisation without statistics")
        XCTAssertEqual(batches[1].images, (0..<12).map { Float(20 + $0) })
        XCTAssertEqual(batches.flatMap(\.labels), [1, 1, 0])
    }

    func testFloatNormalisationAndImageAugmentation() throws {
        let data = try floatSet()
        let custom = Augmentation(normalization: .custom(mean: [1, 2], std: [2, 4]))
        let batch = try DataLoader(dataset: data, batchSize: 1, sampler: SequentialSampler(), augmentation: custom).epoch(0).collect()[0]
        XCTAssertEqual(batch.images, [-0.5, 0, 0.5, 0.25, 0.5, 0.75], "(value - mean[c]) / std[c], channels the first axis")
        // (C, H, W) float images take crop and flip: a flip with probability 1 mirrors every row exactly.
        let images = try floatSet(shape: [1, 2, 3])
        let mirrored = try DataLoader(dataset: images, batchSize: 5, sampler: SequentialSampler(),
                                      augmentation: Augmentation(flipProbability: 1)).epoch(0).collect()[0]
        XCTAssertEqual(Array(mirrored.images.prefix(6)), [2, 1, 0, 5, 4, 3])
        assertDataError(.invalidArgument, mentioning: ["dataset floats", "random crop", "(C, H, W)", "[2, 3]"]) {
            try DataLoader(dataset: data, batchSize: 2, augmentation: .randomCrop(padding: 1)).epoch(0)
        }
        assertDataError(.invalidArgument, mentioning: ["dataset floats", "resized crop", "uint8"]) {
            try DataLoader(dataset: images, batchSize: 2, augmentation: .randomResizedCrop()).epoch(0)
        }
    }

    func testFloatStoreReplacesValuesAndRejectsBadShapes() throws {
        var data = try floatSet()
        try data.replaceValues([Float](repeating: 1, count: 30))
        XCTAssertEqual(data.sample(3), [1, 1, 1, 1, 1, 1])
        assertDataError(.shapeMismatch, mentioning: ["replaceValues", "5 x 6"]) { try data.replaceValues([1]) }
        assertDataError(.shapeMismatch, mentioning: ["dataset bad", "7 float values"]) {
            try Dataset(name: "bad", sampleShape: [3], values: [Float](repeating: 0, count: 7), labels: [0, 0], classCount: 1)
        }
        var images = syntheticDataset(perClass: [2])
        assertDataError(.invalidArgument, mentioning: ["needs a float store"]) { try images.replaceValues([]) }
    }

    func testMetadataSurvivesDerivationsAndReachesBatches() throws {
        var images = syntheticDataset(perClass: [30, 20, 10])
        try images.setMetadata(MetadataColumn.subgroup, to: images.sourceIndices.map { $0 % 4 })
        func check(_ d: Dataset) throws {
            XCTAssertEqual(try d.metadataColumn(MetadataColumn.subgroup), d.sourceIndices.map { $0 % 4 }, d.name)
        }
        try check(try images.subset([5, 3, 3]))
        try check(try images.longTailed(ratio: 3, seed: 1))
        try check(try images.balancedSubset(12, seed: 2))
        try check(try images.splittingValidation(6, seed: 2).validation)
        try check(try images.keepingClasses([2, 0]))
        try check(try images.clientDatasets([[1, 4], [0]])[0])
        let batch = try DataLoader(dataset: images, batchSize: 4, seed: 3).epoch(0).collect()[0]
        XCTAssertEqual(batch.metadata[MetadataColumn.subgroup], batch.indices.map { images.sourceIndices[$0] % 4 })
        assertDataError(.invalidArgument, mentioning: ["no metadata column 'client'", "subgroup"]) { try images.metadataColumn("client") }
        assertDataError(.shapeMismatch, mentioning: ["'subgroup' needs 60 values"]) { try images.setMetadata("subgroup", to: [1]) }
    }

    /// Marks every training sample's subgroup as its label parity, adds an OOD set of the test set's first
    /// `ood` samples, and (with `synthetic=true`) replaces the training set by a float store.
    private static let marking = DatasetDerivation(
        name: "mark", summary: "test derivation",
        options: [.int("mark", 2, in: 1...10, help: "subgroups"), .bool("synthetic", false, help: "float training set")]
    ) { data, options in
        var data = data
        let groups = try options.int("mark")
        try data.train.setMetadata(MetadataColumn.subgroup, to: data.train.labels.map { Int($0) % groups })
        data.evaluationSets[EvaluationSet.outOfDistribution] = try data.test.subset([0, 1, 2])
        if try options.bool("synthetic") {
            data.train = try Dataset(name: "synthetic", sampleShape: data.train.sampleShape,
                                     values: [Float](repeating: 0.5, count: 10 * data.train.sampleSize),
                                     labels: (0..<10).map { Int32($0) }, classCount: data.train.classCount)
        }
        return data
    }

    func testRegisteredDerivationInASpec() throws {
        let registry = try PluginRegistry(environment: [:])
        try registry.register(PluginRegistration(datasetDerivations: [DataStoreTests.marking]), from: "test")
        let derivations = registry.datasetDerivations.items
        let files = LearnableIDXDataset(train: 60, test: 20, side: 4)
        let spec = try DatasetSpec(parsing: files.spec + ",subset=30,mark=3", derivations: derivations)
        XCTAssertEqual(spec.description, files.spec + ",subset=30,mark=3")
        XCTAssertEqual(try DatasetSpec(parsing: spec.description, derivations: derivations), spec)
        let data = try spec.load()
        XCTAssertEqual(data.train.count, 30)
        XCTAssertEqual(data.train.metadata[MetadataColumn.subgroup], data.train.labels.map { Int($0) % 3 })
        XCTAssertEqual(data.evaluationSets[EvaluationSet.outOfDistribution]?.count, 3)
        let synthetic = try DatasetSpec(parsing: files.spec + ",mark=2,synthetic=true,clients=2", derivations: derivations).load()
        XCTAssertFalse(synthetic.train.storesBytes)
        XCTAssertEqual(synthetic.clients?.flatMap { $0 }.sorted(), Array(0..<10), "the client split sees the replaced set")
        XCTAssertNotNil(synthetic.train.metadata[MetadataColumn.client])

        assertDataError(.badSpec, mentioning: ["unknown key 'colour'", "val, subset, imbalance, profile, clients, alpha, client-size, labels, data-seed, mark, synthetic"]) {
            try DatasetSpec(parsing: "fashion-mnist,colour=1", derivations: derivations)
        }
        assertDataError(.badSpec, mentioning: ["unknown key 'mark'"]) { try DatasetSpec(parsing: "fashion-mnist,mark=1") }
        assertDataError(.badSpec, mentioning: ["mark=11", "an integer in 1...10"]) {
            try DatasetSpec(parsing: "fashion-mnist,mark=11", derivations: derivations)
        }
        assertDataError(.badSpec, mentioning: ["synthetic need mark=VALUE"]) {
            try DatasetSpec(parsing: "fashion-mnist,synthetic=true", derivations: derivations)
        }
        XCTAssertThrowsError(try registry.register(PluginRegistration(datasetDerivations: [DataStoreTests.marking]), from: "again")) {
            XCTAssertTrue("\($0)".contains("test") && "\($0)".contains("again"), "\($0)")
        }
    }

    func testRegisteredAugmentationRunsOnTheBatchSeededPerSample() throws {
        let shift = BatchTransform(name: "noise", summary: "adds a per-sample uniform draw") { batch, seeds in
            let size = batch.count / batch.shape[0]
            for b in 0..<batch.shape[0] {
                var generator = seeds[b]
                let offset = Float(generator.uniform())
                for k in 0..<size { batch.pointer[b * size + k] += offset }
            }
        }
        let registry = try PluginRegistry(environment: [:])
        try registry.register(PluginRegistration(augmentations: [shift]), from: "test")
        let augmentation = Augmentation(transforms: [try registry.augmentations.item(named: "noise")])
        let data = try floatSet()
        func offsets(batchSize: Int, epoch: Int) throws -> [Int: Float] {
            var out: [Int: Float] = [:]
            for batch in try DataLoader(dataset: data, batchSize: batchSize, augmentation: augmentation, seed: 4).epoch(epoch).collect() {
                for (k, i) in batch.indices.enumerated() { out[i] = batch.images[k * 6] - data.sample(i)[0] }
            }
            return out
        }
        let small = try offsets(batchSize: 2, epoch: 0)
        XCTAssertEqual(small, try offsets(batchSize: 5, epoch: 0), "a sample's draw does not depend on its batch")
        XCTAssertNotEqual(small, try offsets(batchSize: 5, epoch: 1), "each epoch draws again")
        XCTAssertEqual(Set(small.values).count, 5)
    }
}
