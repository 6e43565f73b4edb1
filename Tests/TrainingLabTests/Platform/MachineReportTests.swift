import XCTest
import Foundation
import TrainingLab

/// The machine record: cpuid against the kernel's view, the kernels' ISA switch, BLAS identification,
/// the below-the-CPU rule as a table, and the "machine" object of a run's config.json.
final class MachineReportTests: XCTestCase {
    /// The first processor's "key: value" lines of /proc/cpuinfo; nil where there is none.
    private func procCPUInfo() -> [String: String]? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { break }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    func testTheCPUMatchesProcCpuinfo() throws {
        #if arch(x86_64) && os(Linux)
        let cpu = try MachineReport().cpu
        let info = try XCTUnwrap(procCPUInfo())
        XCTAssertEqual(cpu.vendor, info["vendor_id"])
        XCTAssertEqual(cpu.modelName, info["model name"])
        XCTAssertEqual(cpu.family, info["cpu family"].flatMap { Int($0) })
        XCTAssertEqual(cpu.model, info["model"].flatMap { Int($0) })
        XCTAssertEqual(cpu.stepping, info["stepping"].flatMap { Int($0) })
        let listed = Set((info["flags"] ?? "").split(separator: " ").map(String.init))
        // Linux calls SSE3 "pni" (Prescott New Instructions).
        for (ours, linux) in [("sse3", "pni"), ("avx", "avx"), ("avx2", "avx2"), ("fma", "fma"), ("avx512f", "avx512f"),
                              ("avx512dq", "avx512dq"), ("avx512bw", "avx512bw"), ("avx512vl", "avx512vl")] {
            XCTAssertEqual(cpu.flags.contains(ours), listed.contains(linux), "\(ours): ours \(cpu.flags), /proc/cpuinfo lists \(linux): \(listed.contains(linux))")
        }
        let expectedISA = ["avx512f", "avx512bw", "avx512vl"].allSatisfy(listed.contains) ? "AVX-512"
            : listed.contains("avx2") && listed.contains("fma") ? "AVX2" : listed.contains("avx") ? "AVX" : "SSE"
        XCTAssertEqual(cpu.isa, expectedISA)
        #else
        throw XCTSkip("cpuid is compared with /proc/cpuinfo on Linux x86-64 only")
        #endif
    }

