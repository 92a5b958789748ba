import Foundation
import LockstormCore
import PostgresClient
import Synchronization

/// Watches the run's own sessions (by `application_name`) on a connection
/// and thread of its own: who waits on which kind of lock, for how long,
/// behind whom. One query per sample, every `--sample-interval` (200 ms by
/// default), so it barely disturbs what it measures.
final class LockSampler: Sendable {
    /// `wait_event` of every session of the run waiting on a lock, how long
    /// it has waited (`pg_locks.waitstart`, PostgreSQL 14+), and its blockers.
    static let query = """
        SELECT a.pid, a.wait_event, pg_blocking_pids(a.pid)::text,
               coalesce((SELECT extract(epoch FROM now() - min(l.waitstart)) * 1000
                         FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), 0)
        FROM pg_stat_activity a
        WHERE a.application_name = $1 AND a.wait_event_type = 'Lock'
        """

    private struct State {
        var intervals: [Int: LockWaitSummary] = [:]
        var latest: LockWaitSample?
        var stopped = false
        var failure: String?
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let done = DispatchSemaphore(value: 0)

    /// Starts sampling at once; `start` is the monotonic time measurement
    /// began (intervals are counted from it; earlier samples are dropped).
    init(dsn: ConnectionString, applicationName: String, everyNanoseconds: UInt64, intervalNanoseconds: UInt64, start: UInt64) {
        let shared = self.shared
        let done = self.done
        let thread = Thread {
            defer { done.signal() }
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection(dsn: dsn, connectTimeout: 10, applicationName: "lockstorm-sampler")
            } catch {
                shared.state.withLock { $0.failure = "\(error)" }
                return
            }
            var next = MonotonicClock.now()
            while !shared.state.withLock({ $0.stopped }) {
                let now = MonotonicClock.now()
                if now < next {
                    usleep(UInt32(min((next - now) / 1_000, 50_000)))
                    continue
                }
                next = now &+ everyNanoseconds
                guard let result = try? connection.execute(Self.query, [applicationName]) else {
                    if !connection.isHealthy { return }
                    continue
                }
                let sample = LockWaitSample(waiters: result.rows.compactMap(Self.waiter))
                shared.state.withLock { state in
                    state.latest = sample
                    if now >= start {
                        let index = Int((now - start) / intervalNanoseconds)
                        state.intervals[index, default: LockWaitSummary()].add(sample)
                    }
                }
            }
        }
        thread.name = "lockstorm-sampler"
        thread.start()
    }

    /// Stops sampling and waits for the thread to finish.
    func stop() {
        shared.state.withLock { $0.stopped = true }
        done.wait()
    }

    /// The most recent sample (for the progress line).
    var latest: LockWaitSample? { shared.state.withLock { $0.latest } }

    /// Why sampling could not run, if it could not.
    var failure: String? { shared.state.withLock { $0.failure } }

    /// Per-interval summaries, by interval index.
    var intervals: [Int: LockWaitSummary] { shared.state.withLock { $0.intervals } }

    private static func waiter(_ row: [String?]) -> LockWaitSample.Waiter? {
        guard row.count == 4, let pidText = row[0], let pid = Int32(pidText) else { return nil }
        let blockers = (row[2] ?? "{}").trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            .split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        return LockWaitSample.Waiter(pid: pid, event: row[1] ?? "other", waitedMilliseconds: Double(row[3] ?? "") ?? 0, blockers: blockers)
    }
}
