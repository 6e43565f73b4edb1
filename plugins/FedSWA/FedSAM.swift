import TrainingLab

/// FedSAM, the FedSWA paper's baseline: FedAvg whose clients take sharpness-aware steps (the gradient at
/// y + rho * g / ||g|| on the same mini-batch; `SharpnessAwareStep`). As in the official code: no weight
/// decay (its run default, and its arm in `tlab compare fedmoswa`) and no clipping.
public final class FedSAM: FederatedMethod {
    public static let descriptor = MethodDescriptor(
        name: "fedsam",
        title: "FedSAM: federated averaging with local sharpness-aware minimisation",
        paper: "Z. Qu et al., Generalized Federated Learning via Sharpness Aware Minimization, ICML 2022 (as the baseline of " + FedSWACheck.paper + ")",
        summary: "FedAvg with SAM local steps: two forward/backward passes per step, the update uses the gradient at the ascent point.",
        options: [
            .double("rho_sam", 0.05, in: 0...10, help: "SAM radius rho of the ascent step rho * g / (||g|| + 1e-12)"),
            FedSWACheck.clip(default: 0),
        ],
        arms: [ComparisonArm("fedavg", method: "fedavg", settings: ["weight_decay": .number(1e-3)]), ComparisonArm("fedsam", method: "fedsam")],
        referenceArm: "fedavg",
        metrics: FedSWACheck.metrics,
        runDefaults: FedSWACheck.runDefaults + [("weight_decay", 0)],
        comparisonSeeds: [0],
        supportsResume: true,
        usesClients: true
    )

    let radius: Double
    let clipping: [GradientTransform]

    public init(options: OptionValues) throws {
        radius = try options.double("rho_sam")
        clipping = try FedSWACheck.clipping(options)
    }

    public func localTraining(_ client: ClientContext) throws -> LocalTraining {
        var local = LocalTraining(client)
        local.callbacks = [try SharpnessAwareStep(radius: radius)]
        local.gradientTransforms = clipping
        return local
    }
}
