import Foundation
import Testing
import TestSupport

/// Issues 18 and 20, as a user meets them on their own server (`--dsn`):
/// a signal decides the exit status whatever the run is doing when it comes
/// (130 for SIGINT, 143 for SIGTERM), and the results gathered so far are
/// written, after a second Ctrl-C too.
@Suite("signals end a run with 130/143 and its results, whatever its phase (the binary, a user's server)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct SignalFaultTests {
    let transfers = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path

    private func scratch() throws -> String {
        let path = "/tmp/lst-sig-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The one result folder under `out`: its run.json and whether summary.csv is there.
    private func results(_ out: String, _ child: ChildProcess) throws -> (record: [String: Any], summary: Bool) {
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        try #require(runs.count == 1, "expected one result folder in \(out), found \(runs); stderr: \(child.standardError)")
        let directory = "\(out)/\(runs[0])"
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/run.json"))
        let record = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return (record, FileManager.default.fileExists(atPath: directory + "/summary.csv"))
    }

    /// Runs transfers on a user's server, kills the server (immediate
    /// shutdown, kept down) while the load runs, lets the clients try to
    /// reconnect, then sends `signal`.
    private func signalWhileReconnecting(_ signal: Int32) throws -> (status: Int32?, child: ChildProcess, out: String) {
        let tmp = try scratch()
        let out = tmp + "/results"
        let child = try UserServer.with { server -> ChildProcess in
            let child = try ChildProcess(LockstormBinary.path, [
                "run", transfers, "--variant", "ordered", "--dsn", server.dsn, "-c", "4", "-T", "120", "--reconnect-timeout", "120s", "--out", out,
            ])
            let running = child.waitUntil(timeout: 60) { child.standardError.contains("running transfers/ordered") }
            try #require(running, "the run did not start: \(child.standardError)")
            usleep(1_000_000)
            return child
        }
        // UserServer.with stopped the server (immediate shutdown) and deleted it: the clients now reconnect to nothing.
        usleep(1_500_000)
        try #require(child.wait(timeout: 0) == nil, "the run ended by itself: \(child.standardError)")
        child.signal(signal)
        let status = child.wait(timeout: 60)
        return (status, child, out)
    }

    @Test("SIGINT while clients reconnect to a killed server exits 130 and writes the results")
    func interruptWhileReconnecting() throws {
        let (status, child, out) = try signalWhileReconnecting(SIGINT)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: out).deletingLastPathComponent().path) }
        #expect(status == 130, "stderr: \(child.standardError)")
        let (record, summary) = try results(out, child)
        #expect(summary)
        #expect(record["partial"] as? Bool == true)
        #expect((record["connections"] as? [String: Any])?["lost"] as? Int ?? 0 > 0, "run.json: \(record)")
    }

    @Test("SIGTERM while clients reconnect to a killed server exits 143 and writes the results")
    func terminateWhileReconnecting() throws {
        let (status, child, out) = try signalWhileReconnecting(SIGTERM)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: out).deletingLastPathComponent().path) }
        #expect(status == 143, "stderr: \(child.standardError)")
        let (record, summary) = try results(out, child)
        #expect(summary)
        #expect(record["partial"] as? Bool == true)
    }

    @Test("a second Ctrl-C with --dsn stops at once, says nothing of an embedded server, and writes the results so far")
    func secondInterruptWithUserServer() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // Every attempt sleeps 60 s: after the first Ctrl-C the run waits out the grace period, so the second finds it there.
        let workload = tmp + "/sleepy.yaml"
        try """
            name: sleepy
            setup: CREATE TABLE IF NOT EXISTS naps (id int)
            teardown: DROP TABLE IF EXISTS naps
            transactions:
              nap:
                steps: [SELECT pg_sleep(60)]
            """.write(toFile: workload, atomically: true, encoding: .utf8)
        let out = tmp + "/results"
        try UserServer.with { server in
            let child = try ChildProcess(LockstormBinary.path, ["run", workload, "--dsn", server.dsn, "-c", "2", "-T", "120", "--out", out])
            let running = child.waitUntil(timeout: 60) { child.standardError.contains("running sleepy") }
            try #require(running, "the run did not start: \(child.standardError)")
            let sleeping = try eventually(timeout: 30) {
                try server.integer("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'") >= 2
            }
            try #require(sleeping, "the clients never reached pg_sleep: \(child.standardError)")
            child.signal(SIGINT)
            let first = child.waitUntil(timeout: 10) { child.standardError.contains("interrupted") }
            try #require(first, "no note after the first Ctrl-C: \(child.standardError)")
            child.signal(SIGINT)
            let status = child.wait(timeout: 60)
            #expect(status == 130, "stderr: \(child.standardError)")
            #expect(child.standardError.contains("stopping now"), "stderr: \(child.standardError)")
            #expect(!child.standardError.contains("embedded server"), "there is no embedded server with --dsn: \(child.standardError)")
            let (record, summary) = try results(out, child)
            #expect(summary)
            #expect(record["partial"] as? Bool == true)
            // The canceled sleeps ended on the server too.
            let left = try eventually(timeout: 10) {
                try server.integer("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'") == 0
            }
            #expect(left)
        }
    }
}
