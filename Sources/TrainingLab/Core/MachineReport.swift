import CTrainingLab
import Foundation

/// What a run or benchmark ran on, so that its numbers can be understood later: the CPU, its vector
/// instructions and caches, the ISA our kernels chose and our GEMM's micro-kernel, the BLAS library (the
/// tests' and benchmarks' reference) and which of its kernel sets it picked,
/// thread counts and the environment variables that change any of these. An OpenBLAS too old for a CPU
/// silently falls back to narrow kernels (Debian's 0.3.21 runs SSE3 code on some recent Xeons, at a sixth
/// of the speed); `blasWarning` says so.
public struct MachineReport: Sendable {
    public struct CPU: Sendable {
        public let vendor: String
        /// The brand string, as /proc/cpuinfo's "model name".
        public let modelName: String
        public let family: Int, model: Int, stepping: Int
        /// Usable ISA extensions (the CPU has them and the OS saves their registers), in a fixed order.
        public let flags: [String]
        /// The widest level among them: "SSE", "AVX", "AVX2", "AVX-512" or "unknown".
        public let isa: String
        /// Data cache sizes in bytes (L1d and L2 per core, L3 per package); 0 when unknown.
        public let l1dBytes: Int, l2Bytes: Int, l3Bytes: Int
    }

    public struct BLAS: Sendable {
        public let name: String, version: String, library: String, config: String
        /// OpenBLAS's kernel set (`openblas_get_corename`) and the widest ISA it uses.
        public let core: String, coreISA: String
        public let parallel: String
        public let threads: Int
    }

    /// Variables recorded when set: they force an OpenBLAS core, set thread counts, or cap our kernels' ISA.
    public static let recordedVariables = ["OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "TL_ISA"]

    public let cpu: CPU
    /// The ISA our own vector kernels run with now (honours TL_ISA).
    public let kernelISA: String
    /// Our GEMM's micro-kernel now, ISA and register tile ("avx512 8x32"; honours TL_ISA).
    public let gemmKernel: String
    public let blas: BLAS
    public let openMPThreads: Int
    public let onlineCPUs: Int
    /// The recorded variables that are set, in `recordedVariables` order.
    public let environment: [(name: String, value: String)]
    /// Whether the BLAS core is narrower than the CPU allows (false when either is unknown).
    public let blasCoreBelowCPU: Bool
    /// The one-line warning to print when it is; nil otherwise.
    public let blasWarning: String?

    /// Gathers the report from the C core (cpuid, dlsym into the BLAS) and the environment.
    public init() throws {
        var info = tl_cpu_info()
        try tlCheck(tl_cpu_info_get(&info))
        var cpuLevel: Int32 = 0, kernelLevel: Int32 = 0
        try tlCheck(tl_cpu_isa_level(&info, &cpuLevel))
        try tlCheck(tl_kernel_isa(&kernelLevel))
        let flags: [(String, Int32)] = [("sse3", info.sse3), ("avx", info.avx), ("avx2", info.avx2), ("fma", info.fma),
                                        ("avx512f", info.avx512f), ("avx512dq", info.avx512dq), ("avx512bw", info.avx512bw),
                                        ("avx512vl", info.avx512vl)]
        cpu = CPU(vendor: cString(info.vendor), modelName: cString(info.brand), family: Int(info.family), model: Int(info.model),
                  stepping: Int(info.stepping), flags: flags.filter { $0.1 != 0 }.map(\.0), isa: String(cString: tl_isa_name(cpuLevel)),
                  l1dBytes: info.l1d_bytes, l2Bytes: info.l2_bytes, l3Bytes: info.l3_bytes)
        kernelISA = String(cString: tl_isa_name(kernelLevel))
        gemmKernel = String(cString: tl_gemm_kernel_name())

        var blasInfo = tl_blas_info()
        try tlCheck(tl_blas_info_get(&blasInfo))
        let core = cString(blasInfo.core)
        let (_, coreISA) = try MachineReport.coreISA(core)
        blas = BLAS(name: cString(blasInfo.name), version: cString(blasInfo.version), library: cString(blasInfo.library),
                    config: cString(blasInfo.config), core: core, coreISA: coreISA, parallel: cString(blasInfo.parallel),
                    threads: Int(blasInfo.threads))

        openMPThreads = Int(tl_get_num_threads())
        onlineCPUs = max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 0) // -1 = unknown
        environment = MachineReport.recordedVariables.compactMap { name in getenv(name).map { (name, String(cString: $0)) } }
        blasWarning = try MachineReport.blasWarning(library: blas.name, core: core, cpuISA: cpuLevel,
                                                    forcedCore: environment.first { $0.name == "OPENBLAS_CORETYPE" }?.value)
        blasCoreBelowCPU = blasWarning != nil
    }

