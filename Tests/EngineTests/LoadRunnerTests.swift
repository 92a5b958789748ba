import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

@Suite("Load runs on a real server", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct LoadRunnerTests {
    private func transfers(_ variant: String, accounts: Int = 10) throws -> RunPlan {
        let workload = try WorkloadParser.parse(try TestServer.workloadText("transfers.yaml"), file: "transfers.yaml")
        return try workload.plan(variant: variant, overrides: [("accounts", .int(Int64(accounts)))])
    }

    @Test("unordered transfers deadlock under contention and still conserve money")
    func unorderedDeadlocks() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let plan = try transfers("unordered")
            let options = LoadOptions(clients: 16, threads: 2, durationSeconds: 3, seed: 42)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            let total = outcome.summary.stats.total
            #expect(total.count(.deadlock) > 0)
            #expect(outcome.summary.stats.errors["40P01"]?.sampleMessage == "deadlock detected")
            #expect(total.committed > 0)
            #expect(total.attempts == total.committed + total.failed)
            #expect(ErrorClass.allCases.map(total.count).reduce(0, +) == total.failed)
            #expect(outcome.summary.invariants.count == 1)
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
            #expect(outcome.summary.invariants.first?.actual == "10000")
            #expect(outcome.summary.partial == false)
        }
    }

    @Test("ordered transfers never deadlock and conserve money")
    func orderedNeverDeadlocks() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let plan = try transfers("ordered")
            let options = LoadOptions(clients: 16, threads: 2, durationSeconds: 3, seed: 42)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            let total = outcome.summary.stats.total
            #expect(total.count(.deadlock) == 0)
            #expect(total.failed == 0)
            #expect(total.committed > 100)
            #expect(total.latency.totalCount == UInt64(total.committed))
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }

    @Test("advisory transfers (per-account advisory locks in id order) never deadlock and conserve money")
    func advisoryNeverDeadlocks() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let options = LoadOptions(clients: 16, threads: 2, durationSeconds: 3, seed: 42)
            let outcome = try LoadRunner.run(plan: try transfers("advisory"), dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.summary.stats.total.count(.deadlock) == 0)
            #expect(outcome.summary.stats.total.committed > 100)
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }

    @Test("retried transfers still deadlock, but the retries rescue nearly every transfer")
    func retryRescuesDeadlocks() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let options = LoadOptions(clients: 16, threads: 2, durationSeconds: 3, seed: 42)
            let outcome = try LoadRunner.run(plan: try transfers("retry"), dsn: server.dsn, options: options, stop: StopSignal())
            let total = outcome.summary.stats.total
            #expect(total.count(.deadlock) > 0)
            #expect(total.retries > 0)
            #expect(total.failed == total.count(.deadlock))
            #expect(total.attempts == total.committed + total.failed)
            // A transfer gives up only after 10 attempts or when the run ends mid-backoff.
            #expect(total.abandoned <= 16, "abandoned \(total.abandoned)")
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }

    @Test("-t runs exactly that many transactions per client")
    func transactionCountPerClient() throws {
        try TestServer.with { server in
            let plan = try transfers("ordered", accounts: 1000)
            let options = LoadOptions(clients: 5, threads: 2, transactionsPerClient: 40, seed: 7)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.summary.stats.total.committed == 200)
            #expect(outcome.summary.stats.total.attempts == 200)
        }
    }

    @Test("a stop request ends the run early, marked partial, with every lock released")
    func stopEndsRunPartial() throws {
        try TestServer.with { server in
            let plan = try transfers("unordered")
            let stop = StopSignal()
            let timer = Thread { usleep(700_000); stop.set() }
            timer.start()
            let started = Date()
            let options = LoadOptions(clients: 8, threads: 2, durationSeconds: 60, seed: 1)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: stop)
            #expect(Date().timeIntervalSince(started) < 30)
            #expect(outcome.summary.partial)
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
            let check = try PostgresConnection(dsn: server.dsn)
            let held = try check.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name LIKE 'lockstorm-%' AND a.application_name <> 'lockstorm-admin'").scalar
            #expect(held == "0")
        }
    }

    @Test("a failing setup statement is a setup error that names the statement")
    func setupFailure() throws {
        try TestServer.with { server in
            let text = """
                name: broken
                setup: |
                  CREATE TABLE a (id int);
                  CREATE TABLE a (id int);
                transactions:
                  t:
                    steps: [SELECT 1]
                """
            let plan = try WorkloadParser.parse(text, file: "broken.yaml").plan()
            let error = #expect(throws: RunError.self) {
                try LoadRunner.run(plan: plan, dsn: server.dsn, options: LoadOptions(clients: 1, threads: 1, transactionsPerClient: 1, seed: 1), stop: StopSignal())
            }
            #expect(error?.kind == .setup)
            #expect(error?.message.contains("setup statement 2 failed") == true)
            #expect(error?.message.contains("relation \"a\" already exists") == true)
        }
    }

    @Test("the same seed gives the same draws: two runs of -t on one client commit identical balances")
    func seedReproducesRun() throws {
        try TestServer.with { server in
            let plan = try transfers("ordered", accounts: 50)
            var balances: [[[String?]]] = []
            for _ in 0..<2 {
                var options = LoadOptions(clients: 1, threads: 1, transactionsPerClient: 30, seed: 99)
                options.runTeardown = false
                _ = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
                let connection = try PostgresConnection(dsn: server.dsn)
                balances.append(try connection.execute("SELECT id, balance FROM accounts ORDER BY id").rows)
            }
            #expect(balances[0] == balances[1])
            #expect(balances[0].contains { $0[1] != "1000" })
        }
    }

    @Test("BEGIN sent with the first statement or on its own: the same seed commits the same balances")
    func combinedBeginRunsTheSameStatements() throws {
        try TestServer.with { server in
            let plan = try transfers("ordered", accounts: 50)
            var balances: [[[String?]]] = []
            for combine in [true, false] {
                var options = LoadOptions(clients: 1, threads: 1, transactionsPerClient: 30, seed: 99)
                options.runTeardown = false
                options.combineBegin = combine
                let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
                #expect(outcome.summary.stats.total.committed == 30)
                let connection = try PostgresConnection(dsn: server.dsn)
                balances.append(try connection.execute("SELECT id, balance FROM accounts ORDER BY id").rows)
            }
            #expect(balances[0] == balances[1])
            #expect(balances[0].contains { $0[1] != "1000" })
        }
    }

    @Test("with BEGIN in a round trip of its own, unordered transfers still deadlock and conserve money")
    func separateBeginStillDeadlocks() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let plan = try transfers("unordered")
            var options = LoadOptions(clients: 16, threads: 2, durationSeconds: 2, seed: 42)
            options.combineBegin = false
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            let total = outcome.summary.stats.total
            #expect(total.count(.deadlock) > 0)
            #expect(total.attempts == total.committed + total.failed)
            #expect(outcome.summary.invariants.allSatisfy { $0.passed })
        }
    }
}
