import Foundation

/// A parsed dataset SPEC of the command line (README, "Design notes": command line): a source, then comma-separated derived options.
///
///     fashion-mnist                       the default: /usr/share/datasets/fashion-mnist (gzipped IDX)
///     fashion-mnist=DIR | mnist=DIR       IDX files in DIR (train/t10k-{images-idx3,labels-idx1}-ubyte[.gz])
///     cifar10=DIR | cifar100=DIR          the binary versions (data_batch_1..5.bin, test_batch.bin / train.bin, test.bin)
///     ...,val=N                           hold out a class-balanced validation split of N training images
///     ...,subset=N                        keep a class-balanced subset of N training images
///     ...,imbalance=R[,profile=step]      long-tailed training set, n_k = floor(n_max (1/R)^(k/(C-1)))
///     ...,clients=K[,alpha=A]             Dirichlet(A) label skew across K clients (default A = 0.5)
///     ...,clients=K,client-size=n         FedSWA's per-client Dirichlet sampling, n samples per client
///     ...,labels=coarse                   CIFAR-100's 20 coarse labels instead of the 100 fine ones
///     ...,data-seed=S                     seed of every derived split (default 0, independent of the run seed)
///     ...,KEY=VALUE                       a derivation a plugin registered (`DatasetDerivation`)
///
/// Derivations apply in a fixed order: validation split, subset, imbalance, the registered derivations in SPEC
/// order, client split; the core never changes the test set. Example: `fashion-mnist,imbalance=10` (the
/// long-tailed Fashion-MNIST-LT of 24.5k images).
public struct DatasetSpec: Equatable, CustomStringConvertible, Sendable {
    public enum Source: Equatable, Sendable {
        case fashionMNIST(directory: String)
        case mnist(directory: String)
        case cifar10(directory: String)
        case cifar100(directory: String)
    }

    public static let defaultFashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"
    public static let sources = ["fashion-mnist", "mnist=DIR", "cifar10=DIR", "cifar100=DIR"]
    /// The keys of the core's derivations, in the order they apply and print.
    public static let coreKeys = ["val", "subset", "imbalance", "profile", "clients", "alpha", "client-size", "labels", "data-seed"]

    public var source: Source
    public var validation: Int? = nil
    public var subset: Int? = nil
    public var imbalance: Double? = nil
    public var profile: ImbalanceProfile = .exponential
    public var clients: Int? = nil
    public var alpha: Double = 0.5
    public var clientSize: Int? = nil
    public var coarseLabels = false
    public var dataSeed: UInt64 = 0
    /// The registered derivations the SPEC names, in SPEC order.
    public var derivations: [Derivation] = []

    public init(source: Source = .fashionMNIST(directory: DatasetSpec.defaultFashionMNISTDirectory)) {
        self.source = source
    }