    /// The warning for BLAS core `core` on a CPU of level `cpuISA` (a TL_ISA_* value), nil when the core
    /// is not below it or either is unknown. Two or more levels down (SSE kernels on an AVX2 or AVX-512
    /// CPU) GEMMs run several times slower; one level down, noticeably slower. The hint names the core
    /// that matches the CPU, unless the core was forced through OPENBLAS_CORETYPE (then that is the cause).
    public static func blasWarning(library: String, core: String, cpuISA: Int32, forcedCore: String?) throws -> String? {
        var below: Int32 = 0
        try tlCheck(tl_blas_core_below_cpu(core, cpuISA, &below))
        guard below != 0 else { return nil }
        let (coreLevel, coreISA) = try coreISA(core)
        let cpuName = String(cString: tl_isa_name(cpuISA))
        let speed = cpuISA - coreLevel >= 2 ? "far below" : "below"
        let matching = [Int32(TL_ISA_AVX): "Sandybridge", Int32(TL_ISA_AVX2): "Haswell", Int32(TL_ISA_AVX512): "SkylakeX"][cpuISA]
        let hint = forcedCore.map { " (forced by OPENBLAS_CORETYPE=\($0))" } ?? matching.map { " (try OPENBLAS_CORETYPE=\($0))" } ?? ""
        return "warning: \(library) uses its \(core) (\(coreISA)) kernels on a CPU with \(cpuName); "
            + "GEMM-heavy cases run \(speed) the machine's speed\(hint)"
    }

    private static func coreISA(_ core: String) throws -> (level: Int32, name: String) {
        var level: Int32 = 0
        var name: UnsafePointer<CChar>?
        try tlCheck(tl_blas_core_isa(core, &level, &name))
        return (level, name.map { String(cString: $0) } ?? "unknown")
    }

    /// config.json's "machine" object and `tlab bench --json`'s first line.
    public var json: JSONValue {
        .object([
            ("cpu", .object([
                ("vendor", .string(cpu.vendor)), ("model_name", .string(cpu.modelName)), ("family", .number(Double(cpu.family))),
                ("model", .number(Double(cpu.model))), ("stepping", .number(Double(cpu.stepping))),
                ("flags", .array(cpu.flags.map { .string($0) })), ("isa", .string(cpu.isa)),
                ("caches", .object([("l1d_bytes", .number(Double(cpu.l1dBytes))), ("l2_bytes", .number(Double(cpu.l2Bytes))),
                                    ("l3_bytes", .number(Double(cpu.l3Bytes)))])),
            ])),
            ("kernel_isa", .string(kernelISA)),
            ("gemm_kernel", .string(gemmKernel)),
            ("blas", .object([
                ("name", .string(blas.name)), ("version", .string(blas.version)), ("library", .string(blas.library)),
                ("config", .string(blas.config)), ("core", .string(blas.core)), ("core_isa", .string(blas.coreISA)),
                ("core_below_cpu", .bool(blasCoreBelowCPU)), ("parallel", .string(blas.parallel)),
                ("threads", .number(Double(blas.threads))),
            ])),
            ("threads", .object([("openmp_max", .number(Double(openMPThreads))), ("online_cpus", .number(Double(onlineCPUs)))])),
            ("environment", .object(environment.map { ($0.name, .string($0.value)) })),
        ])
    }

    /// Three lines for a human reader: CPU and our kernels, BLAS, threads and environment.
    public var summary: [String] {
        let environmentText = environment.isEmpty ? "" : "; " + environment.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
        let caches = [("L1d", cpu.l1dBytes), ("L2", cpu.l2Bytes), ("L3", cpu.l3Bytes)].map { "\($0.0) \(byteSize($0.1))" }.joined(separator: " ")
        return [
            "cpu \(cpu.modelName) (\(cpu.vendor) family \(cpu.family) model \(cpu.model) stepping \(cpu.stepping)), \(cpu.isa), \(caches); "
                + "our kernels \(kernelISA), GEMM \(gemmKernel)",
            "blas \(blas.name) \(blas.version) (\(blas.parallel), \(blas.threads) thread\(blas.threads == 1 ? "" : "s")), core \(blas.core) (\(blas.coreISA)); \(blas.library)",
            "threads \(openMPThreads) OpenMP, \(onlineCPUs) online CPUs\(environmentText)",
        ]
    }
}

/// A cache size for people: "48 KiB", "1.25 MiB", "unknown" for 0.
private func byteSize(_ bytes: Int) -> String {
    guard bytes > 0 else { return "unknown" }
    if bytes < 1 << 20 { return "\(bytes >> 10) KiB" }
    let mib = Double(bytes) / Double(1 << 20)
    return mib == mib.rounded() ? "\(Int(mib)) MiB" : String(format: "%.2f MiB", mib)
}

/// A NUL-terminated C char array (imported as a tuple) as a String.
private func cString<T>(_ chars: T) -> String {
    withUnsafeBytes(of: chars) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
}
