import Foundation

/// The datasets a SPEC names: training set (after its derivations), optional validation split, test set,
/// extra evaluation sets that derivations add, and for federated specs the partition of the training set
/// across clients (positions in `train`).
public struct LoadedDataset {
    public var spec: DatasetSpec
    public var train: Dataset
    public var validation: Dataset?
    public var test: Dataset
    public var clients: [[Int]]?
    /// Further sets the final model is evaluated on, by name (`EvaluationSet.outOfDistribution` = "ood": an
    /// out-of-distribution set scored against the test set by AUROC).
    public var evaluationSets: [String: Dataset]

    public init(spec: DatasetSpec, train: Dataset, validation: Dataset? = nil, test: Dataset, clients: [[Int]]? = nil,
                evaluationSets: [String: Dataset] = [:]) {
        self.spec = spec
        self.train = train
        self.validation = validation
        self.test = test
        self.clients = clients
        self.evaluationSets = evaluationSets
    }

    public var classCount: Int { train.classCount }
    public var sampleShape: [Int] { train.sampleShape }
}

extension DatasetSpec {
    public static let fashionMNISTClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Reads the files and applies the derivations. The normalisation statistics of the full training set
    /// are used for every returned split.
    public func load() throws -> LoadedDataset {
        var (train, test) = try loadSource()
        test.mean = train.mean
        test.std = train.std
        var validation: Dataset? = nil
        if let n = self.validation {
            guard n < train.count else {
                throw DataError(.badSpec, "val=\(n) leaves no training data: the training set has \(train.count) images")
            }
            (train, validation) = try train.splittingValidation(n, seed: dataSeed)
        }
        if let n = subset {
            guard n <= train.count else {
                throw DataError(.badSpec, "subset=\(n) is larger than the training set (\(train.count) images)")
            }
            train = try train.balancedSubset(n, seed: dataSeed)
        }
        if let ratio = imbalance { train = try train.longTailed(ratio: ratio, profile: profile, seed: dataSeed) }
        var data = LoadedDataset(spec: self, train: train, validation: validation, test: test)
        for derived in derivations { data = try derived.derivation.apply(data, derived.options) }
        train = data.train
        var parts: [[Int]]? = nil
        if let k = clients {
            if let n = clientSize {
                parts = try FederatedSplit.dirichletClientSampling(labels: train.labels, classCount: train.classCount, clients: k,
                                                                   samplesPerClient: n, alpha: alpha, seed: dataSeed)
            } else {
                guard k <= train.count else {
                    throw DataError(.badSpec, "clients=\(k) is more than the \(train.count) training images")
                }
                let partition = try FederatedSplit.dirichletLabelSkew(labels: train.labels, classCount: train.classCount,
                                                                      clients: k, alpha: alpha, seed: dataSeed)
                // A partition gives every sample one client, so it is also a metadata column.
                var client = [Int](repeating: 0, count: train.count)
                for (j, part) in partition.enumerated() { for i in part { client[i] = j } }
                try train.setMetadata(MetadataColumn.client, to: client)
                parts = partition
            }
        }
        train.name = description
        data.train = train
        data.clients = parts
        return data
    }

    private func loadSource() throws -> (Dataset, Dataset) {
        switch source {
        case .fashionMNIST(let dir):
            return (try DatasetSpec.loadIDX(dir, "train", name: "fashion-mnist-train", names: DatasetSpec.fashionMNISTClassNames),
                    try DatasetSpec.loadIDX(dir, "t10k", name: "fashion-mnist-test", names: DatasetSpec.fashionMNISTClassNames))
        case .mnist(let dir):
            let digits = (0..<10).map(String.init)
            return (try DatasetSpec.loadIDX(dir, "train", name: "mnist-train", names: digits),
                    try DatasetSpec.loadIDX(dir, "t10k", name: "mnist-test", names: digits))
        case .cifar10(let dir):
            return (try CIFARReader.loadCIFAR10(directory: dir, train: true), try CIFARReader.loadCIFAR10(directory: dir, train: false))
        case .cifar100(let dir):
            return (try CIFARReader.loadCIFAR100(directory: dir, train: true, coarse: coarseLabels),
                    try CIFARReader.loadCIFAR100(directory: dir, train: false, coarse: coarseLabels))
        }
    }

    /// `<split>-images-idx3-ubyte` and `<split>-labels-idx1-ubyte`, gzipped or plain, also in the
    /// `<split>-images.idx3-ubyte` spelling that unpacked MNIST archives use.
    static func loadIDX(_ directory: String, _ split: String, name: String, names: [String]) throws -> Dataset {
        func find(_ kind: String, _ idx: String) throws -> String {
            let stems = ["\(split)-\(kind)-\(idx)-ubyte", "\(split)-\(kind).\(idx)-ubyte"]
            let candidates = stems.flatMap { [$0 + ".gz", $0] }.map { CIFARReader.join(directory, $0) }
            if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
            throw DataError(.missingFile, path: candidates[0], "missing file (also looked for \(candidates.dropFirst().map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")))")
        }
        return try IDXReader.load(images: try find("images", "idx3"), labels: try find("labels", "idx1"), classCount: 10,
                                  name: name, classNames: names)
    }
}

/// Names of the extra evaluation sets that core and methods share.
public enum EvaluationSet {
    /// Out-of-distribution samples: the evaluator scores them against the test set (AUROC of max softmax probability).
    public static let outOfDistribution = "ood"
}
