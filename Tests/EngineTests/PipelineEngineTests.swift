import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// `pipeline: true` against a real server: whole transactions in one round
/// trip, all-or-nothing when a statement in the middle fails.
@Suite("Pipelined transactions on a real server", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct PipelineEngineTests {
    /// `fail_every`: the middle step divides by zero when the draw is a multiple of it.
    /// (Also run under `-M prepared` by `ProtocolModeEngineTests`.)
    static func workload(failEvery: Int) -> String {
        """
        name: pipelined
        params:
          fail_every: \(failEvery)
        setup: |
          CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL);
          INSERT INTO counter VALUES (1, 0), (2, 0);
        teardown: DROP TABLE IF EXISTS counter;
        transactions:
          bump:
            pipeline: true
            settings:
              lock_timeout: 5s
            let:
              k: uniform(1, 1000)
            steps:
              - UPDATE counter SET n = n + 1 WHERE id = 1
              - SELECT 1 / (:k::int % :fail_every::int)
              - UPDATE counter SET n = n + 1 WHERE id = 2
        """
    }

    private func counts(_ server: EmbeddedServer) throws -> (Int64, Int64) {
        let connection = try PostgresConnection(dsn: server.dsn)
        let first = try connection.execute("SELECT n FROM counter WHERE id = 1").int(0, 0) ?? -1
        let second = try connection.execute("SELECT n FROM counter WHERE id = 2").int(0, 0) ?? -1
        return (first, second)
    }

    @Test("every pipelined transaction commits once, and the table counts exactly those")
    func pipelinedTransactionsCommit() throws {
        try TestServer.with { server in
            var options = LoadOptions(clients: 4, threads: 2, transactionsPerClient: 50, seed: 5)
            options.runTeardown = false
            let plan = try WorkloadParser.parse(Self.workload(failEvery: 1_000_000), file: "p.yaml").plan()
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.summary.stats.total.committed == 200)
            #expect(outcome.summary.stats.total.failed == 0)
            let (first, second) = try counts(server)
            #expect(first == 200)
            #expect(second == 200)
        }
    }

    @Test("a statement failing mid-pipeline aborts the rest, rolls the attempt back, and the client goes on")
    func failureMidPipelineRollsBack() throws {
        try TestServer.with { server in
            var options = LoadOptions(clients: 3, threads: 2, transactionsPerClient: 60, seed: 9)
            options.runTeardown = false
            // Every third draw on average divides by zero.
            let plan = try WorkloadParser.parse(Self.workload(failEvery: 3), file: "p.yaml").plan()
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            let total = outcome.summary.stats.total
            #expect(total.attempts == 180)
            #expect(total.failed > 20)
            #expect(total.committed > 60)
            #expect(total.count(.connection) == 0)
            #expect(outcome.summary.stats.errors["22012"]?.count == total.failed)
            // Nothing of a failed attempt stayed: both counters saw only the commits.
            let (first, second) = try counts(server)
            #expect(first == Int64(total.committed))
            #expect(second == Int64(total.committed))
        }
    }
}
