import Foundation
import LockstormCore
import PostgresClient
import Synchronization

/// Watches the run's own sessions (by `application_name`) on a connection
/// and thread of its own: who waits on which kind of lock, for how long,
/// behind whom. One query per sample, every `--sample-interval` (200 ms by
/// default), so it barely disturbs what it measures. A broken connection (a
/// terminated backend, a restarted server) is opened again with the clients'
/// backoff, and samples missed meanwhile are counted (`coverage`).
final class LockSampler: Sendable {
    /// The `application_name` of the sampler's own session.
    static let applicationName = "lockstorm-sampler"

    /// Every session of the run waiting on a lock: its wait event, its
    /// blockers, and on the server's clock (epoch seconds) the time now, when
    /// its statement started (`query_start`), and when it began waiting for
    /// the lock it waits on now (`pg_locks.waitstart`, PostgreSQL 14+).
    static let query = """
        SELECT a.pid, a.wait_event, pg_blocking_pids(a.pid)::text,
               extract(epoch FROM now()), extract(epoch FROM a.query_start),
               (SELECT extract(epoch FROM min(l.waitstart)) FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted)
        FROM pg_stat_activity a
        WHERE a.application_name = $1 AND a.wait_event_type = 'Lock'
        """

    private struct State {
        var intervals: [Int: LockWaitSummary] = [:]
        var latest: LockWaitSample?
        var stopped = false
        var failure: String?
        var coverage = Coverage()
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let done = DispatchSemaphore(value: 0)

    /// Starts sampling at once; `start` is the monotonic time measurement
    /// began (intervals and coverage are counted from it; earlier samples
    /// are dropped).
    init(dsn: ConnectionString, applicationName: String, everyNanoseconds: UInt64, intervalNanoseconds: UInt64, start: UInt64) {
        let shared = self.shared
        let done = self.done
        let thread = Thread {
            defer { done.signal() }
            var link = MonitorConnection(dsn: dsn, applicationName: Self.applicationName)
            var schedule = DueSchedule(first: MonotonicClock.now(), every: everyNanoseconds)
            var tracker = StatementWaitTracker()
            /// Counts a sample due and not made (its query failed).
            func countMissed(_ points: Int) {
                guard MonotonicClock.now() >= start else { return }
                shared.state.withLock { $0.coverage.due += points }
            }
            while !shared.state.withLock({ $0.stopped }) {
                let now = MonotonicClock.now()
                guard let connection = link.connection(now: now) else {
                    if let failure = link.lastFailure { shared.state.withLock { if $0.failure == nil { $0.failure = failure } } }
                    usleep(UInt32(min(link.waitNanoseconds(now: now) / 1_000, 50_000)))
                    continue
                }
                if !schedule.isDue(now) {
                    usleep(UInt32(min((schedule.next - now) / 1_000, 50_000)))
                    continue
                }
                let result: QueryResult
                do {
                    result = try connection.execute(Self.query, [applicationName])
                } catch {
                    // A broken connection leaves the sample due: it is taken
                    // once the connection is back, or counted missed.
                    if !connection.isHealthy { link.lost(now: MonotonicClock.now()) } else { countMissed(schedule.take(at: now)) }
                    continue
                }
                let points = schedule.take(at: now)
                let sample = LockWaitSample(waiters: result.rows.compactMap { Self.waiter($0, tracker: &tracker) })
                shared.state.withLock { state in
                    state.latest = sample
                    state.failure = nil
                    state.coverage.reconnects = link.reconnects
                    if now >= start {
                        state.coverage.due += points
                        state.coverage.made += 1
                        let index = Int((now - start) / intervalNanoseconds)
                        state.intervals[index, default: LockWaitSummary()].add(sample)
                    }
                }
            }
            shared.state.withLock { state in
                state.coverage.reconnects = link.reconnects
                // Samples that came due while the connection was down.
                let now = MonotonicClock.now()
                if now >= start, schedule.isDue(now) { state.coverage.due += schedule.take(at: now) - 1 }
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

    /// Why sampling could not run, if it never could (a connection that
    /// broke and came back is counted in `coverage` instead).
    var failure: String? { shared.state.withLock { $0.coverage.made == 0 ? $0.failure : nil } }

    /// Per-interval summaries, by interval index.
    var intervals: [Int: LockWaitSummary] { shared.state.withLock { $0.intervals } }

    /// Samples made against samples due over the measured run.
    var coverage: Coverage { shared.state.withLock { $0.coverage } }

    private static func waiter(_ row: [String?], tracker: inout StatementWaitTracker) -> LockWaitSample.Waiter? {
        guard row.count == 6, let pidText = row[0], let pid = Int32(pidText) else { return nil }
        let blockers = (row[2] ?? "{}").trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            .split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        guard let now = row[3].flatMap(Double.init) else { return nil }
        let queryStart = row[4].flatMap(Double.init) ?? now
        let waitStart = row[5].flatMap(Double.init)
        let perLock = max(now - (waitStart ?? now), 0) * 1000
        let statement = tracker.statementWaited(pid: pid, queryStart: queryStart, waitStart: waitStart, now: now)
        return LockWaitSample.Waiter(pid: pid, event: row[1] ?? "other", waitedMilliseconds: perLock, statementWaitedMilliseconds: statement, blockers: blockers)
    }
}

/// The connection of a background monitor (the lock-wait sampler, the
/// `during:` invariant checker), opened again when it breaks, with the
/// clients' backoff: 100 ms after the first failed attempt, doubling to 2 s.
/// Owned by the monitor's thread.
struct MonitorConnection {
    let dsn: ConnectionString
    let applicationName: String
    private var current: PostgresConnection?
    private var opened = 0
    private var failures = 0
    private var retryAt: UInt64 = 0
    /// The last error opening the connection, while it is down.
    private(set) var lastFailure: String?

    static let firstBackoff: UInt64 = 100_000_000
    static let maxBackoff: UInt64 = 2_000_000_000
    /// Seconds one attempt may take: short, so a monitor of an unreachable
    /// server still notices `stop` soon.
    static let connectTimeoutSeconds = 2

    init(dsn: ConnectionString, applicationName: String) {
        self.dsn = dsn
        self.applicationName = applicationName
    }

    /// Times the connection was opened again after the first.
    var reconnects: Int { max(opened - 1, 0) }

    /// The open connection, opening one when none is and the backoff allows.
    mutating func connection(now: UInt64) -> PostgresConnection? {
        if let current { return current }
        guard now >= retryAt else { return nil }
        do {
            let connection = try PostgresConnection(dsn: dsn, connectTimeout: Self.connectTimeoutSeconds, applicationName: applicationName)
            current = connection
            opened += 1
            failures = 0
            lastFailure = nil
            return connection
        } catch {
            lastFailure = "\(error)"
            let backoff = min(Self.firstBackoff << UInt64(min(failures, 5)), Self.maxBackoff)
            failures += 1
            retryAt = MonotonicClock.now() &+ backoff
            return nil
        }
    }

    /// Drops a broken connection; the next `connection(now:)` opens another at once.
    mutating func lost(now: UInt64) {
        current = nil
        retryAt = now
    }

    /// How long until the next attempt to connect.
    func waitNanoseconds(now: UInt64) -> UInt64 { retryAt > now ? retryAt - now : 0 }
}
