import TrainingLab

/// One kernel of the C core, listed once: what the kernel tests run at every test shape (forward against
/// the plain reference, backward against finite differences and the reference backward, 1 vs 2 threads
/// bitwise, under every ISA path) and what `tlab bench` times at the bench shapes after checking the result
/// against the same reference. Adding a kernel is adding one row to its family's list in Rows/.
public struct KernelRow {
    /// Short name; bench cases are `<name>_fwd` and `<name>_bwd`.
    public var name: String
    /// The header the kernel lives in (`act` for include/tl_act.h); the tests run one family per test method.
    public var family: String
    /// C entry points of the forward (and of the backward when there is one), for the record.
    public var forward: String
    public var backward: String?
    /// What the results are compared with: a C `_ref` function of the core, or the Swift reference of this module.
    public var reference: String
    /// Forward outputs against the reference (a case may override it for one output).
    public var tolerance: Tolerance
    /// Backward outputs against the reference backward, when the case has one.
    public var backwardTolerance: Tolerance?
    /// Finite differences of the forward against the backward; nil when the row has no backward or its
    /// backward is not a derivative (then `note` says why and the reference backward checks it).
    public var finiteDifferences: FiniteDifferences?
    /// TL_ISA values the tests run the row under (avx512 is skipped on a CPU without it).
    public var isas: [String]
    public var shapes: [KernelShape]
    /// Shapes `tlab bench` times (usually one).
    public var benchShapes: [KernelShape]
    /// Work of one forward and one backward call at a shape, which turns a time into a rate.
    public var work: (KernelShape) -> (forward: KernelWork, backward: KernelWork?)
    /// Anything a reader of the row should know (sampled references, why no finite differences, ...).
    public var note: String
    /// Builds the buffers and calls of the kernel at one shape.
    public var make: (KernelShape) throws -> KernelCase

    public init(name: String, family: String, forward: String, backward: String? = nil, reference: String,
                tolerance: Tolerance, backwardTolerance: Tolerance? = nil, finiteDifferences: FiniteDifferences? = nil,
                isas: [String] = KernelISA.vectorPaths, shapes: [KernelShape], benchShapes: [KernelShape] = [],
                work: @escaping (KernelShape) -> (forward: KernelWork, backward: KernelWork?), note: String = "",
                make: @escaping (KernelShape) throws -> KernelCase) {
        self.name = name
        self.family = family
        self.forward = forward
        self.backward = backward
        self.reference = reference
        self.tolerance = tolerance
        self.backwardTolerance = backwardTolerance
        self.finiteDifferences = finiteDifferences
        self.isas = isas
        self.shapes = shapes
        self.benchShapes = benchShapes
        self.work = work
        self.note = note
        self.make = make
    }
}

/// The sizes and options of one case, in order: `n=7 c=3 k=2`. Values are Doubles so that options such as
/// a temperature fit too; `int` reads a size.
public struct KernelShape: ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public let entries: [(name: String, value: Double)]

    public init(dictionaryLiteral elements: (String, Double)...) { entries = elements.map { (name: $0.0, value: $0.1) } }

    public init(_ entries: [(String, Double)]) { self.entries = entries.map { (name: $0.0, value: $0.1) } }

    /// One shape per row of values, named by `names` in order.
    public static func list(_ names: [String], _ rows: [[Double]]) -> [KernelShape] {
        rows.map { KernelShape(Array(zip(names, $0))) }
    }

    public func value(_ name: String) -> Double {
        guard let entry = entries.first(where: { $0.name == name }) else { preconditionFailure("shape \(self) has no '\(name)'") }
        return entry.value
    }

    public func int(_ name: String) -> Int { Int(value(name)) }
    public func float(_ name: String) -> Float { Float(value(name)) }
    public func flag(_ name: String) -> Bool { value(name) != 0 }
    public func has(_ name: String) -> Bool { entries.contains { $0.name == name } }

    /// This shape with `name` set to `value` (appended when absent).
    public func with(_ name: String, _ value: Double) -> KernelShape {
        var list = entries.map { ($0.name, $0.value) }
        if let i = list.firstIndex(where: { $0.0 == name }) { list[i].1 = value } else { list.append((name, value)) }
        return KernelShape(list)
    }

    public var description: String {
        entries.map { "\($0.name)=\($0.value == $0.value.rounded() && abs($0.value) < 1e15 ? String(Int($0.value)) : String($0.value))" }
            .joined(separator: " ")
    }
}

/// |actual - expected| <= abs + rel |expected|, both bounds multiplied by sqrt(shape[growth]) when the
/// error grows with a sum of that length (the K of a matrix product). NaN matches NaN, an infinity itself.
public struct Tolerance: CustomStringConvertible {
    public var abs: Double
    public var rel: Double
    public var growth: String?

    public init(abs: Double, rel: Double, growth: String? = nil) {
        self.abs = abs
        self.rel = rel
        self.growth = growth
    }

    /// Bitwise-equal results (integer outputs, exact kernels).
    public static let exact = Tolerance(abs: 0, rel: 0)

    /// The bounds at one shape.
    public func at(_ shape: KernelShape) -> Tolerance {
        guard let growth else { return self }
        let scale = Double(max(1, shape.int(growth))).squareRoot()
        return Tolerance(abs: abs * scale, rel: rel * scale)
    }

    public func accepts(_ actual: Double, _ expected: Double) -> Bool {
        if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN }
        if actual.isInfinite || expected.isInfinite { return actual == expected }
        return Swift.abs(actual - expected) <= abs + rel * Swift.abs(expected)
    }

    public var description: String {
        let scale = growth.map { "·√\($0)" } ?? ""
        return "abs \(abs)\(scale) rel \(rel)\(scale)"
    }
}

/// The finite-difference check of a backward: central differences of sum(output · upstream) with step
/// `step`, over every element of every differentiable input, at `shapes` (small, so that every element
/// can be probed and inputs can keep away from kinks).
public struct FiniteDifferences {
    public var step: Float
    public var tolerance: Tolerance
    public var shapes: [KernelShape]

    public init(step: Float, tolerance: Tolerance, shapes: [KernelShape]) {
        self.step = step
        self.tolerance = tolerance
        self.shapes = shapes
    }
}

/// The amount of work one call does.
public enum KernelWork {
    case flops(Double)
    case bytes(Double)
    case elements(Double)
}
