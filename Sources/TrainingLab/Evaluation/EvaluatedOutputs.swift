/// Everything one evaluation pass over a dataset produced, in dataset order: the model's outputs, the named
/// outputs it published (ForwardCapture) that the evaluator was asked for, and the samples' labels and
/// metadata. Metrics, built-in and registered, are functions of this.
public struct EvaluatedOutputs {
    /// The model's output rows (N, ...): a classifier's logits (N, classes), or an encoder's features.
    public let output: Tensor
    public let labels: [Int32]
    public let classCount: Int
    /// The dataset's metadata columns.
    public let metadata: [String: [Int]]
    /// Each requested named output: one tensor per record of that name in a forward (in recording order), each
    /// the batches' records concatenated along the first axis, (N, ...).
    public let named: [String: [Tensor]]

    /// The logits (N, classes) row-major; an error unless the output is (N, classCount).
    public func logits() throws -> [Float] {
        guard output.rank == 2, output.shape[1] == classCount else {
            throw TensorError("evaluation: model output \(output.shape) is not (samples, \(classCount) classes)")
        }
        return output.scalars
    }

    /// The records of a named output; an error names the outputs that were collected.
    public func records(_ name: String) throws -> [Tensor] {
        guard let records = named[name], !records.isEmpty else {
            throw TensorError("evaluation: no output '\(name)' was collected; collected: \(named.isEmpty ? "none" : named.keys.sorted().joined(separator: ", "))")
        }
        return records
    }
}

/// A metric a plugin registers (`PluginRegistration(metrics:)`) and the evaluator computes on final models:
/// a function of one evaluation pass to a JSON value, reported under its name.
public struct EvaluationMetric {
    public let name: String
    /// One line for listings.
    public let summary: String
    /// Named outputs (ForwardCapture) the model must publish for it; the evaluator collects them.
    public let outputs: [String]
    private let body: (EvaluatedOutputs) throws -> JSONValue

    public init(name: String, summary: String, outputs: [String] = [], compute: @escaping (EvaluatedOutputs) throws -> JSONValue) {
        self.name = name
        self.summary = summary
        self.outputs = outputs
        body = compute
    }

    public func compute(_ evaluated: EvaluatedOutputs) throws -> JSONValue { try body(evaluated) }
}
