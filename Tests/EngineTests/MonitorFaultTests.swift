import Engine
import Foundation
import LockstormCore
import PostgresClient
import Synchronization
import Testing
import TestSupport

@Suite("The lock-wait sampler and the during-checker survive their backends being terminated", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct MonitorFaultTests {
    /// One hot row, updated with a pause inside the transaction so clients
    /// queue on it; an invariant checked every 200 ms while the load runs.
    static let workload = """
        name: monitored
        setup: |
          CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL);
          INSERT INTO counter VALUES (1, 0);
        teardown: DROP TABLE IF EXISTS counter;
        transactions:
          bump:
            steps:
              - UPDATE counter SET n = n + 1 WHERE id = 1
              - pause: 5ms
        invariants:
          - name: never negative
            sql: SELECT n >= 0 FROM counter WHERE id = 1
            equals: true
            during: 200ms
        """

    private func run(_ server: EmbeddedServer, seconds: Double, terminateAt: [Double]) throws -> (RunOutcome, terminated: Int) {
        let plan = try WorkloadParser.parse(Self.workload, file: "monitored.yaml").plan()
        let options = LoadOptions(clients: 4, threads: 1, durationSeconds: seconds, seed: 7)
        let terminated = DispatchSemaphore(value: 0)
        let count = ManagedCount()
        let dsn = server.dsn
        let killer = Thread {
            let began = Date()
            guard let admin = try? PostgresConnection(dsn: dsn, applicationName: "test-admin") else {
                terminated.signal()
                return
            }
            for at in terminateAt {
                let wait = at - Date().timeIntervalSince(began)
                if wait > 0 { usleep(UInt32(wait * 1e6)) }
                let killed = (try? admin.execute("""
                    SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE application_name IN ('lockstorm-sampler', 'lockstorm-invariants')
                    """).scalar).flatMap(Int.init) ?? 0
                count.add(killed)
            }
            terminated.signal()
        }
        killer.start()
        let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
        terminated.wait()
        return (outcome, count.value)
    }

    @Test("terminating both monitors' backends twice mid-run: each reconnects, checks and samples go on, and any gap is counted")
    func monitorsReconnectAfterTermination() throws {
        try TestServer.with { server in
            let seconds = 6.0
            let (outcome, terminated) = try run(server, seconds: seconds, terminateAt: [2, 4])
            #expect(terminated == 4)
            let during = try #require(outcome.summary.invariants.first?.during)
            // As many checks as a run without faults (one per 200 ms), give or
            // take one interval, and every check missed is counted as such.
            let expected = Int(seconds / 0.2)
            #expect(during.reconnects == 2)
            #expect(abs(during.due - expected) <= 2)
            #expect(during.checks >= expected - 2)
            #expect(during.checks == during.due || !during.coverage.isComplete)
            #expect(during.failures == 0)
            // The sampler too: it reconnected and went on sampling after the second fault.
            let sampling = try #require(outcome.lockSampling)
            #expect(sampling.reconnects == 2)
            #expect(sampling.made >= sampling.due - 2)
            #expect(abs(sampling.due - expected) <= 2)
            let late = outcome.timeseries.filter { $0.interval >= 5 }.compactMap(\.lockWaits)
            #expect(late.contains { $0.samples > 0 })
            #expect(outcome.samplerFailure == nil)
            print("during: \(during.description) [\(during.coverage.description)]; lock samples \(sampling.description)")
        }
    }

    @Test("a server restart mid-run: both monitors reconnect and go on; the checks missed while it was down are counted, not passed")
    func monitorsReconnectAfterRestart() throws {
        try TestServer.with { server in
            let plan = try WorkloadParser.parse(Self.workload, file: "monitored.yaml").plan()
            let restarter = Thread {
                usleep(2_000_000)
                try? server.restart()
            }
            restarter.start()
            let seconds = 6.0
            let options = LoadOptions(clients: 4, threads: 1, durationSeconds: seconds, seed: 7)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(outcome.serverLost == false)
            let during = try #require(outcome.summary.invariants.first?.during)
            let expected = Int(seconds / 0.2)
            #expect(during.reconnects >= 1)
            #expect(abs(during.due - expected) <= 2)
            // Checks went on after the restart: more than the first two seconds' worth.
            #expect(during.checks > Int(2 / 0.2) + 2)
            #expect(during.coverage.missed == during.due - during.checks)
            let sampling = try #require(outcome.lockSampling)
            #expect(sampling.reconnects >= 1)
            #expect(sampling.made > Int(2 / 0.2) + 2)
            let late = outcome.timeseries.filter { $0.interval >= 4 }.compactMap(\.lockWaits)
            #expect(late.contains { $0.samples > 0 })
            print("restart: during \(during.coverage.description); lock samples \(sampling.description)")
        }
    }
}

/// A counter shared with the terminating thread.
private final class ManagedCount: Sendable {
    private let count = Mutex(0)
    func add(_ amount: Int) { count.withLock { $0 += amount } }
    var value: Int { count.withLock { $0 } }
}
