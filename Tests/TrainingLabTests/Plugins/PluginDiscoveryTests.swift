import XCTest
import Foundation
import TrainingLab

final class PluginDiscoveryTests: XCTestCase {
    func testErmIsDiscoveredFromItsSharedLibraryAndConformsAcrossDlopen() throws {
        let folder = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        let entry = try registry.entry(named: "erm")
        XCTAssertEqual(entry.pluginPath, folder + "/libErm.so")
        // The type came out of dlopen; these casts use the host's protocol descriptors.
        XCTAssertTrue((entry.type as Any.Type) is any InLoopMethod.Type)
        XCTAssertFalse((entry.type as Any.Type) is any LoopOwningMethod.Type)
        XCTAssertFalse(registry.skipped.contains { $0.path.hasSuffix("libErm.so") }, "\(registry.skipped)")
        XCTAssertTrue(registry.searchPath.contains(folder))
        let instance = try entry.type.init(options: try OptionValues(specs: entry.descriptor.options, owner: "erm"))
        XCTAssertTrue(instance is TrainerCallback)
    }

    /// The plugin links libTrainingLab.so and defines none of its symbols: one copy of the core per process.
    func testPluginHasNoPrivateCopyOfTheCore() throws {
        let plugin = try buildFolder() + "/libErm.so"
        let needed = try shell(["readelf", "-d", plugin]).out
        XCTAssertTrue(needed.contains("[libTrainingLab.so]"), needed)
        let defined = try shell(["nm", "-D", "--defined-only", plugin]).out.split(separator: "\n").map(String.init)
        XCTAssertFalse(defined.isEmpty)
        // Swift symbols of module TrainingLab start with $s11TrainingLab; C core symbols with tl_.
        let coreSymbols = defined.filter { ($0.contains(" tl_") && !$0.contains("tl_plugin_")) || $0.contains(" $s11TrainingLab") }
        XCTAssertEqual(coreSymbols, [], "the plugin defines core symbols itself")
        XCTAssertTrue(defined.contains { $0.hasSuffix(" tl_plugin_handshake") })
        XCTAssertTrue(defined.contains { $0.hasSuffix(" tl_plugin_entry") })
    }

    /// Libraries the test builds itself: none stops discovery, each is reported with the reason.
    func testMalformedLibrariesAreSkippedWithReasons() throws {
        _ = try buildFolder()
        let dir = TemporaryDirectory()
        let fingerprint = PluginHandshake.fingerprint
        func compile(_ name: String, _ source: String) throws {
            let c = dir.path + "/\(name).c"
            try source.write(toFile: c, atomically: true, encoding: .utf8)
            let result = try shell(["cc", "-shared", "-fPIC", "-o", dir.path + "/lib\(name).so", c])
            XCTAssertEqual(result.status, 0, result.err)
        }
        let handshake = { (abi: Int, print: String) in
            "#include <stdio.h>\nint tl_plugin_handshake(char *b, int n) { snprintf(b, n, \"%s\", \"\(print)\"); return \(abi); }\n"
        }
        try compile("notaplugin", "int something(void) { return 1; }\n")
        try compile("wrongabi", handshake(999, fingerprint) + "void *tl_plugin_entry(void) { return 0; }\n")
        try compile("otherbuild", handshake(Int(TL_PLUGIN_ABI_VERSION), "traininglab-0.0.1 swift-5.9") + "void *tl_plugin_entry(void) { return 0; }\n")
        try compile("noentry", handshake(Int(TL_PLUGIN_ABI_VERSION), fingerprint))
        try compile("nullentry", handshake(Int(TL_PLUGIN_ABI_VERSION), fingerprint) + "void *tl_plugin_entry(void) { return 0; }\n")
        try compile("unresolved", "int tl_missing_function(void);\nint tl_plugin_handshake(char *b, int n) { return tl_missing_function(); }\n")
        dir.write("libgarbage.so", Array("this is not an ELF file".utf8))

        let registry = try PluginRegistry(pluginPaths: [dir.path], environment: [:])
        XCTAssertNoThrow(try registry.entry(named: "erm"), "discovery goes on after bad files")
        func reason(_ name: String) -> String {
            registry.skipped.first { $0.path == dir.path + "/lib\(name).so" }?.reason ?? "(not reported)"
        }
        XCTAssertTrue(reason("notaplugin").contains("no symbol tl_plugin_handshake"), reason("notaplugin"))
        XCTAssertTrue(reason("wrongabi").contains("tl_plugin_handshake reports 999"), reason("wrongabi"))
        XCTAssertTrue(reason("wrongabi").contains("has \(TL_PLUGIN_ABI_VERSION)"), reason("wrongabi"))
        XCTAssertTrue(reason("otherbuild").contains("'traininglab-0.0.1 swift-5.9'") && reason("otherbuild").contains(fingerprint), reason("otherbuild"))
        XCTAssertTrue(reason("noentry").contains("entry symbol tl_plugin_entry is missing"), reason("noentry"))
        XCTAssertTrue(reason("nullentry").contains("returned NULL"), reason("nullentry"))
        XCTAssertTrue(reason("unresolved").contains("undefined symbol: tl_missing_function"), reason("unresolved"))
        XCTAssertTrue(reason("garbage").contains("cannot be loaded"), reason("garbage"))
    }