    func testTheCacheSizesMatchSysfs() throws {
        #if os(Linux)
        let cpu = try MachineReport().cpu
        // /sys/devices/system/cpu/cpu0/cache/indexN: level, type (Data, Instruction, Unified), size ("48K").
        var expected: [Int: Int] = [:]
        for index in 0..<8 {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = try? String(contentsOfFile: dir + "level", encoding: .utf8), let type = try? String(contentsOfFile: dir + "type", encoding: .utf8),
                  let size = try? String(contentsOfFile: dir + "size", encoding: .utf8) else { continue }
            let text = size.trimmingCharacters(in: .whitespacesAndNewlines)
            guard type.hasPrefix("Data") || type.hasPrefix("Unified"), let value = Int(text.dropLast()) else { continue }
            expected[Int(level.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0] = value << (text.hasSuffix("M") ? 20 : 10)
        }
        guard !expected.isEmpty else { throw XCTSkip("no cache description in /sys") }
        for (level, ours) in [(1, cpu.l1dBytes), (2, cpu.l2Bytes), (3, cpu.l3Bytes)] {
            if let sysfs = expected[level] { XCTAssertEqual(ours, sysfs, "L\(level)") }
        }
        #else
        throw XCTSkip("the cache sizes are compared with /sys on Linux only")
        #endif
    }

    func testTheKernelsISAFollowsTheCPUAndTL_ISA() throws {
        #if arch(x86_64)
        let cpu = try MachineReport().cpu
        let avx512 = ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(cpu.flags.contains)
        let (widest, widestGEMM) = avx512 ? ("AVX-512", "avx512 ") : ("AVX2", "avx2 ")
        unsetenv("TL_ISA")
        defer { unsetenv("TL_ISA") }
        let best = try MachineReport()
        XCTAssertEqual(best.kernelISA, widest)
        XCTAssertTrue(best.gemmKernel.hasPrefix(widestGEMM), best.gemmKernel)
        // "portable" only changes the GEMM: the other kernels have no plain C variant at the x86-64-v3 baseline.
        for (value, isa, gemm) in [("avx512", widest, widestGEMM), ("avx2", "AVX2", "avx2 "), ("portable", "AVX2", "portable ")] {
            setenv("TL_ISA", value, 1)
            let forced = try MachineReport()
            XCTAssertEqual(forced.kernelISA, isa, value)
            XCTAssertTrue(forced.gemmKernel.hasPrefix(gemm), "\(value): \(forced.gemmKernel)")
            XCTAssertEqual(forced.environment.first { $0.name == "TL_ISA" }?.value, value)
            XCTAssertEqual(tl_isa_setting_check(), 0, value)
        }
        // An invalid value is refused by the check, naming the variable, the value and the valid ones; the
        // kernels ignore it (and say so once on stderr) instead of failing.
        setenv("TL_ISA", "avx1024", 1)
        XCTAssertEqual(tl_isa_setting_check(), Int32(TL_ERR_INVALID_ARGUMENT.rawValue))
        let message = String(cString: tl_last_error())
        for part in ["TL_ISA", "'avx1024'", "avx512, avx2, portable"] { XCTAssertTrue(message.contains(part), message) }
        let ignored = try MachineReport()
        XCTAssertEqual(ignored.kernelISA, widest)
        XCTAssertEqual(ignored.gemmKernel, best.gemmKernel)
        #else
        throw XCTSkip("the kernels have ISA variants on x86-64 only")
        #endif
    }

    func testTheLinkedOpenBLASIsIdentified() throws {
        let blas = try MachineReport().blas
        XCTAssertEqual(blas.name, "OpenBLAS")
        XCTAssertTrue(blas.config.hasPrefix("OpenBLAS \(blas.version)"), blas.config)
        XCTAssertNotEqual(blas.core, "unknown")
        XCTAssertTrue(FileManager.default.fileExists(atPath: blas.library), blas.library)
        XCTAssertEqual(blas.threads, 1, "the core keeps OpenBLAS single-threaded inside its OpenMP regions")
    }

    func testOpenBLASCoresMapToTheWidestISATheyUse() throws {
        let table: [(core: String, isa: String)] = [
            ("Prescott", "SSE3"), ("Core2", "SSSE3"), ("Atom", "SSSE3"), ("Penryn", "SSE4.1"), ("Dunnington", "SSE4.1"),
            ("Nehalem", "SSE4.2"), ("Barcelona", "SSE4a"), ("Sandybridge", "AVX"), ("Piledriver", "AVX"), ("Haswell", "AVX2"),
            ("Zen", "AVX2"), ("SkylakeX", "AVX-512"), ("Cooperlake", "AVX-512"), ("SapphireRapids", "AVX-512"),
            ("HASWELL", "AVX2"), ("skylakex", "AVX-512"), ("NEOVERSEN1", "unknown"), ("unknown", "unknown"), ("", "unknown"),
        ]
        for (core, isa) in table {
            var level: Int32 = -1
            var name: UnsafePointer<CChar>?
            try tlCheck(tl_blas_core_isa(core, &level, &name))
            XCTAssertEqual(name.map { String(cString: $0) }, isa, core)
            XCTAssertEqual(level == Int32(TL_ISA_UNKNOWN), isa == "unknown", core)
        }
        var level: Int32 = 0
        var name: UnsafePointer<CChar>?
        XCTAssertEqual(tl_blas_core_isa(nil, &level, &name), Int32(TL_ERR_NULL_POINTER.rawValue))
    }

    func testTheWarningRuleComparesTheBLASCoreWithTheCPU() throws {
        let sse = Int32(TL_ISA_SSE), avx = Int32(TL_ISA_AVX), avx2 = Int32(TL_ISA_AVX2), avx512 = Int32(TL_ISA_AVX512)
        let unknown = Int32(TL_ISA_UNKNOWN)
        // (core, CPU level, OPENBLAS_CORETYPE, the warning or nil)
        let table: [(String, Int32, String?, String?)] = [
            ("Prescott", avx512, nil, "warning: OpenBLAS uses its Prescott (SSE3) kernels on a CPU with AVX-512; "
                + "GEMM-heavy cases run far below the machine's speed (try OPENBLAS_CORETYPE=SkylakeX)"),
            ("Prescott", avx512, "Prescott", "warning: OpenBLAS uses its Prescott (SSE3) kernels on a CPU with AVX-512; "
                + "GEMM-heavy cases run far below the machine's speed (forced by OPENBLAS_CORETYPE=Prescott)"),
            ("PRESCOTT", avx2, nil, "warning: OpenBLAS uses its PRESCOTT (SSE3) kernels on a CPU with AVX2; "
                + "GEMM-heavy cases run far below the machine's speed (try OPENBLAS_CORETYPE=Haswell)"),
            ("Nehalem", avx, nil, "warning: OpenBLAS uses its Nehalem (SSE4.2) kernels on a CPU with AVX; "
                + "GEMM-heavy cases run below the machine's speed (try OPENBLAS_CORETYPE=Sandybridge)"),
            ("Sandybridge", avx512, nil, "warning: OpenBLAS uses its Sandybridge (AVX) kernels on a CPU with AVX-512; "
                + "GEMM-heavy cases run far below the machine's speed (try OPENBLAS_CORETYPE=SkylakeX)"),
            ("Haswell", avx512, nil, "warning: OpenBLAS uses its Haswell (AVX2) kernels on a CPU with AVX-512; "
                + "GEMM-heavy cases run below the machine's speed (try OPENBLAS_CORETYPE=SkylakeX)"),
            ("Zen", avx2, nil, nil), ("Excavator", avx2, nil, nil), ("Haswell", avx2, nil, nil), ("Sandybridge", avx, nil, nil),
            ("SkylakeX", avx512, nil, nil), ("Cooperlake", avx512, nil, nil), ("SapphireRapids", avx512, nil, nil),
            ("Prescott", sse, nil, nil), ("SkylakeX", avx2, nil, nil),
            ("Haswell", unknown, nil, nil), ("NEOVERSEN1", avx512, nil, nil), ("unknown", avx512, nil, nil), ("", avx512, nil, nil),
        ]
        for (core, cpu, forced, expected) in table {
            XCTAssertEqual(try MachineReport.blasWarning(library: "OpenBLAS", core: core, cpuISA: cpu, forcedCore: forced), expected,
                           "\(core) on \(String(cString: tl_isa_name(cpu)))")
            var below: Int32 = -1
            try tlCheck(tl_blas_core_below_cpu(core, cpu, &below))
            XCTAssertEqual(below != 0, expected != nil, "\(core) on \(String(cString: tl_isa_name(cpu)))")
        }
    }

    func testARunsConfigRecordsTheMachine() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let dir = TemporaryDirectory()
        let data = LearnableIDXDataset(train: 64, test: 32)
        let plan = try RunPlan(registry: registry, name: "erm", settings: [("dataset", .string(data.spec)), ("model", "mlp"),
                                                                         ("epochs", 1), ("crop_padding", 0)],
                               outputDirectory: URL(fileURLWithPath: dir.path))
        try plan.execute()
        let config = try JSONValue.parse(String(contentsOfFile: dir.path + "/config.json", encoding: .utf8))
        let machine = try XCTUnwrap(config["machine"])
        let keys: (JSONValue?) -> [String] = { $0?.objectValue?.map(\.0) ?? [] }
        XCTAssertEqual(keys(machine), ["cpu", "kernel_isa", "gemm_kernel", "blas", "threads", "environment"])
        XCTAssertEqual(keys(machine["cpu"]), ["vendor", "model_name", "family", "model", "stepping", "flags", "isa", "caches"])
        XCTAssertEqual(keys(machine["cpu"]?["caches"]), ["l1d_bytes", "l2_bytes", "l3_bytes"])
        XCTAssertEqual(keys(machine["blas"]), ["name", "version", "library", "config", "core", "core_isa", "core_below_cpu", "parallel", "threads"])
        XCTAssertEqual(keys(machine["threads"]), ["openmp_max", "online_cpus"])
        XCTAssertEqual(machine["threads"]?["openmp_max"]?.doubleValue, Double(tl_get_num_threads()))
        XCTAssertEqual(machine, try MachineReport().json, "the record is the machine report")
    }
}
