import Testing
@testable import LockstormCore

@Suite struct TimeseriesTests {
    private func interval(committed: Int, latencyMicros: UInt64, deadlocks: Int = 0) -> IntervalStats {
        var stats = IntervalStats()
        for _ in 0..<committed {
            stats.committed += 1
            stats.attempts += 1
            _ = stats.latency.record(latencyMicros)
        }
        stats.attempts += deadlocks
        stats.failed += deadlocks
        stats.errorCounts[ErrorClass.deadlock.rawValue] += deadlocks
        return stats
    }

    @Test func rowValuesFollowTheColumnsAndComputeTpsOverTheIntervalLength() {
        let row = TimeseriesRow(interval: 3, startSeconds: 3, endSeconds: 3.5, stats: interval(committed: 50, latencyMicros: 2_000, deadlocks: 4))
        #expect(row.values.count == TimeseriesRow.columns.count)
        let byColumn = Dictionary(uniqueKeysWithValues: zip(TimeseriesRow.columns, row.values))
        #expect(byColumn["interval"] == "3")
        #expect(byColumn["tps"] == "100.00")
        #expect(byColumn["committed"] == "50")
        #expect(byColumn["attempts"] == "54")
        #expect(byColumn["deadlocks"] == "4")
        #expect(byColumn["failed"] == "4")
        #expect(byColumn["lat_p50_ms"] == "2.000")
    }

    @Test func emptyIntervalHasZeroLatencyNotGarbage() {
        let row = TimeseriesRow(interval: 0, startSeconds: 0, endSeconds: 1, stats: IntervalStats())
        #expect(row.p50Milliseconds == 0)
        #expect(row.p99Milliseconds == 0)
        #expect(row.tps == 0)
    }

    @Test func intervalResetClearsEverything() {
        var stats = interval(committed: 10, latencyMicros: 500, deadlocks: 2)
        stats.retries = 3
        stats.reset()
        #expect(stats.attempts == 0 && stats.committed == 0 && stats.failed == 0 && stats.retries == 0)
        #expect(stats.errorCounts.allSatisfy { $0 == 0 })
        #expect(stats.latency.totalCount == 0)
    }

    @Test func latencySpectrumIsMonotoneAndEndsAtTheMaximumWithEveryTransactionCounted() {
        var stats = TransactionStats()
        for micros in 1...1_000 { stats.recordCommit(latencyNanoseconds: UInt64(micros) * 1_000) }
        let rows = LatencySpectrum.rows(transaction: "t", stats: stats)
        #expect(rows.count == LatencySpectrum.percentiles.count)
        #expect(rows.allSatisfy { $0.count == LatencySpectrum.columns.count && $0[0] == "t" })
        let latencies = rows.compactMap { Double($0[2]) }
        #expect(latencies == latencies.sorted())
        #expect(rows.last?[1] == "100.00")
        #expect(rows.last?[2] == "1.000")
        #expect(rows.last?[3] == "1000")
        #expect(rows.first?[2] == "0.001")
        #expect(LatencySpectrum.rows(transaction: "t", stats: TransactionStats()).isEmpty)
    }
}
