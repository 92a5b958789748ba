@testable import Engine
import Foundation
import LockstormCore
import PostgresClient
import Synchronization
import Testing
import TestSupport

@Suite("The lock-wait sampler against the server's own clock", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct LockSamplerTests {
    /// Opens a connection named `applicationName` on a thread of its own,
    /// hands its PID to `opened`, runs `sql`, and hands `finished` the
    /// seconds the statement took and its error.
    private func runInBackground(
        _ dsn: ConnectionString, applicationName: String, _ sql: String,
        opened: @escaping @Sendable (String) -> Void, finished: @escaping @Sendable (Double, String?) -> Void
    ) {
        let thread = Thread {
            do {
                let connection = try PostgresConnection(dsn: dsn, applicationName: applicationName)
                opened(try connection.execute("SELECT pg_backend_pid()").scalar ?? "")
                let began = Date()
                do {
                    _ = try connection.execute(sql)
                    finished(Date().timeIntervalSince(began), nil)
                } catch {
                    finished(Date().timeIntervalSince(began), "\(error)")
                }
            } catch {
                opened("")
                finished(0, "\(error)")
            }
        }
        thread.start()
    }

    /// Polls until `condition` holds (at most 10 s).
    private func wait(until condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while try !condition() {
            guard Date() < deadline else {
                Issue.record("timed out waiting")
                return
            }
            usleep(10_000)
        }
    }

    @Test("a statement that queues behind three transactions in turn is seen waiting the whole time, not only for its current lock")
    func statementWaitSpansEveryLock() throws {
        try TestServer.with { server in
            let admin = try PostgresConnection(dsn: server.dsn, applicationName: "test-admin")
            _ = try admin.executeScript("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL); INSERT INTO t VALUES (1, 0), (2, 0), (3, 0);")
            // Three holders, one row each; the waiter's UPDATE needs all three.
            let holders = try (1...3).map { _ in try PostgresConnection(dsn: server.dsn, applicationName: "test-holder") }
            for (index, holder) in holders.enumerated() {
                _ = try holder.execute("BEGIN")
                _ = try holder.execute("SELECT 1 FROM t WHERE id = $1 FOR UPDATE", [String(index + 1)])
            }
            let waiterName = "lockstorm-wait-test"
            let sampler = LockSampler(
                dsn: server.dsn, applicationName: waiterName, everyNanoseconds: 50_000_000, intervalNanoseconds: 1_000_000_000, start: MonotonicClock.now()
            )
            let done = DispatchSemaphore(value: 0)
            let outcome = Mutex<(seconds: Double, error: String?)?>(nil)
            let pid = Mutex<String?>(nil)
            runInBackground(server.dsn, applicationName: waiterName, "UPDATE t SET v = v + 1 WHERE id IN (1, 2, 3)") { opened in
                pid.withLock { $0 = opened }
            } finished: { seconds, error in
                outcome.withLock { $0 = (seconds, error) }
                done.signal()
            }
            try wait { pid.withLock { $0 } != nil }
            let waiterPID = try #require(pid.withLock { $0 })
            /// The xid-lock the waiter waits on now: its holder's PID, and the server's `waitstart`.
            func blockedBy() throws -> (blocker: String, waitStart: Double)? {
                let row = try admin.execute("""
                    SELECT pg_blocking_pids(l.pid)::text, extract(epoch FROM l.waitstart)
                    FROM pg_locks l WHERE l.pid = $1 AND NOT l.granted AND l.waitstart IS NOT NULL
                    """, [waiterPID]).rows.first
                guard let row, let blockers = row[0], let start = row[1].flatMap(Double.init) else { return nil }
                return (blockers, start)
            }
            var firstWaitStart: Double?
            var perLockTruth: [Double] = []
            var truth = 0.0
            for (index, holder) in holders.enumerated() {
                let holderPID = try #require(try holder.execute("SELECT pg_backend_pid()").scalar)
                var current: (blocker: String, waitStart: Double)?
                try wait {
                    current = try blockedBy()
                    return current?.blocker == "{\(holderPID)}"
                }
                let waitStart = try #require(current?.waitStart)
                firstWaitStart = firstWaitStart ?? waitStart
                usleep(450_000)
                if index == holders.count - 1 {
                    // Ground truth at the last moment the waiter is known to
                    // still wait, then time for the sampler to look again.
                    let now = try #require(try admin.execute("SELECT extract(epoch FROM clock_timestamp())").scalar.flatMap(Double.init))
                    truth = now - (firstWaitStart ?? now)
                    perLockTruth.append(now - waitStart)
                    usleep(200_000)
                } else {
                    let now = try #require(try admin.execute("SELECT extract(epoch FROM clock_timestamp())").scalar.flatMap(Double.init))
                    perLockTruth.append(now - waitStart)
                }
                _ = try holder.execute("COMMIT")
            }
            done.wait()
            sampler.stop()
            let result = try #require(outcome.withLock { $0 })
            #expect(result.error == nil)
            let summary = sampler.intervals.values.reduce(into: LockWaitSummary()) { total, interval in
                total.samples += interval.samples
                total.longestWaitMilliseconds = max(total.longestWaitMilliseconds, interval.longestWaitMilliseconds)
                total.longestStatementWaitMilliseconds = max(total.longestStatementWaitMilliseconds, interval.longestStatementWaitMilliseconds)
            }
            // The scenario: over a second in all, each single lock well under.
            #expect(truth > 1.0)
            #expect(perLockTruth.allSatisfy { $0 < truth * 0.75 })
            // The statement figure covers the whole wait (to the last sample
            // after the checkpoint), and no more than the statement took.
            #expect(summary.longestStatementWaitMilliseconds >= truth * 1000)
            #expect(summary.longestStatementWaitMilliseconds <= result.seconds * 1000 + 50)
            // The per-lock figure restarted with each lock.
            #expect(summary.longestWaitMilliseconds < summary.longestStatementWaitMilliseconds * 0.75)
            // The last lock was held 200 ms past its checkpoint.
            #expect(summary.longestWaitMilliseconds <= ((perLockTruth.max() ?? 0) + 0.2) * 1000 + 100)
            #expect(summary.longestWaitMilliseconds < 1000)
            #expect(sampler.coverage.made > 20)
            #expect(sampler.coverage.reconnects == 0)
            print("statement wait: truth \(Int(truth * 1000)) ms, sampled \(Int(summary.longestStatementWaitMilliseconds)) ms; per-lock truth \(perLockTruth.map { Int($0 * 1000) }) ms, sampled \(Int(summary.longestWaitMilliseconds)) ms; UPDATE took \(Int(result.seconds * 1000)) ms; samples \(sampler.coverage.description)")
        }
    }
}
