import TrainingLab

/// A buffer of one element type from the core's aligned allocator (64 bytes, so the kernels' aligned
/// vector paths run), freed on deinit. Inputs remember their initial contents so that a case can be run
/// again from the same state (in-place kernels, running statistics); differentiable inputs carry the
/// buffer the backward writes their gradient to, differentiable outputs the upstream gradient it reads.
public final class KernelBuffer {
    public enum Element { case f32, f64, i32, i64, u8, i8, size }

    public let name: String
    public let count: Int
    public let element: Element
    public let raw: UnsafeMutableRawPointer
    /// d(name): written by the backward (inputs only).
    public internal(set) var gradient: KernelBuffer?
    /// Upstream gradient d(name), random (outputs only).
    public internal(set) var upstream: KernelBuffer?
    var initial: [UInt8]?

    init(name: String, count: Int, element: Element) {
        self.name = name
        self.count = count
        self.element = element
        let bytes = Swift.max(1, count) * KernelBuffer.stride(element)
        raw = tl_alloc(bytes)!
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }

    deinit { tl_free(raw) }

    static func stride(_ element: Element) -> Int {
        switch element {
        case .f32, .i32: return 4
        case .f64, .i64, .size: return 8
        case .u8, .i8: return 1
        }
    }

    public var byteCount: Int { count * KernelBuffer.stride(element) }
    public var f: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    public var f64: UnsafeMutablePointer<Double> { raw.assumingMemoryBound(to: Double.self) }
    public var i32: UnsafeMutablePointer<Int32> { raw.assumingMemoryBound(to: Int32.self) }
    public var i64: UnsafeMutablePointer<Int64> { raw.assumingMemoryBound(to: Int64.self) }
    public var u8: UnsafeMutablePointer<UInt8> { raw.assumingMemoryBound(to: UInt8.self) }
    public var i8: UnsafeMutablePointer<Int8> { raw.assumingMemoryBound(to: Int8.self) }
    public var size: UnsafeMutablePointer<Int> { raw.assumingMemoryBound(to: Int.self) }

    /// The gradient buffer of a differentiable input (a programming error to ask a plain input).
    public var grad: KernelBuffer {
        guard let gradient else { preconditionFailure("\(name) is not differentiable") }
        return gradient
    }

    /// The upstream gradient of a differentiable output.
    public var up: KernelBuffer {
        guard let upstream else { preconditionFailure("\(name) has no upstream gradient") }
        return upstream
    }

    /// Element i as a Double, whatever the element type.
    public subscript(i: Int) -> Double {
        switch element {
        case .f32: return Double(f[i])
        case .f64: return f64[i]
        case .i32: return Double(i32[i])
        case .i64: return Double(i64[i])
        case .u8: return Double(u8[i])
        case .i8: return Double(i8[i])
        case .size: return Double(size[i])
        }
    }

    /// Every element as a Double.
    public var values: [Double] { (0..<count).map { self[$0] } }
    /// Every element of a float buffer.
    public var floats: [Float] { Array(UnsafeBufferPointer(start: f, count: count)) }
    public var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: raw, count: byteCount)) }

    public func set(_ values: [Float]) {
        precondition(element == .f32 && values.count == count, "\(name): \(values.count) floats for \(count) \(element)")
        f.update(from: values, count: count)
    }

    func restore(_ saved: [UInt8]) { saved.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: byteCount) } }
}

/// Uniform floats in [low, high) from the core's counter-based generator, so cases are the same on every machine.
public func kernelRandom(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    if count > 0 { _ = tl_rng_uniform(&out, count, seed, 0, low, high) }
    return out
}

/// One row at one shape: its buffers, the kernel calls, and the reference. Rows build it with the methods
/// below; the checks and the benchmark run it with `reset`, `runForward`, `runBackward` and the expectations.
public final class KernelCase {
    public private(set) var inputs: [KernelBuffer] = []
    public private(set) var outputs: [KernelBuffer] = []
    /// Tolerances that replace the row's for one output or one input's gradient.
    public private(set) var toleranceOverrides: [String: Tolerance] = [:]
    var forwardBody: () throws -> Void = {}
    var backwardBody: (() throws -> Void)?
    var referenceBody: (() -> [String: Expected])?
    var referenceBackwardBody: (() -> [String: Expected])?
    /// Extra absolute tolerance per element of an output or gradient, for results whose rounding error depends on the data.
    var slackBodies: [String: () -> [Double]] = [:]
    /// Seeds for random contents, one per buffer in order of creation, so a case is the same every time.
    private var nextSeed: UInt64
    /// Anything the calls need alive (descriptors, arrays of pointers).
    private var kept: [AnyObject] = []

    public init(seed: UInt64 = 1) { nextSeed = seed }

    // MARK: Building

    /// A float input with the given contents; `gradient` gives it a gradient buffer for the backward.
    @discardableResult
    public func input(_ name: String, _ values: [Float], gradient: Bool = false) -> KernelBuffer {
        let b = KernelBuffer(name: name, count: values.count, element: .f32)
        b.set(values)
        if gradient { b.gradient = KernelBuffer(name: "d" + name, count: values.count, element: .f32) }
        return add(input: b)
    }

