import Foundation
import PostgresClient
import Testing
import TestSupport

/// Issue 16, as a new user meets it: their own schema (orders, order lines,
/// inventory with foreign keys), their own PostgreSQL over TCP with a
/// password and the default `deadlock_timeout` of 1 s, `--dsn`, many
/// clients on a few hot rows. However a run ends, the `committed` lockstorm
/// reports must be exactly the number of orders in the database: every
/// committed transaction inserts one row in `orders`, and nothing else does.
@Suite("committed reconciles with the rows in the database (the binary, a user's server)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ReconcileTests {
    static let workload = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/orders-reconcile.yaml").path

    /// What a finished run reported and what the database holds.
    struct Outcome {
        var status: Int32?
        var standardOutput: String
        var standardError: String
        /// The total row of summary.csv.
        var total: [String: String]
        var committed: Int64
        /// `committed` of the total row in the `--format json` summary on stdout.
        var jsonCommitted: Int64?
        var orders: Int64
        var record: [String: Any]

        func count(_ column: String) -> Int64 { total[column].flatMap { Int64($0) } ?? -1 }

        /// One line for the log and for failure messages.
        var line: String { "committed \(committed), orders \(orders), exit \(status.map(String.init) ?? "none")" }
    }

    /// A private scratch directory for the result folders.
    private func scratch() throws -> String {
        let path = "/tmp/lst-rec-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts `lockstorm run` on the fixture against `server`, as a user types it.
    private func start(_ server: UserServer, out: String, _ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(LockstormBinary.path, [
            "run", Self.workload, "--dsn", server.dsn, "--out", out, "--keep-data", "--format", "json",
        ] + arguments)
    }

    /// Waits until the load is under way: the run has started and sessions
    /// queue on the hot inventory rows (so a stop now finds them blocked).
    private func waitUntilContended(_ child: ChildProcess, _ server: UserServer) throws {
        let running = child.waitUntil(timeout: 60) { child.standardError.contains("running orders-reconcile") }
        try #require(running, "the run did not start: \(child.standardError)")
        let contended = try eventually(timeout: 30) {
            try server.integer("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") >= 4
        }
        try #require(contended, "no sessions waited on locks: \(child.standardError)")
        usleep(1_500_000)
    }

    /// Waits for the run to end, then reads its summary and counts the orders.
    private func finish(_ child: ChildProcess, _ server: UserServer, out: String, label: String) throws -> Outcome {
        let status = child.wait(timeout: 120)
        let standardOutput = child.standardOutput
        let standardError = child.standardError
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        try #require(runs.count == 1, "expected one result directory in \(out), found \(runs); exit \(String(describing: status)), stderr: \(standardError)")
        let directory = "\(out)/\(runs[0])"
        let csv = try String(contentsOfFile: directory + "/summary.csv", encoding: .utf8)
        let total = try #require(CSVOracle.records(csv).first { $0["transaction"] == "total" }, "no total row in summary.csv:\n\(csv)")
        let committed = try #require(total["committed"].flatMap { Int64($0) }, "no committed column in summary.csv:\n\(csv)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/run.json"))) as? [String: Any] ?? [:]
        var jsonCommitted: Int64?
        if let document = try? JSONSerialization.jsonObject(with: Data(standardOutput.utf8)) as? [String: Any],
           let rows = (document["runs"] as? [[String: Any]])?.first?["summary"] as? [[String: Any]],
           let row = rows.first(where: { $0["transaction"] as? String == "total" }) {
            jsonCommitted = (row["committed"] as? NSNumber)?.int64Value
        }
        let orders = try server.integer("SELECT count(*) FROM orders")
        let outcome = Outcome(
            status: status, standardOutput: standardOutput, standardError: standardError, total: total,
            committed: committed, jsonCommitted: jsonCommitted, orders: orders, record: record
        )
        // The numbers themselves, for the issue: how far apart they are when they disagree.
        FileHandle.standardError.write(Data("reconcile \(label): \(outcome.line), attempts \(outcome.count("attempts")), failed \(outcome.count("failed")), retries \(outcome.count("retries"))\n".utf8))
        return outcome
    }

    /// The checks every case makes: the summaries agree, they match the
    /// database, the data is consistent, and the password was never shown.
    private func expectReconciled(_ outcome: Outcome, _ server: UserServer, out: String) throws {
        #expect(outcome.jsonCommitted == outcome.committed, "the JSON summary on stdout says \(String(describing: outcome.jsonCommitted)), summary.csv \(outcome.committed)")
        // Not vacuous: clients ran attempts. (On a loaded machine a 3 s run
        // spent in 1 s deadlock waits may commit nothing at all: the equality
        // below is what the bug broke, as orders > committed.)
        #expect(outcome.count("attempts") > 0, "no attempt was made: \(outcome.standardError)")
        #expect(outcome.committed == outcome.orders, "lockstorm counted \(outcome.committed) committed transactions, the database holds \(outcome.orders) orders (\(outcome.orders - outcome.committed) more); stderr: \(outcome.standardError.suffix(1_500))")
        #expect(try server.integer("SELECT count(*) FROM order_items") == 2 * outcome.orders)
        expectPasswordHidden(server.password, outcome, out: out)
    }

    /// The password appears nowhere a user or a CI log would see it.
    private func expectPasswordHidden(_ password: String, _ outcome: Outcome, out: String) {
        #expect(!outcome.standardOutput.contains(password), "the password is on stdout")
        #expect(!outcome.standardError.contains(password), "the password is on stderr")
        let files = FileManager.default.enumerator(atPath: out)?.compactMap { $0 as? String } ?? []
        #expect(!files.isEmpty)
        for file in files {
            guard let data = FileManager.default.contents(atPath: "\(out)/\(file)") else { continue }
            #expect(!String(decoding: data, as: UTF8.self).contains(password), "the password is in \(file)")
        }
    }

    @Test("the server is the user's: TCP, a password required, deadlock_timeout 1 s, no superuser")
    func serverIsUserLike() throws {
        try UserServer.with { server in
            let connection = try server.connect()
            #expect(try connection.execute("SHOW deadlock_timeout").scalar == "1s")
            #expect(try connection.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar == "f")
            #expect(try connection.execute("SELECT inet_server_addr()::text").scalar == "127.0.0.1/32")
            #expect(throws: PostgresError.self) { try PostgresConnection(dsn: ConnectionString(server.dsnWithoutPassword)) }
        }
    }

    @Test("-T ends the run while sessions wait behind deadlock_timeout: committed == orders")
    func deadlineWithBlockedSessions() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try start(server, out: out, ["-c", "32", "-T", "3"])
            let outcome = try finish(child, server, out: out, label: "-T 3, 32 clients")
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            try expectReconciled(outcome, server, out: out)
        }
    }

    @Test("SIGINT mid-run exits 130: committed == orders")
    func interrupt() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try start(server, out: out, ["-c", "32", "-T", "60"])
            try waitUntilContended(child, server)
            child.signal(SIGINT)
            let outcome = try finish(child, server, out: out, label: "SIGINT, 32 clients")
            #expect(outcome.status == 130, "stderr: \(outcome.standardError)")
            #expect(outcome.record["partial"] as? Bool == true)
            try expectReconciled(outcome, server, out: out)
        }
    }

    @Test("SIGTERM mid-run exits 143: committed == orders")
    func terminate() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try start(server, out: out, ["-c", "32", "-T", "60"])
            try waitUntilContended(child, server)
            child.signal(SIGTERM)
            let outcome = try finish(child, server, out: out, label: "SIGTERM, 32 clients")
            #expect(outcome.status == 143, "stderr: \(outcome.standardError)")
            #expect(outcome.record["partial"] as? Bool == true)
            try expectReconciled(outcome, server, out: out)
        }
    }

    @Test("-t N: committed == orders, and committed plus abandoned == clients × N")
    func transactionCount() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let clients: Int64 = 8
        let perClient: Int64 = 2
        try UserServer.with { server in
            let child = try start(server, out: out, ["-c", String(clients), "-t", String(perClient)])
            let outcome = try finish(child, server, out: out, label: "-t \(perClient), \(clients) clients")
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            try expectReconciled(outcome, server, out: out)
            // failed and retries count attempts: the failed attempts not retried are abandoned transactions.
            let abandoned = outcome.count("failed") - outcome.count("retries")
            #expect(outcome.committed + abandoned == clients * perClient, "committed \(outcome.committed), abandoned \(abandoned): \(outcome.total)")
        }
    }

    @Test("a server restart mid-run (pg_ctl restart -m fast), survived by reconnecting: committed == orders")
    func serverRestart() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            // 10 s: under load a 6 s run ended before any order after the restart committed.
            let child = try start(server, out: out, ["-c", "32", "-T", "10", "--reconnect-timeout", "60s"])
            try waitUntilContended(child, server)
            let ordersBefore = try server.integer("SELECT count(*) FROM orders")
            try server.restart()
            let outcome = try finish(child, server, out: out, label: "pg_ctl restart, 32 clients")
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            let connections = outcome.record["connections"] as? [String: Any]
            #expect((connections?["lost"] as? Int ?? 0) > 0, "run.json: \(String(describing: connections))")
            #expect((connections?["reconnected"] as? Int ?? 0) > 0, "run.json: \(String(describing: connections))")
            if outcome.orders == 0 {
                // Seen once in CI (PostgreSQL 18 matrix): 32 clients deadlocking on the
                // inventory with deadlock_timeout 1 s committed nothing in the whole run,
                // before or after the restart. Counting still reconciles (checked below).
                withKnownIssue("no order at all in 10 s on a loaded machine", isIntermittent: true) {
                    #expect(outcome.orders > ordersBefore, "no order was placed after the restart")
                }
            } else {
                #expect(outcome.orders > ordersBefore, "no order was placed after the restart")
            }
            try expectReconciled(outcome, server, out: out)
        }
    }
}
