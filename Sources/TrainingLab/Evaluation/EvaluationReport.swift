/// What the `Evaluator` computed for a model (or an ensemble) on a test set; `json` is what report.json holds.
public struct EvaluationReport {
    /// The standard metrics: of the model, or of the ensemble's mean probabilities.
    public var test: ClassificationMetrics
    /// Each ensemble member's metrics (nil for one model).
    public var members: [ClassificationMetrics]?
    /// Per-group accuracy and MacroStd, when the test set has the evaluator's group column.
    public var groups: GroupAccuracy?
    /// Accuracy after each timestep, when the model publishes per-timestep logits.
    public var anytime: AnytimeAccuracy?
    /// AUROC (0-1) of the maximum softmax probability separating the test set from the out-of-distribution set.
    public var outOfDistributionAUROC: Double?
    /// The registered metrics, by name, in the order requested.
    public var custom: [(String, JSONValue)] = []

    public init(test: ClassificationMetrics) { self.test = test }

    /// The test object of report.json plus one key per further result.
    public var json: JSONValue {
        var json = test.json
        if let members { json.set("members", .array(members.map(\.json))) }
        if let groups { json.set("groups", groups.json) }
        if let anytime { json.set("anytime", anytime.json) }
        if let outOfDistributionAUROC { json.set("ood_auroc", .number(outOfDistributionAUROC)) }
        for (name, value) in custom { json.set(name, value) }
        return json
    }
}
