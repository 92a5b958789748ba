import Foundation
import LockstormCore
import PostgresClient
import Synchronization

/// Checks the invariants that ask for it (`during: 500ms`) while the load
/// runs, on a connection and thread of its own, each at its own pace. A
/// violation that the load later repairs (an oversell undone, a queue that
/// catches up) is still recorded: the first failure, with when and what.
/// A broken connection is opened again with the clients' backoff; checks
/// that fell due meanwhile are counted as due and not made, so a gap in
/// coverage shows (`DuringCheck.coverage`) instead of passing for a pass.
final class InvariantMonitor: Sendable {
    /// The `application_name` of the monitor's own session.
    static let applicationName = "lockstorm-invariants"

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private struct State {
        var checks: [Int: DuringCheck] = [:]
        var stopped = false
    }

    private let shared = Shared()
    private let done = DispatchSemaphore(value: 0)

    /// Starts checking `invariants` (indices into `plan.invariants` with an
    /// interval) at once; times are reported from `start`.
    init?(plan: RunPlan, dsn: ConnectionString, start: UInt64) {
        let watched = plan.invariants.enumerated().compactMap { index, invariant in invariant.duringInterval.map { (index, invariant, UInt64(max($0, 1_000_000))) } }
        guard !watched.isEmpty else { return nil }
        let shared = self.shared
        let done = self.done
        for (index, _, _) in watched { shared.state.withLock { $0.checks[index] = DuringCheck() } }
        let thread = Thread {
            defer { done.signal() }
            var link = MonitorConnection(dsn: dsn, applicationName: Self.applicationName)
            let first = MonotonicClock.now()
            var schedules = watched.map { DueSchedule(first: first, every: $0.2) }
            /// Counts checks due for invariant `index`, one of them made with `passed` when given.
            func tally(_ index: Int, points: Int, passed: Bool?, actual: String, at now: UInt64) {
                let elapsed = now > start ? Double(now - start) / 1e9 : 0
                shared.state.withLock { state in
                    var check = state.checks[index] ?? DuringCheck()
                    if let passed { check.record(passed: passed, actual: actual, atSeconds: elapsed) }
                    check.due += points
                    check.reconnects = link.reconnects
                    state.checks[index] = check
                }
            }
            while !shared.state.withLock({ $0.stopped }) {
                let now = MonotonicClock.now()
                guard let connection = link.connection(now: now) else {
                    usleep(UInt32(min(link.waitNanoseconds(now: now) / 1_000, 20_000)))
                    continue
                }
                guard let next = schedules.indices.min(by: { schedules[$0].next < schedules[$1].next }) else { return }
                if !schedules[next].isDue(now) {
                    usleep(UInt32(min((schedules[next].next - now) / 1_000, 20_000)))
                    continue
                }
                let (index, invariant, _) = watched[next]
                let result: InvariantResult
                do {
                    let query = try connection.execute(invariant.statement.sql, invariant.statement.parameters)
                    result = InvariantResult(name: invariant.name, expected: invariant.expected, actual: query.scalar)
                } catch {
                    if !connection.isHealthy {
                        // Not a failed check: the check stays due and is
                        // made once the connection is back.
                        link.lost(now: MonotonicClock.now())
                        continue
                    }
                    result = InvariantResult(name: invariant.name, expected: invariant.expected, actual: nil, error: "\(error)")
                }
                tally(index, points: schedules[next].take(at: now), passed: result.passed, actual: result.error ?? result.actual ?? "NULL", at: now)
            }
            // Checks that came due while the connection was down, all but
            // the one that fell due as the run stopped.
            let now = MonotonicClock.now()
            for position in schedules.indices {
                let points = schedules[position].isDue(now) ? schedules[position].take(at: now) - 1 : 0
                tally(watched[position].0, points: points, passed: nil, actual: "", at: now)
            }
        }
        thread.name = "lockstorm-invariants"
        thread.start()
    }

    /// Stops checking and returns what was seen, by invariant index.
    func stop() -> [Int: DuringCheck] {
        shared.state.withLock { $0.stopped = true }
        done.wait()
        return shared.state.withLock { $0.checks }
    }
}
