import Foundation
import LockstormCore
import PostgresClient
import Synchronization

/// Checks the invariants that ask for it (`during: 500ms`) while the load
/// runs, on a connection and thread of its own, each at its own pace. A
/// violation that the load later repairs (an oversell undone, a queue that
/// catches up) is still recorded: the first failure, with when and what.
final class InvariantMonitor: Sendable {
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
        let thread = Thread {
            defer { done.signal() }
            guard let connection = try? PostgresConnection(dsn: dsn, connectTimeout: 10, applicationName: "lockstorm-invariants") else { return }
            var due = watched.map { _ in MonotonicClock.now() }
            while !shared.state.withLock({ $0.stopped }) {
                let now = MonotonicClock.now()
                guard let next = due.indices.min(by: { due[$0] < due[$1] }) else { return }
                if now < due[next] {
                    usleep(UInt32(min((due[next] - now) / 1_000, 20_000)))
                    continue
                }
                let (index, invariant, every) = watched[next]
                due[next] = now &+ every
                let elapsed = now > start ? Double(now - start) / 1e9 : 0
                let result: InvariantResult
                do {
                    let query = try connection.execute(invariant.statement.sql, invariant.statement.parameters)
                    result = InvariantResult(name: invariant.name, expected: invariant.expected, actual: query.scalar)
                } catch {
                    if !connection.isHealthy { return }
                    result = InvariantResult(name: invariant.name, expected: invariant.expected, actual: nil, error: "\(error)")
                }
                shared.state.withLock { state in
                    var check = state.checks[index] ?? DuringCheck()
                    check.record(passed: result.passed, actual: result.error ?? result.actual ?? "NULL", atSeconds: elapsed)
                    state.checks[index] = check
                }
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
