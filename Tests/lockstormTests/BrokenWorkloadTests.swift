import Foundation
import Testing
import TestSupport

/// A workload that never worked must not be a green run: errors it does not
/// declare fail the run, and a transaction whose first attempts all fail
/// that way stops the run at once.
@Suite("Broken workloads fail (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct BrokenWorkloadTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/misspelled-table.yaml").path

    private func run(_ file: String, _ extra: [String], dsn: String) throws -> (status: Int32?, stdout: String, stderr: String, seconds: Double) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lst-broken-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let started = Date()
        let child = try ChildProcess(LockstormBinary.path, ["run", file, "-c", "4", "-T", "60", "--dsn", dsn, "--out", out, "-q"] + extra)
        let status = child.wait(timeout: 120)
        return (status, child.standardOutput, child.standardError, Date().timeIntervalSince(started))
    }

    @Test("a misspelled table stops the run long before -T, exit 3, naming 42P01, the transaction and the step")
    func misspelledTableStopsTheRun() throws {
        try TestServer.with { server in
            let result = try run(Self.fixture, [], dsn: server.dsn.raw)
            #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            // -T 60 asked for; the run stopped on its own.
            #expect(result.seconds < 30, "took \(result.seconds) s")
            #expect(result.stderr.contains("the workload is broken"), "\(result.stderr)")
            #expect(result.stderr.contains("42P01 (undefined_table)"), "\(result.stderr)")
            #expect(result.stderr.contains("transaction 'order' step 2"), "\(result.stderr)")
            #expect(result.stderr.contains("relation \"ordrs\" does not exist"), "\(result.stderr)")
            // The results so far were written and say it was cut short.
            #expect(result.stdout.contains("PARTIAL"), "\(result.stdout)")
            FileHandle.standardError.write(Data("broken workload stopped after \(String(format: "%.1f", result.seconds)) s (server already up)\n".utf8))
        }
    }

    @Test("the same error declared in expect: is an outcome: the run goes on and passes")
    func declaredErrorIsExpected() throws {
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8)
            .replacingOccurrences(of: "      - INSERT INTO ordrs (client) VALUES (:client_id)", with: "      - sql: INSERT INTO ordrs (client) VALUES (:client_id)\n        expect: [undefined_table]")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lst-declared-\(UUID().uuidString.prefix(8)).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try TestServer.with { server in
            let result = try run(file.path, ["-T", "1"], dsn: server.dsn.raw)
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            #expect(!result.stderr.contains("broken"), "\(result.stderr)")
            #expect(result.stdout.contains("42P01"), "\(result.stdout)")
        }
    }

    @Test("undeclared errors that do not stop the run still fail it (exit 1), unless allowed")
    func undeclaredErrorsFailTheRun() throws {
        // Every other attempt works: not broken, but the errors are not declared.
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8)
            .replacingOccurrences(of: "      - INSERT INTO ordrs (client) VALUES (:client_id)", with: "      - sql: INSERT INTO ordrs (client) VALUES (:client_id)\n        if: client_id % 4 == 0")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lst-mixed-\(UUID().uuidString.prefix(8)).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try TestServer.with { server in
            let failing = try run(file.path, ["-T", "1"], dsn: server.dsn.raw)
            #expect(failing.status == 1, "stdout: \(failing.stdout)\nstderr: \(failing.stderr)")
            #expect(failing.stderr.contains("errors the workload does not declare"), "\(failing.stderr)")
            #expect(failing.stderr.contains("42P01 (undefined_table)"), "\(failing.stderr)")
            #expect(failing.stderr.contains("in transaction 'order' step 2"), "\(failing.stderr)")
            let allowed = try run(file.path, ["-T", "1", "--allow-unexpected-errors"], dsn: server.dsn.raw)
            #expect(allowed.status == 0, "stdout: \(allowed.stdout)\nstderr: \(allowed.stderr)")
        }
    }
}
