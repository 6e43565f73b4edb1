import Foundation
import XCTest
import KernelTable
import TrainingLab

/// Every row of the kernel table (Sources/KernelTable): forward against the reference at each test shape,
/// backward against the reference backward and finite differences, 1 vs 2 threads bitwise, under every
/// ISA path TL_ISA selects. One test per kernel family; the hand-written files test what the table does
/// not (error messages, edge semantics, determinism stories, regressions).
final class KernelTableTests: XCTestCase {
    func testGemm() { check("gemm") }
    func testConv() { check("conv") }
    func testPool() { check("pool") }
    func testNorm() { check("norm") }
    func testAct() { check("act") }
    func testLoss() { check("loss") }
    func testOptim() { check("optim") }
    func testQuant() { check("quant") }
    func testSparse() { check("sparse") }
    func testLif() { check("lif") }
    func testAugment() { check("augment") }
    func testExplog() { check("explog") }
    func testTensor() { check("tensor") }
    func testSample() { check("sample") }
    func testLinalg() { check("linalg") }
    func testOps() { check("ops") }
    func testRng() { check("rng") }

    /// The families above are every family of the table: a row cannot be added without being tested.
    static let families: Set = ["gemm", "conv", "pool", "norm", "act", "loss", "optim", "quant", "sparse", "lif", "augment", "explog",
                                "tensor", "sample", "linalg", "ops", "rng"]

    private func check(_ family: String, file: StaticString = #filePath, line: UInt = #line) {
        let rows = KernelTable.rows.filter { $0.family == family }
        XCTAssertFalse(rows.isEmpty, "no rows in family \(family)", file: file, line: line)
        for row in rows {
            for failure in KernelChecks.run(row) { XCTFail(failure, file: file, line: line) }
        }
    }

    func testEveryFamilyHasATest() {
        XCTAssertEqual(Set(KernelTable.rows.map(\.family)), Self.families)
    }

    /// Every function declared in include/*.h is the entry point of a row or listed, with a reason, in
    /// KernelTable.leftOut: a kernel cannot be added to the core without a row.
    func testEveryCoreFunctionHasARowOrAReason() throws {
        let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("include")
        let headers = try FileManager.default.contentsOfDirectory(atPath: include.path).filter { $0.hasSuffix(".h") }
        XCTAssertGreaterThan(headers.count, 10, "no headers found in \(include.path)")
        let declaration = try NSRegularExpression(pattern: #"^[A-Za-z_][A-Za-z0-9_ \*]*\b(tl_[a-z0-9_]+)\("#, options: .anchorsMatchLines)
        var declared = Set<String>()
        for header in headers {
            let text = try String(contentsOf: include.appendingPathComponent(header), encoding: .utf8)
            for m in declaration.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.insert(String(text[Range(m.range(at: 1), in: text)!]))
            }
        }
        let entry = try NSRegularExpression(pattern: #"tl_[a-z0-9_]+"#)
        var covered = Set<String>()
        for row in KernelTable.rows {
            let text = [row.forward, row.backward ?? "", row.reference].joined(separator: " ")
            for m in entry.matches(in: text, range: NSRange(text.startIndex..., in: text)) { covered.insert(String(text[Range(m.range, in: text)!])) }
        }
        let reasons = KernelTable.leftOut.flatMap(\.functions)
        for name in declared.sorted() where !covered.contains(name) {
            XCTAssertTrue(reasons.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : $0 == name },
                          "\(name) has no row in the kernel table and no reason in KernelTable.leftOut")
        }
        for name in reasons where !name.hasSuffix("*") {
            XCTAssertTrue(declared.contains(name), "KernelTable.leftOut names \(name), which include/ does not declare")
        }
    }

    /// A row is complete: a unique name, test and bench shapes, a backward checked one way or another, and a
    /// case whose backward and reference match what the row declares.
    func testRowsAreComplete() throws {
        var names = Set<String>()
        for row in KernelTable.rows {
            XCTAssertTrue(names.insert(row.name).inserted, "two rows named \(row.name)")
            XCTAssertFalse(row.shapes.isEmpty, "\(row.name) has no test shapes")
            XCTAssertFalse(row.benchShapes.isEmpty, "\(row.name) has no bench shape")
            XCTAssertFalse(row.reference.isEmpty, "\(row.name) names no reference")
            let c = try row.make(row.shapes[0])
            XCTAssertEqual(c.hasBackward, row.backward != nil, "\(row.name): the case's backward and the row's entry point disagree")
            XCTAssertFalse(c.expectedOutputs().isEmpty, "\(row.name) has no reference")
            if row.backward != nil {
                XCTAssertTrue(row.finiteDifferences != nil || c.hasReferenceBackward,
                              "\(row.name): a backward needs finite differences or a reference backward")
                XCTAssertTrue(row.finiteDifferences != nil || !row.note.isEmpty, "\(row.name): say why there are no finite differences")
            }
            for shape in row.benchShapes { _ = row.work(shape) }
        }
    }

    /// The checks fail when a result is wrong: a forward that writes one element off its reference, a
    /// backward scaled by 1.1, and a kernel that reads a different thread count's data are each caught
    /// with the row, the element and both values in the message.
    func testChecksCatchWrongResults() throws {
        let row = KernelRow(
            name: "broken_scale", family: "test", forward: "none", backward: "none", reference: "Swift: 2 x",
            tolerance: Tolerance(abs: 1e-6, rel: 1e-6), backwardTolerance: Tolerance(abs: 1e-6, rel: 1e-6),
            finiteDifferences: FiniteDifferences(step: 1e-2, tolerance: Tolerance(abs: 1e-3, rel: 1e-2), shapes: [["n": 5]]),
            isas: ["avx2"], shapes: [["n": 5]], work: { _ in (.elements(1), nil) },
            make: { s in
                let n = s.int("n"), c = KernelCase()
                let x = c.uniform("x", n, gradient: true), y = c.output("y", n, gradient: true)
                c.forward {
                    for i in 0..<n { y.f[i] = 2 * x.f[i] + (i == 3 ? 0.5 : 0) + (tl_get_num_threads() == 1 ? 0 : 1e-3) }
                    return 0
                }
                c.backward {
                    for i in 0..<n { x.grad.f[i] = 2.2 * y.up.f[i] }
                    return 0
                }
                c.reference { ["y": x.values.map { 2 * $0 }] }
                c.referenceBackward { ["dx": y.up.values.map { 2 * $0 }] }
                return c
            })
        let failures = KernelChecks.run(row)
        XCTAssertTrue(failures.contains { $0.hasPrefix("broken_scale [n=5] isa avx2: output y:") && $0.contains("worst [3]") }, "\(failures)")
        XCTAssertTrue(failures.contains { $0.contains("gradient dx:") }, "\(failures)")
        XCTAssertTrue(failures.contains { $0.contains("finite differences of dx:") }, "\(failures)")
        XCTAssertTrue(failures.contains { $0.contains("y differs between 1 and 2 threads, first at [0]") }, "\(failures)")
    }
}
