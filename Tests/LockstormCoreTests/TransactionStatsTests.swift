import Testing
@testable import LockstormCore

@Suite struct TransactionStatsTests {
    @Test func commitCountsAnAttemptAndRecordsLatencyInMicroseconds() {
        var stats = TransactionStats()
        stats.recordCommit(latencyNanoseconds: 1_500_000)
        #expect(stats.attempts == 1)
        #expect(stats.committed == 1)
        #expect(stats.failed == 0)
        #expect(stats.latency.totalCount == 1)
        #expect(stats.latency.max == 1_500)
    }

    @Test func latencyIsClampedToTheTrackableRange() {
        var stats = TransactionStats()
        stats.recordCommit(latencyNanoseconds: 0)
        stats.recordCommit(latencyNanoseconds: 2 * 3_600_000_000_000)
        #expect(stats.latency.totalCount == 2)
        #expect(stats.latency.min == 1)
        #expect(stats.latency.equivalentRangeForValue(TransactionStats.highestTrackableMicroseconds).contains(stats.latency.max))
    }

    @Test func failureCountsAnAttemptInItsClass() {
        var stats = TransactionStats()
        stats.recordFailure(.deadlock)
        stats.recordFailure(.deadlock)
        stats.recordFailure(.statementTimeout)
        #expect(stats.attempts == 3)
        #expect(stats.failed == 3)
        #expect(stats.committed == 0)
        #expect(stats.count(.deadlock) == 2)
        #expect(stats.count(.statementTimeout) == 1)
        #expect(stats.count(.other) == 0)
        #expect(stats.latency.totalCount == 0)
    }

    @Test func attemptsAreCommittedPlusFailedAndClassesSumToFailed() {
        var stats = TransactionStats()
        let classes = ErrorClass.allCases
        for index in 0..<40 {
            if index % 3 == 0 {
                stats.recordCommit(latencyNanoseconds: UInt64(index) * 1_000_000)
            } else {
                stats.recordFailure(classes[index % classes.count])
            }
        }
        #expect(stats.attempts == 40)
        #expect(stats.committed == 14)
        #expect(stats.failed == 26)
        #expect(stats.attempts == stats.committed + stats.failed)
        #expect(classes.map(stats.count).reduce(0, +) == stats.failed)
        #expect(stats.latency.totalCount == UInt64(stats.committed))
    }

    @Test func abandonedIsFailedMinusRetries() {
        var stats = TransactionStats()
        stats.recordFailure(.deadlock)
        stats.recordFailure(.deadlock)
        stats.recordFailure(.deadlock)
        stats.retries = 2
        #expect(stats.abandoned == 1)
    }

    @Test func addSumsCountsAndMergesHistograms() {
        var fast = TransactionStats()
        for _ in 0..<100 { fast.recordCommit(latencyNanoseconds: 1_000_000) }
        fast.recordFailure(.deadlock)
        fast.retries = 1
        var slow = TransactionStats()
        for _ in 0..<100 { slow.recordCommit(latencyNanoseconds: 10_000_000) }
        slow.recordFailure(.serializationFailure)
        slow.recordFailure(.deadlock)

        var merged = fast
        merged.add(slow)
        #expect(merged.attempts == 203)
        #expect(merged.committed == 200)
        #expect(merged.failed == 3)
        #expect(merged.retries == 1)
        #expect(merged.count(.deadlock) == 2)
        #expect(merged.count(.serializationFailure) == 1)
        #expect(merged.latency.totalCount == 200)
        #expect(merged.latency.valueAtPercentile(50) == 1_000)
        #expect(merged.latency.equivalentRangeForValue(10_000).contains(merged.latency.valueAtPercentile(99)))
        #expect(merged.latency.equivalentRangeForValue(10_000).contains(merged.latency.max))
        #expect(merged.latency.min == 1_000)
        // The operand is unchanged.
        #expect(fast.latency.totalCount == 100)
    }

    // MARK: RunStats

    @Test func errorsAreKeyedBySQLStateAndKeepTheFirstSample() {
        var stats = RunStats(transactionCount: 1)
        stats.recordError(StatementFailure(sqlState: .deadlockDetected, message: "first", detail: "d1"))
        stats.recordError(StatementFailure(sqlState: .deadlockDetected, message: "second"))
        stats.recordError(StatementFailure(sqlState: nil, message: "no code"))
        stats.recordError(StatementFailure(sqlState: nil, message: "gone", connectionLost: true))
        #expect(stats.errors["40P01"] == ErrorRecord(sqlState: "40P01", errorClass: .deadlock, count: 2, sampleMessage: "first", sampleDetail: "d1"))
        #expect(stats.errors["-----"] == ErrorRecord(sqlState: "-----", errorClass: .other, count: 2, sampleMessage: "no code"))
        #expect(stats.errors.count == 2)
    }

    @Test func statementFailureOnALostConnectionIsAConnectionError() {
        #expect(StatementFailure(sqlState: .uniqueViolation, message: "", connectionLost: true).errorClass == .connection)
        #expect(StatementFailure(sqlState: .uniqueViolation, message: "").errorClass == .other)
    }

    @Test func mergeAddsTransactionsPositionallyAndErrorsByKey() {
        var a = RunStats(transactionCount: 2)
        a.transactions[0].recordCommit(latencyNanoseconds: 1_000_000)
        a.transactions[1].recordFailure(.deadlock)
        a.recordError(StatementFailure(sqlState: .deadlockDetected, message: "a"))
        var b = RunStats(transactionCount: 2)
        b.transactions[0].recordCommit(latencyNanoseconds: 2_000_000)
        b.transactions[1].recordFailure(.deadlock)
        b.transactions[1].recordFailure(.lockNotAvailable)
        b.recordError(StatementFailure(sqlState: .deadlockDetected, message: "b"))
        b.recordError(StatementFailure(sqlState: .lockNotAvailable, message: "nowait"))

        a.merge(b)
        #expect(a.transactions[0].committed == 2)
        #expect(a.transactions[0].latency.totalCount == 2)
        #expect(a.transactions[1].failed == 3)
        #expect(a.transactions[1].count(.deadlock) == 2)
        #expect(a.errors["40P01"]?.count == 2)
        #expect(a.errors["40P01"]?.sampleMessage == "a")
        #expect(a.errors["55P03"]?.count == 1)
    }

    @Test func totalAddsEveryTransactionType() {
        var stats = RunStats(transactionCount: 3)
        stats.transactions[0].recordCommit(latencyNanoseconds: 1_000_000)
        stats.transactions[1].recordCommit(latencyNanoseconds: 3_000_000)
        stats.transactions[2].recordFailure(.other)
        let total = stats.total
        #expect(total.attempts == 3)
        #expect(total.committed == 2)
        #expect(total.failed == 1)
        #expect(total.count(.other) == 1)
        #expect(total.latency.totalCount == 2)
    }
}