    func testTwoPluginsWithOneMethodNameAreAnError() throws {
        let folder = try buildFolder()
        let dir = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: folder + "/libErm.so", toPath: dir.path + "/libErmCopy.so")
        XCTAssertThrowsError(try PluginRegistry(pluginPaths: [dir.path], environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("two plugins provide the method 'erm'"), "\(error)")
            XCTAssertTrue("\(error)".contains("libErmCopy.so"), "\(error)")
        }
    }

    func testSearchOrderAndShadowing() throws {
        let folder = try buildFolder()
        let first = TemporaryDirectory(), second = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: folder + "/libErm.so", toPath: second.path + "/libErm.so")
        let registry = try PluginRegistry(pluginPaths: [first.path], environment: ["TRAININGLAB_PLUGIN_PATH": second.path])
        XCTAssertEqual(Array(registry.searchPath.prefix(3)), [first.path, second.path, folder].map {
            URL(fileURLWithPath: $0).resolvingSymlinksInPath().path
        })
        // The environment's copy comes first; the build folder's library of the same file name is shadowed.
        XCTAssertTrue(try registry.entry(named: "erm").pluginPath.hasPrefix(URL(fileURLWithPath: second.path).resolvingSymlinksInPath().path))
        XCTAssertTrue(registry.skipped.contains { $0.path == folder + "/libErm.so" && $0.reason.contains("shadowed") })
    }

    /// Every OpenMP runtime entry the core calls exists in the libomp it links (clang 21 can emit calls
    /// that Debian's libomp 14 lacks; they would only fail when first reached).
    func testCoreLibraryResolvesEveryOpenMPSymbol() throws {
        let core = try buildFolder() + "/libTrainingLab.so"
        let undefined = try shell(["nm", "-D", "--undefined-only", core]).out.split(separator: "\n")
            .compactMap { $0.split(separator: " ").last?.split(separator: "@").first.map(String.init) }.filter { $0.hasPrefix("__kmpc") || $0.hasPrefix("omp_") }
        XCTAssertFalse(undefined.isEmpty)
        let ldd = try shell(["ldd", core]).out
        guard let omp = ldd.split(separator: "\n").first(where: { $0.contains("libomp") })?.split(separator: " ").dropFirst(2).first else {
            return XCTFail("libTrainingLab.so does not link libomp: \(ldd)")
        }
        let provided = Set(try shell(["nm", "-D", "--defined-only", String(omp)]).out.split(separator: "\n").compactMap { $0.split(separator: " ").last?.split(separator: "@").first.map(String.init) })
        XCTAssertEqual(undefined.filter { !provided.contains($0) }, [], "missing from \(omp)")
    }

    func testUnknownMethodListsTheAvailableOnes() throws {
        _ = try buildFolder()
        let registry = try PluginRegistry(environment: [:])
        XCTAssertThrowsError(try registry.entry(named: "infobach")) { XCTAssertTrue("\($0)".contains("available: ") && "\($0)".contains("erm")) }
    }
}
