import LockstormCore
import Reports
import Testing

/// `-P` lines: what they cover is said, and a latency that was not measured is not printed as 0.
@Suite struct ProgressLineTests {
    @Test("an interval with no commit prints – for p50 and p99, and the line says its counts are for the last interval")
    func emptyInterval() {
        let line = ProgressLine.line(elapsedSeconds: 5, window: IntervalStats(), windowSeconds: 1)
        #expect(line.hasPrefix("elapsed 5.0 s  last 1.0 s: tps 0.0  p50 –  p99 –  deadlocks 0"))
        #expect(!line.contains("0.00 ms"))
    }
}