    /// Parses a SPEC string; `derivations` are the registered ones it may name (`PluginRegistry.datasetDerivations`).
    /// Errors name the offending part and list what is valid.
    public init(parsing text: String, derivations registered: [DatasetDerivation] = []) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard let head = parts.first, !head.isEmpty else {
            throw DataError(.badSpec, "empty dataset spec, expected one of \(DatasetSpec.sources.joined(separator: ", "))")
        }
        let (name, directory) = DatasetSpec.keyValue(head)
        func needDirectory() throws -> String {
            guard let directory, !directory.isEmpty else {
                throw DataError(.badSpec, "dataset '\(name)' needs a directory: \(name)=DIR")
            }
            return directory
        }
        switch name {
        case "fashion-mnist": source = .fashionMNIST(directory: directory ?? DatasetSpec.defaultFashionMNISTDirectory)
        case "mnist": source = .mnist(directory: try needDirectory())
        case "cifar10": source = .cifar10(directory: try needDirectory())
        case "cifar100": source = .cifar100(directory: try needDirectory())
        default:
            throw DataError(.badSpec, "unknown dataset '\(name)' in spec '\(text)', expected one of \(DatasetSpec.sources.joined(separator: ", "))")
        }
        var seen = Set<String>()
        var registeredValues: [(DatasetDerivation, [String: OptionValue])] = []
        for part in parts.dropFirst() {
            let (key, value) = DatasetSpec.keyValue(part)
            let owner = registered.first { $0.keys.contains(key) }
            guard DatasetSpec.coreKeys.contains(key) || owner != nil else {
                throw DataError(.badSpec, "unknown key '\(key)' in dataset spec '\(text)', valid keys: \(DatasetSpec.validKeys(derivations: registered).joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw DataError(.badSpec, "key '\(key)' given twice in dataset spec '\(text)'") }
            guard let value, !value.isEmpty else { throw DataError(.badSpec, "key '\(key)' needs a value: \(key)=VALUE") }
            if let owner, !DatasetSpec.coreKeys.contains(key) {
                let option = owner.options.first { $0.name == key }!
                let parsed: OptionValue
                do { parsed = try option.parse(value, owner: "dataset derivation '\(owner.name)'") } catch {
                    throw DataError(.badSpec, "\(key)=\(value) in dataset spec '\(text)': expected \(option.expectation) (\(option.help))")
                }
                if let k = registeredValues.firstIndex(where: { $0.0.name == owner.name }) {
                    registeredValues[k].1[key] = parsed
                } else {
                    registeredValues.append((owner, [key: parsed]))
                }
                continue
            }
            func integer(_ minimum: Int) throws -> Int {
                guard let n = Int(value), n >= minimum else {
                    throw DataError(.badSpec, "\(key)=\(value): expected an integer >= \(minimum)")
                }
                return n
            }
            switch key {
            case "val": validation = try integer(1)
            case "subset": subset = try integer(1)
            case "clients": clients = try integer(1)
            case "client-size": clientSize = try integer(1)
            case "imbalance":
                guard let r = Double(value), r >= 1, r.isFinite else {
                    throw DataError(.badSpec, "imbalance=\(value): expected a ratio >= 1 (largest / smallest class)")
                }
                imbalance = r
            case "alpha":
                guard let a = Double(value), a > 0, a.isFinite else {
                    throw DataError(.badSpec, "alpha=\(value): expected a Dirichlet concentration > 0")
                }
                alpha = a
            case "profile":
                guard let p = ImbalanceProfile(rawValue: value) else {
                    throw DataError(.badSpec, "profile=\(value): expected one of \(ImbalanceProfile.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                profile = p
            case "labels":
                guard value == "fine" || value == "coarse" else { throw DataError(.badSpec, "labels=\(value): expected fine or coarse") }
                coarseLabels = value == "coarse"
            case "data-seed":
                guard let s = UInt64(value) else { throw DataError(.badSpec, "data-seed=\(value): expected a non-negative integer") }
                dataSeed = s
            default: break
            }
        }
        if seen.contains("profile") && imbalance == nil { throw DataError(.badSpec, "profile needs imbalance=R in '\(text)'") }
        if (seen.contains("alpha") || clientSize != nil) && clients == nil {
            throw DataError(.badSpec, "alpha and client-size need clients=K in '\(text)'")
        }
        if seen.contains("labels") {
            guard case .cifar100 = source else {
                throw DataError(.badSpec, "labels=fine|coarse applies to cifar100 only, in '\(text)'")
            }
        }
        for (derivation, given) in registeredValues {
            guard given[derivation.name] != nil else {
                throw DataError(.badSpec, "\(given.keys.sorted().joined(separator: " and ")) need \(derivation.name)=VALUE in '\(text)'")
            }
            do {
                derivations.append(Derivation(derivation: derivation,
                                              options: try OptionValues(specs: derivation.options, given: given,
                                                                        owner: "dataset derivation '\(derivation.name)'")))
            } catch {
                throw DataError(.badSpec, "\(error) in dataset spec '\(text)'")
            }
        }
    }

    /// Every key a SPEC may use: the core's, then those of `derivations`.
    public static func validKeys(derivations: [DatasetDerivation] = []) -> [String] {
        coreKeys + derivations.flatMap(\.keys)
    }

    /// The canonical spec string (defaults omitted), which parses back to an equal value.
    public var description: String {
        var parts: [String]
        switch source {
        case .fashionMNIST(let dir): parts = [dir == DatasetSpec.defaultFashionMNISTDirectory ? "fashion-mnist" : "fashion-mnist=\(dir)"]
        case .mnist(let dir): parts = ["mnist=\(dir)"]
        case .cifar10(let dir): parts = ["cifar10=\(dir)"]
        case .cifar100(let dir): parts = ["cifar100=\(dir)"]
        }
        if let validation { parts.append("val=\(validation)") }
        if let subset { parts.append("subset=\(subset)") }
        if let imbalance { parts.append("imbalance=\(Dataset.format(imbalance))") }
        if imbalance != nil && profile != .exponential { parts.append("profile=\(profile.rawValue)") }
        if let clients {
            parts.append("clients=\(clients)")
            parts.append("alpha=\(Dataset.format(alpha))")
            if let clientSize { parts.append("client-size=\(clientSize)") }
        }
        if coarseLabels { parts.append("labels=coarse") }
        if dataSeed != 0 { parts.append("data-seed=\(dataSeed)") }
        for derivation in derivations { parts += derivation.parts }
        return parts.joined(separator: ",")
    }

    private static func keyValue(_ part: String) -> (String, String?) {
        guard let eq = part.firstIndex(of: "=") else { return (part, nil) }
        return (String(part[..<eq]), String(part[part.index(after: eq)...]))
    }
}
