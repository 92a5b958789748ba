import Foundation
import Testing
import TestSupport

/// The CLI as a user meets it: the built binary, real runs, exit codes, files.
@Suite("lockstorm run (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct RunCommandTests {
    let workloads = TestServer.repositoryRoot.appendingPathComponent("workloads").path

    /// A short private TMPDIR: the embedded server's directory goes inside,
    /// so the test can see that nothing is left there.
    private func scratch() throws -> String {
        let path = "/tmp/lst-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a run prints the summary, writes summary.csv, exits 0 and leaves no server or directory")
    func runWritesSummaryAndCleansUp() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let out = tmp + "/results"
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workloads + "/transfers.yaml", "--variant", "ordered", "-c", "4", "-T", "1", "--set", "accounts=20", "--out", out, "--seed", "5",
            "--separate-begin",
        ], environment: ["TMPDIR": tmp + "/server"])
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        let status = child.wait(timeout: 120)
        #expect(status == 0, "stderr: \(child.standardError)")
        let output = child.standardOutput
        #expect(output.contains("transfers / ordered: 4 clients"))
        #expect(output.contains("PASS  money is conserved: expected 20000, got 20000"))
        let runs = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        #expect(run.hasPrefix("transfers-ordered-"))
        let csv = try String(contentsOfFile: "\(out)/\(run)/summary.csv", encoding: .utf8)
        let lines = csv.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("workload,variant,transaction,clients,duration_s,attempts,committed,committed_in_grace,rolled_back,ended_early,failed,expected_errors,unexpected_errors,retries,exhausted_retries,deadlocks,lock_not_available,serialization_failures,statement_timeouts"))
        #expect(lines[2].hasPrefix("transfers,ordered,total,4,"))
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(run)/run.json"))) as? [String: Any]
        #expect(record?["begin"] as? String == "separate")
        // Nothing left: the server's directory is gone and no process mentions it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
        #expect(Processes.alive(mentioning: tmp).isEmpty)
    }

    @Test("Ctrl-C mid-run writes the results so far, exits 130 and stops the server")
    func interruptWritesPartialResults() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        let out = tmp + "/results"
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workloads + "/transfers.yaml", "--variant", "unordered", "-c", "8", "-T", "120", "--set", "accounts=10", "--out", out,
        ], environment: ["TMPDIR": tmp + "/server"])
        let running = child.waitUntil(timeout: 60) { child.standardError.contains("running transfers/unordered") }
        try #require(running, "the run did not start: \(child.standardError)")
        usleep(1_500_000)
        child.signal(SIGINT)
        let status = child.wait(timeout: 60)
        #expect(status == 130, "stderr: \(child.standardError)")
        #expect(child.standardError.contains("interrupted: finishing in-flight transactions"))
        #expect(child.standardOutput.contains("[PARTIAL: stopped early]"))
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(runs.count == 1)
        if let run = runs.first {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(run)/summary.csv"))
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(run)/run.json"))) as? [String: Any]
            #expect(record?["partial"] as? Bool == true)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
        #expect(Processes.alive(mentioning: tmp).isEmpty)
    }

    @Test("-P prints progress lines to stderr; -R reports the schedule it kept")
    func progressAndSchedule() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // 5 s: -P prints a line only for a finished interval, and a loaded machine finished just one in 3 s.
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workloads + "/transfers.yaml", "--variant", "ordered", "-c", "4", "-T", "5", "-P", "1", "-R", "100",
            "--set", "accounts=500", "--out", tmp + "/results",
        ], environment: ["TMPDIR": tmp])
        #expect(child.wait(timeout: 120) == 0, "stderr: \(child.standardError)")
        let lines = child.standardError.split(separator: "\n").filter { $0.hasPrefix("elapsed ") }
        #expect(lines.count >= 2)
        #expect(lines.first?.contains("tps ") == true && lines.first?.contains("p99 ") == true && lines.first?.contains("deadlocks 0") == true)
        #expect(child.standardOutput.contains("schedule (-R 100.0 tx/s): 500 starts scheduled"))
    }

    @Test("a second Ctrl-C stops at once and still removes the server")
    func secondInterruptStopsServerAtOnce() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workloads + "/transfers.yaml", "--variant", "unordered", "-c", "8", "-T", "120", "--out", tmp + "/results",
        ], environment: ["TMPDIR": tmp + "/server"])
        let running = child.waitUntil(timeout: 60) { child.standardError.contains("running transfers/unordered") }
        try #require(running, "the run did not start: \(child.standardError)")
        child.signal(SIGINT)
        _ = child.waitUntil(timeout: 10) { child.standardError.contains("interrupted") }
        child.signal(SIGINT)
        #expect(child.wait(timeout: 30) == 130)
        #expect(child.standardError.contains("stopping now; canceling what is in flight and writing the results so far, then removing the embedded server"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
        #expect(Processes.alive(mentioning: tmp).isEmpty)
    }

    @Test("even a SIGKILLed lockstorm leaves no server behind: the lifeline removes it")
    func killedProcessLeavesNoServer() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workloads + "/transfers.yaml", "--variant", "ordered", "-c", "4", "-T", "120", "--out", tmp + "/results",
        ], environment: ["TMPDIR": tmp + "/server"])
        let running = child.waitUntil(timeout: 60) { child.standardError.contains("running transfers/ordered") }
        try #require(running, "the run did not start: \(child.standardError)")
        #expect(!Processes.alive(mentioning: tmp + "/server").isEmpty)
        child.signal(SIGKILL)
        #expect(child.wait(timeout: 10) == 128 + SIGKILL)
        let gone = child.waitUntil(timeout: 30) {
            ((try? FileManager.default.contentsOfDirectory(atPath: tmp + "/server")) ?? []).isEmpty && Processes.alive(mentioning: tmp).isEmpty
        }
        #expect(gone, "left: \((try? FileManager.default.contentsOfDirectory(atPath: tmp + "/server")) ?? []), processes \(Processes.alive(mentioning: tmp))")
    }

    @Test("a failed invariant exits 1 and says which")
    func invariantFailureExitCode() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let workload = tmp + "/leaky.yaml"
        try """
            name: leaky
            params: { rows: 5 }
            setup: |
              CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
              INSERT INTO counter SELECT g, 0 FROM generate_series(1, :rows::int) g;
            teardown: DROP TABLE IF EXISTS counter;
            transactions:
              bump:
                steps: [UPDATE counter SET n = n + 1 WHERE id = 1]
            invariants:
              - name: nothing changed
                sql: SELECT sum(n) FROM counter
                equals: 0
            """.write(toFile: workload, atomically: true, encoding: .utf8)
        let child = try ChildProcess(LockstormBinary.path, ["run", workload, "-c", "2", "-t", "3", "--out", tmp + "/results"], environment: ["TMPDIR": tmp])
        let status = child.wait(timeout: 120)
        #expect(status == 1, "stderr: \(child.standardError)")
        #expect(child.standardOutput.contains("FAIL  nothing changed: expected 0, got 6"))
    }

    @Test("an unknown variant is a usage error (exit 2) with a suggestion, before any server starts")
    func unknownVariant() throws {
        let child = try ChildProcess(LockstormBinary.path, ["run", workloads + "/transfers.yaml", "--variant", "orderd"])
        #expect(child.wait(timeout: 30) == 2)
        #expect(child.standardError.contains("unknown variant 'orderd'; did you mean 'ordered'?"))
        #expect(!child.standardError.contains("starting an embedded PostgreSQL"))
    }

    @Test("a dead server is a run error (exit 3) that never prints the password")
    func unreachableServer() throws {
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workloads + "/transfers.yaml", "-t", "1", "--dsn", "postgresql://bob:hunter2@/x?host=/nonexistent-lockstorm&connect_timeout=2",
        ])
        #expect(child.wait(timeout: 60) == 3)
        #expect(child.standardError.contains("cannot connect to postgresql://bob:****@/x"))
        #expect(!child.standardError.contains("hunter2"))
        #expect(!child.standardOutput.contains("hunter2"))
    }

    @Test("bad flags are usage errors (exit 2)", arguments: [
        ["run", "transfers", "-c", "0"],
        ["run", "transfers", "-T", "10", "-t", "5"],
        ["run", "transfers", "--bogus"],
        ["run", "transfers", "-T", "ten"],
    ])
    func badFlags(arguments: [String]) throws {
        let child = try ChildProcess(LockstormBinary.path, arguments)
        #expect(child.wait(timeout: 30) == 2)
        #expect(!child.standardError.isEmpty)
    }
}
