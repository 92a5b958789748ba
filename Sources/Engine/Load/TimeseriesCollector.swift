import LockstormCore
import Synchronization

/// Gathers each worker's interval figures into the run's time series.
///
/// Workers report interval *k* when they cross its end; once every worker
/// has reported *k* (or finished), the interval is merged into one row and
/// its histogram dropped, so memory stays flat however long the run.
final class TimeseriesCollector: Sendable {
    private struct Pending {
        var stats = IntervalStats()
        var reported: Set<Int> = []
        var end: UInt64 = 0
    }

    private struct State {
        var pending: [Int: Pending] = [:]
        var finished: Set<Int> = []
        var rows: [TimeseriesRow] = []
        /// Each completed interval's latency histogram, encoded (`latency.hlog`):
        /// a few hundred bytes where the histogram itself is ~25 KB.
        var latency: [(interval: Int, start: Double, end: Double, encoded: [UInt8])] = []
        /// Completed intervals not yet handed to the progress line.
        var progress = IntervalStats()
        var progressSeconds = 0.0
    }

    let intervalNanoseconds: UInt64
    private let workers: Int
    private let state = Mutex(State())

    init(workers: Int, intervalNanoseconds: UInt64) {
        self.workers = workers
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// Worker `worker` hands over interval `index`, which ended at `end`
    /// (the monotonic time relative to the run's start; earlier than the
    /// nominal boundary only for a worker's last, partial interval).
    func report(worker: Int, index: Int, stats: IntervalStats, end: UInt64) {
        state.withLock { state in
            var pending = state.pending[index] ?? Pending()
            pending.stats.add(stats)
            pending.reported.insert(worker)
            pending.end = max(pending.end, end)
            state.pending[index] = pending
            Self.complete(&state, workers: workers, interval: intervalNanoseconds)
        }
    }

    /// Worker `worker` has no more intervals to report.
    func finish(worker: Int) {
        state.withLock { state in
            state.finished.insert(worker)
            Self.complete(&state, workers: workers, interval: intervalNanoseconds)
        }
    }

    /// The intervals completed since the previous call, merged, and the
    /// seconds they cover.
    func takeProgress() -> (IntervalStats, Double) {
        state.withLock { state in
            let taken = (state.progress, state.progressSeconds)
            state.progress.reset()
            state.progressSeconds = 0
            return taken
        }
    }

    /// The rows completed so far, in order.
    var rows: [TimeseriesRow] {
        state.withLock { $0.rows }
    }

    /// Each completed interval's latency histogram, in order, as HdrHistogram's V2 encoding.
    var intervalLatency: [(interval: Int, start: Double, end: Double, encoded: [UInt8])] {
        state.withLock { $0.latency }
    }

    /// Completes the intervals every worker has accounted for, in order.
    private static func complete(_ state: inout State, workers: Int, interval: UInt64) {
        while let index = state.pending.keys.min(), let pending = state.pending[index] {
            let accounted = pending.reported.union(state.finished).count
            guard accounted >= workers else { return }
            state.pending[index] = nil
            let start = Double(UInt64(index) * interval) / 1e9
            let nominalEnd = UInt64(index + 1) * interval
            let end = Double(min(max(pending.end, UInt64(index) * interval), nominalEnd)) / 1e9
            state.rows.append(TimeseriesRow(interval: index, startSeconds: start, endSeconds: end, stats: pending.stats))
            state.latency.append((index, start, end, HistogramEncoding.encode(pending.stats.latency)))
            state.progress.add(pending.stats)
            state.progressSeconds += end - start
        }
    }
}
