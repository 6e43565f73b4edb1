import TrainingLab

extension Batch {
    /// The values of view 0 as an array, for comparisons in tests.
    var images: [Float] { inputs.scalars }
}
