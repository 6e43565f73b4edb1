import ArgumentParser
import Foundation
import TrainingLab

/// The model file every model command opens, and where plugins' models are found.
struct ModelFileOptions: ParsableArguments {
    @Option(name: .customLong("model-file"), help: "A model.safetensors that a run wrote.") var modelFile: String
    @Option(name: .customLong("plugin-path"), help: "A folder (or plugin file) to search first; repeatable.")
    var pluginPaths: [String] = []

    func open() throws -> (SavedModel, PluginRegistry) {
        let registry = try PluginRegistry(pluginPaths: pluginPaths)
        return (try SavedModel(contentsOf: URL(fileURLWithPath: modelFile), models: registry.models), registry)
    }
}

/// `tlab eval`: a saved model's metrics on a dataset's test split, with the evaluator runs use.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model file on a dataset's test split (accuracy, loss, ...).")

    @OptionGroup var file: ModelFileOptions
    @Option(help: "Dataset SPEC (as in `tlab run --dataset`); its test split is evaluated.") var dataset: String
    @Option(name: .customLong("batch-size"), help: "Samples per forward pass.") var batchSize = 256
    @Flag(help: "JSON output (the test object of report.json).") var json = false

    func run() throws {
        guard batchSize > 0 else { throw ConfigError("--batch-size \(batchSize): must be > 0") }
        let (saved, registry) = try file.open()
        let data = try DatasetSpec(parsing: dataset, derivations: registry.datasetDerivations.items).load()
        try saved.check(data.test, "--dataset \(dataset)")
        let report = try saved.evaluator(batchSize: batchSize).evaluate([saved.model], on: data)
        if json { print(report.json.serialized(pretty: true)); return }
        print("\(saved.card.model ?? "?") on \(dataset) (\(data.test.count) samples): "
              + String(format: "accuracy %.2f%%, loss %.4f", 100 * report.test.accuracy, report.test.nll))
    }
}

/// `tlab predict`: a saved model's top classes for samples of a file or a dataset's test split.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Top-k classes with probabilities from a model file.")

    @OptionGroup var file: ModelFileOptions
    @Option(help: "An IDX images file (idx3-ubyte[.gz]), a CIFAR binary batch (*.bin) or a dataset SPEC (its test split).")
    var input: String
    @Option(help: "Samples START:END (END excluded) of the input (default: the first 10).") var range: String?
    @Option(name: .customLong("top-k"), help: "Classes shown per sample.") var topK = 3
    @Flag(help: "JSON output: one object per sample.") var json = false

    func run() throws {
        let (saved, registry) = try file.open()
        let (all, labelled) = try saved.inputs(input, derivations: registry.datasetDerivations.items)
        let text = range ?? "0:\(min(10, all.count))"
        let bounds = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard bounds.count == 2, let start = bounds[0], let end = bounds[1], 0 <= start, start < end, end <= all.count else {
            throw ConfigError("--range \(text): expected START:END with 0 <= START < END <= \(all.count) (the input's samples)")
        }
        guard topK > 0 else { throw ConfigError("--top-k \(topK): must be > 0") }
        let samples = try all.subset(Array(start..<end))
        let classes = saved.card.classes
        let logits = try saved.logits(samples, "--input \(input)")
        let name = { (k: Int) in k < saved.card.classNames.count ? saved.card.classNames[k] : String(k) }
        var rows: [JSONValue] = []
        for row in 0..<samples.count {
            let probabilities = softmaxRow(logits, row: row, classes: classes)
            let top = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(min(topK, classes))
            let label = Int(samples.labels[row])
            var line: JSONValue = .object([("index", .number(Double(start + row)))])
            if labelled { line.set("label", .object([("class", .number(Double(label))), ("name", .string(name(label)))])) }
            line.set("top", .array(top.map { .object([("class", .number(Double($0))), ("name", .string(name($0))),
                                                      ("probability", .number(probabilities[$0]))]) }))
            rows.append(line)
            if !json {
                print("\(start + row)\(labelled ? " (\(name(label)))" : ""): "
                      + top.map { "\(name($0)) " + String(format: "%.4f", probabilities[$0]) }.joined(separator: ", "))
            }
        }
        if json { print(JSONValue.array(rows).serialized(pretty: true)) }
    }
}

/// `tlab export --onnx`: a saved model as an ONNX graph (opset 13) that takes the same inputs as `tlab predict`.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a model file to ONNX.")

    @OptionGroup var file: ModelFileOptions
    @Option(help: "The .onnx file to write.") var onnx: String

    func run() throws {
        let (saved, _) = try file.open()
        try ONNXExport.write(saved, to: URL(fileURLWithPath: onnx))
        print("wrote \(onnx) (\(saved.card.model ?? "?"), input \(saved.card.inputShape), \(saved.card.classes) classes, opset \(ONNXExport.opset))")
    }
}
