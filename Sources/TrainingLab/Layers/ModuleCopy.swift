/// Several models in one run (federated clients, teacher and student, momentum encoders, ensembles) need
/// independent copies of a model and copies of its state between models. Modules are arbitrary class
/// hierarchies, so a copy is made by rebuilding the architecture from a recipe and copying the state by name.
extension Module {
    /// Attaches the recipe `clone()` rebuilds this architecture with. Model builders call it on the root
    /// module they build (`ModelCatalog.make` does for every registered model); `rebuild` must return a
    /// module with the same state names and shapes, whatever its initial values.
    @discardableResult
    public func withRecipe(_ rebuild: @escaping () throws -> Module) -> Self {
        self.rebuild = rebuild
        return self
    }

    /// An independent copy: a module rebuilt from the recipe, with this module's state values, each
    /// tensor's `requiresGrad` and each submodule's training mode (gradients are not copied). Non-tensor
    /// properties come from the recipe, as built.
    public func clone() throws -> Module {
        guard let rebuild else {
            throw TensorError("clone(): this \(type(of: self)) has no rebuild recipe; build it with ModelCatalog.make / ModelZoo.make, "
                              + "or attach one with withRecipe { ... } returning a module of the same architecture")
        }
        let copy = try rebuild()
        do {
            try copy.copyState(from: self)
        } catch let error as TensorError {
            throw TensorError("clone(): the recipe of this \(type(of: self)) builds another architecture (changed after building? "
                              + "attach a new recipe with withRecipe): \(error.message)")
        }
        for ((_, mine), (_, theirs)) in zip(namedState(), copy.namedState()) { theirs.requiresGrad = mine.requiresGrad }
        let modes = Dictionary(namedModules().map { ($0.0, $0.1.isTraining) }, uniquingKeysWith: { first, _ in first })
        for (name, module) in copy.namedModules() { module.isTraining = modes[name] ?? isTraining }
        copy.rebuild = rebuild
        copy.architecture = architecture
        return copy
    }

    /// This module ("") and every descendant, by dotted path, parents before their children.
    public func namedModules() -> [(String, Module)] {
        [("", self)] + children.flatMap { name, child in
            child.namedModules().map { ($0.0.isEmpty ? name : "\(name).\($0.0)", $0.1) }
        }
    }

    /// State tensors that are not parameters (BatchNorm running statistics), by dotted path.
    public func namedBuffers() -> [(String, Tensor)] { namedState().filter { !$0.1.requiresGrad } }

    /// Copies every state tensor of `source` (or only those named in `names`) into this module's tensors
    /// of the same name. Names and shapes must match; the error lists the first mismatches.
    public func copyState(from source: Module, only names: Set<String>? = nil) throws {
        try loadState(Dictionary(source.namedState(), uniquingKeysWith: { first, _ in first }), only: names)
    }

    /// Overwrites this module's state tensors from `state` by name: all of them, or only those in `names`
    /// (every one of which must be a state tensor of this module).
    public func loadState(_ state: [String: Tensor], only names: Set<String>? = nil) throws {
        if let names {
            let own = Set(namedState().map(\.0))
            let unknown = names.subtracting(own).sorted()
            guard unknown.isEmpty else {
                throw TensorError("loadState(only:): not state tensors of this \(type(of: self)): \(Self.listing(unknown.map { "'\($0)'" }))")
            }
        }
        try loadState(state) { names?.contains($0) ?? true }
    }

    /// Overwrites the state tensors whose names pass `include` from the entries of `state` with those names
    /// (e.g. `{ !$0.hasSuffix("running_mean") }`). Every included tensor must be in `state` with its shape, and
    /// every included entry of `state` must name a tensor of this module.
    public func loadState(_ state: [String: Tensor], where include: (String) -> Bool) throws {
        let targets = namedState().filter { include($0.0) }
        var problems: [String] = []
        for (name, tensor) in targets {
            guard let value = state[name] else { problems.append("'\(name)' is missing"); continue }
            if value.shape != tensor.shape { problems.append("'\(name)' has shape \(value.shape), expected \(tensor.shape)") }
        }
        let own = Set(targets.map(\.0))
        problems += state.keys.filter { include($0) && !own.contains($0) }.sorted().map { "'\($0)' is not a tensor of this module" }
        guard problems.isEmpty else {
            throw TensorError("state of \(type(of: self)) does not match: \(Self.listing(problems))")
        }
        for (name, tensor) in targets where state[name]!.pointer != tensor.pointer { try tensor.assign(state[name]!) }
    }

    /// The first five items and how many more.
    private static func listing(_ items: [String]) -> String {
        items.prefix(5).joined(separator: "; ") + (items.count > 5 ? "; and \(items.count - 5) more" : "")
    }
}
