@testable import Engine
import LockstormCore
import Testing

@Suite struct TimeseriesCollectorTests {
    private func stats(committed: Int) -> IntervalStats {
        var stats = IntervalStats()
        stats.committed = committed
        stats.attempts = committed
        for _ in 0..<committed { _ = stats.latency.record(1_000) }
        return stats
    }

    @Test func anIntervalBecomesARowOnlyWhenEveryWorkerReportedIt() {
        let collector = TimeseriesCollector(workers: 2, intervalNanoseconds: 1_000_000_000)
        collector.report(worker: 0, index: 0, stats: stats(committed: 5), end: 1_000_000_000)
        collector.report(worker: 0, index: 1, stats: stats(committed: 7), end: 2_000_000_000)
        #expect(collector.rows.isEmpty)
        collector.report(worker: 1, index: 0, stats: stats(committed: 3), end: 1_000_000_000)
        #expect(collector.rows.map(\.committed) == [8])
        collector.report(worker: 1, index: 1, stats: stats(committed: 1), end: 2_000_000_000)
        #expect(collector.rows.map(\.committed) == [8, 8])
        #expect(collector.rows.map(\.interval) == [0, 1])
        #expect(collector.rows.last?.startSeconds == 1 && collector.rows.last?.endSeconds == 2)
    }

    @Test func aFinishedWorkerNoLongerHoldsBackLaterIntervals() {
        let collector = TimeseriesCollector(workers: 2, intervalNanoseconds: 1_000_000_000)
        collector.report(worker: 0, index: 0, stats: stats(committed: 2), end: 400_000_000)
        collector.finish(worker: 0)
        collector.report(worker: 1, index: 0, stats: stats(committed: 4), end: 1_000_000_000)
        collector.report(worker: 1, index: 1, stats: stats(committed: 6), end: 2_000_000_000)
        collector.report(worker: 1, index: 2, stats: stats(committed: 1), end: 2_250_000_000)
        collector.finish(worker: 1)
        #expect(collector.rows.map(\.committed) == [6, 6, 1])
        // The last interval ends when the last worker stopped, not at the nominal boundary.
        #expect(collector.rows.last?.endSeconds == 2.25)
        #expect(collector.rows.last?.tps == 4)
    }
}
