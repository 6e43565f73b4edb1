/// What a run provides to the methods in it: the configuration, the method's options and the
/// building blocks to make models, data loaders and trainers of its own (teachers, clients, probes).
public final class RunContext {
    public let config: RunConfig
    public let options: MethodOptions

    public init(config: RunConfig, options: MethodOptions) {
        self.config = config
        self.options = options
    }
}