    /// A float input of `count` uniform values in [low, high).
    @discardableResult
    public func uniform(_ name: String, _ count: Int, _ low: Float = -1, _ high: Float = 1, gradient: Bool = false) -> KernelBuffer {
        input(name, kernelRandom(count, seed: seed(), low: low, high: high), gradient: gradient)
    }

    /// An input of another element type, filled by `fill(i)` for element i.
    @discardableResult
    public func input(_ name: String, _ count: Int, _ element: KernelBuffer.Element, _ fill: (Int) -> Double) -> KernelBuffer {
        let b = KernelBuffer(name: name, count: count, element: element)
        for i in 0..<count {
            let v = fill(i)
            switch element {
            case .f32: b.f[i] = Float(v)
            case .f64: b.f64[i] = v
            case .i32: b.i32[i] = Int32(v)
            case .i64: b.i64[i] = Int64(v)
            case .u8: b.u8[i] = UInt8(v)
            case .i8: b.i8[i] = Int8(v)
            case .size: b.size[i] = Int(v)
            }
        }
        return add(input: b)
    }

    /// An output; `gradient` gives it a random upstream gradient for the backward. Float outputs start as
    /// NaN, so an element the kernel forgets to write shows.
    @discardableResult
    public func output(_ name: String, _ count: Int, _ element: KernelBuffer.Element = .f32, gradient: Bool = false,
                       tolerance: Tolerance? = nil) -> KernelBuffer {
        let b = KernelBuffer(name: name, count: count, element: element)
        if element == .f32 { b.f.update(repeating: .nan, count: count) }
        if gradient { b.upstream = input("d" + name, kernelRandom(count, seed: seed())) }
        if let tolerance { toleranceOverrides[name] = tolerance }
        outputs.append(b)
        return b
    }

    /// Declares that an input is updated in place and is also an output of the forward (optimiser state).
    public func inPlace(_ b: KernelBuffer, tolerance: Tolerance? = nil) {
        outputs.append(b)
        if let tolerance { toleranceOverrides[b.name] = tolerance }
    }

    /// Replaces the row's backward tolerance for the gradient of one input.
    public func gradientTolerance(_ name: String, _ tolerance: Tolerance) { toleranceOverrides["d" + name] = tolerance }

    public func forward(_ body: @escaping () -> Int32) { forwardBody = { try tlCheck(body()) } }
    public func backward(_ body: @escaping () -> Int32) { backwardBody = { try tlCheck(body()) } }

    /// Expected outputs by name, from the current inputs (read before the forward runs).
    public func reference(_ body: @escaping () -> [String: [Double]]) { referenceBody = { body().mapValues { Expected.all($0) } } }
    /// Expected values of some elements only (references too slow for every element at bench shapes).
    public func sampledReference(_ body: @escaping () -> [String: Expected]) { referenceBody = body }
    /// Expected gradients by gradient name ("dx" for input x), for backwards that finite differences cannot
    /// check (surrogate gradients, straight-through estimators) and at shapes too large for them.
    public func referenceBackward(_ body: @escaping () -> [String: [Double]]) {
        referenceBackwardBody = { body().mapValues { Expected.all($0) } }
    }

    /// An extra absolute tolerance for each element of output or gradient `name` (computed from the inputs),
    /// where the rounding error of the kernel depends on how well-conditioned the data is.
    public func slack(_ name: String, _ body: @escaping () -> [Double]) { slackBodies[name] = body }

    /// Keeps an object alive as long as the case (descriptors the calls point into).
    public func keep(_ object: AnyObject) { kept.append(object) }

    /// The next seed for random contents.
    public func seed() -> UInt64 {
        defer { nextSeed &+= 1 }
        return nextSeed
    }

    private func add(input b: KernelBuffer) -> KernelBuffer {
        b.initial = b.bytes
        inputs.append(b)
        return b
    }

    // MARK: Running

    public var hasBackward: Bool { backwardBody != nil }
    public var hasReferenceBackward: Bool { referenceBackwardBody != nil }

    /// Inputs back to their initial contents.
    public func reset() { for b in inputs { if let saved = b.initial { b.restore(saved) } } }

    public func runForward() throws { try forwardBody() }

    public func runBackward() throws {
        guard let backwardBody else { return }
        try backwardBody()
    }

    public func expectedOutputs() -> [String: Expected] { referenceBody?() ?? [:] }
    public func expectedGradients() -> [String: Expected]? { referenceBackwardBody?() }

    /// Inputs the backward gives a gradient for.
    public var differentiableInputs: [KernelBuffer] { inputs.filter { $0.gradient != nil } }
    /// Outputs the backward takes an upstream gradient for.
    public var differentiableOutputs: [KernelBuffer] { outputs.filter { $0.upstream != nil } }
    /// The backward's outputs.
    public var gradients: [KernelBuffer] { differentiableInputs.map { $0.grad } }
}

/// Expected values of an output: every element, or the listed elements only.
public struct Expected {
    public var values: [Double]
    public var indices: [Int]?

    public static func all(_ values: [Double]) -> Expected { Expected(values: values, indices: nil) }
    public static func at(_ indices: [Int], _ values: [Double]) -> Expected { Expected(values: values, indices: indices) }
}
