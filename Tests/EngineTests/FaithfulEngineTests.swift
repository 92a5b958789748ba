import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// The engine produces the load asked for and survives what servers do.
@Suite("Faithful engine on a real server", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct FaithfulEngineTests {
    private func transfers(_ variant: String, accounts: Int) throws -> RunPlan {
        let workload = try WorkloadParser.parse(try TestServer.workloadText("transfers.yaml"), file: "transfers.yaml")
        return try workload.plan(variant: variant, overrides: [("accounts", .int(Int64(accounts)))])
    }

    /// One row updated per transaction: the table counts what really ran.
    private let counterWorkload = """
        name: counter
        setup: |
          CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL);
          INSERT INTO counter VALUES (1, 0);
        teardown: DROP TABLE IF EXISTS counter;
        transactions:
          bump:
            steps: [UPDATE counter SET n = n + 1 WHERE id = 1]
        """

    @Test("-R schedules exactly rate × duration starts and reports their lag")
    func openLoopSchedulesByConstruction() throws {
        try TestServer.with { server in
            var options = LoadOptions(clients: 4, threads: 2, durationSeconds: 2, seed: 11)
            options.rate = 150
            let outcome = try LoadRunner.run(plan: try transfers("ordered", accounts: 1_000), dsn: server.dsn, options: options, stop: StopSignal())
            let schedule = outcome.summary.stats.schedule
            #expect(schedule.scheduled == 300)
            let started = schedule.scheduled - schedule.skipped - schedule.unstarted
            #expect(schedule.lag.totalCount == UInt64(started))
            #expect(outcome.summary.stats.total.attempts == started)
            #expect(started >= 280)
        }
    }

    @Test("warmup transactions run but are absent from the counts")
    func warmupIsNotCounted() throws {
        try TestServer.with { server in
            var options = LoadOptions(clients: 2, threads: 2, transactionsPerClient: 10, seed: 3)
            options.warmupSeconds = 1
            options.runTeardown = false
            let plan = try WorkloadParser.parse(counterWorkload, file: "counter.yaml").plan()
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.summary.stats.total.committed == 20)
            #expect(outcome.timeseries.map(\.committed).reduce(0, +) == 20)
            let ran = try PostgresConnection(dsn: server.dsn).execute("SELECT n FROM counter").int(0, 0) ?? 0
            #expect(ran > 40, "warmup ran \(ran - 20) transactions")
        }
    }

    @Test("a terminated backend is counted as a connection error and its client reconnects and carries on")
    func terminatedBackendReconnects() throws {
        try TestServer.with { server in
            let plan = try transfers("ordered", accounts: 1_000)
            let dsn = server.dsn
            // The run's own client sessions are tagged lockstorm-<our pid>.
            let tag = "lockstorm-\(getpid())"
            let killer = Thread {
                usleep(1_200_000)
                _ = try? PostgresConnection(dsn: dsn).execute("""
                    SELECT pg_terminate_backend(pid) FROM (SELECT pid FROM pg_stat_activity
                    WHERE application_name = $1 ORDER BY pid LIMIT 2) s
                    """, [tag])
            }
            killer.start()
            let options = LoadOptions(clients: 4, threads: 2, durationSeconds: 3, seed: 5)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.lostConnections == 2)
            #expect(outcome.reconnects == 2)
            #expect(outcome.summary.stats.total.count(.connection) == 2)
            #expect(outcome.serverLost == false)
            #expect(outcome.summary.partial == false)
            // The run went on after the terminations.
            #expect((outcome.timeseries.last?.committed ?? 0) > 0)
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }

    @Test("a server restart mid-run: every client reconnects, the run goes on and is not lost")
    func serverRestartReconnects() throws {
        try TestServer.with { server in
            let plan = try transfers("ordered", accounts: 1_000)
            let restarter = Thread {
                usleep(1_500_000)
                try? server.restart()
            }
            restarter.start()
            let options = LoadOptions(clients: 4, threads: 2, durationSeconds: 5, seed: 9)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.serverLost == false)
            #expect(outcome.lostConnections >= 4)
            #expect(outcome.reconnects == outcome.lostConnections)
            #expect(outcome.summary.stats.total.count(.connection) == outcome.lostConnections)
            #expect((outcome.timeseries.last?.committed ?? 0) > 0)
            #expect(outcome.summary.invariants.count == 1 && outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }

    @Test("a server that stays down ends the run as lost within the reconnect limit, keeping what was measured")
    func unreachableServerEndsTheRun() throws {
        let server = try EmbeddedServer.start(EmbeddedServerOptions(maxConnections: 30))
        defer { server.stop() }
        let plan = try transfers("ordered", accounts: 1_000)
        let stopper = Thread {
            usleep(1_000_000)
            server.stop()
        }
        stopper.start()
        var options = LoadOptions(clients: 4, threads: 2, durationSeconds: 60, seed: 5)
        options.reconnectTimeoutSeconds = 1
        let started = Date()
        let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(outcome.serverLost)
        #expect(outcome.summary.partial)
        #expect(outcome.summary.stats.total.committed > 0)
        #expect(outcome.summary.stats.total.count(.connection) >= 1)
    }

    @Test("1,000 clients from one process complete and conserve money")
    func thousandClients() throws {
        ResourceUsage.raiseOpenFileLimit()
        try TestServer.with(maxConnections: 1_020) { server in
            var options = LoadOptions(clients: 1_000, threads: 2, durationSeconds: 3, seed: 8)
            options.connectTimeoutSeconds = 60
            let outcome = try LoadRunner.run(plan: try transfers("ordered", accounts: 5_000), dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.summary.clients == 1_000)
            #expect(outcome.summary.stats.total.committed > 1_000)
            #expect(outcome.summary.stats.total.failed == 0)
            #expect(outcome.summary.invariants.count == 1)
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }
}
