import Testing
@testable import LockstormCore

@Suite struct SummaryTests {
    /// Four commits of 2 ms, a deadlock (retried) and another error.
    static func sampleStats() -> TransactionStats {
        var stats = TransactionStats()
        for _ in 0..<4 { stats.recordCommit(latencyNanoseconds: 2_000_000) }
        stats.recordFailure(.deadlock)
        stats.recordFailure(.other)
        stats.retries = 1
        return stats
    }

    @Test func columnsAreVersionedAndInOrder() {
        #expect(SummaryRow.schemaVersion == 2)
        #expect(SummaryRow.columns == [
            "workload", "variant", "transaction", "clients", "duration_s", "attempts", "committed", "committed_in_grace", "rolled_back", "ended_early",
            "failed", "expected_errors", "unexpected_errors", "retries", "exhausted_retries",
            "deadlocks", "lock_not_available", "serialization_failures", "statement_timeouts", "connection_errors", "other_errors",
            "tps", "lat_mean_ms", "lat_p50_ms", "lat_p90_ms", "lat_p95_ms", "lat_p99_ms", "lat_p999_ms", "lat_max_ms", "invariant_failures",
        ])
    }

    @Test func rowValuesFollowTheColumns() {
        let row = SummaryRow(workload: "transfers", variant: "ordered", transaction: "transfer", clients: 8, durationSeconds: 2, stats: Self.sampleStats(), invariantFailures: 1)
        #expect(row.values.count == SummaryRow.columns.count)
        #expect(Dictionary(uniqueKeysWithValues: zip(SummaryRow.columns, row.values)) == [
            "workload": "transfers", "variant": "ordered", "transaction": "transfer", "clients": "8", "duration_s": "2.000",
            "attempts": "6", "committed": "4", "committed_in_grace": "0", "rolled_back": "0", "ended_early": "0",
            "failed": "2", "expected_errors": "2", "unexpected_errors": "0", "retries": "1", "exhausted_retries": "0",
            "deadlocks": "1", "lock_not_available": "0", "serialization_failures": "0", "statement_timeouts": "0",
            "connection_errors": "0", "other_errors": "1",
            "tps": "2.00", "lat_mean_ms": "2.000", "lat_p50_ms": "2.000", "lat_p90_ms": "2.000", "lat_p95_ms": "2.000",
            "lat_p99_ms": "2.000", "lat_p999_ms": "2.000", "lat_max_ms": "2.000", "invariant_failures": "1",
        ])
    }

    @Test func tpsIsCommittedPerSecond() {
        var stats = TransactionStats()
        for _ in 0..<25 { stats.recordCommit(latencyNanoseconds: 1_000) }
        stats.recordFailure(.deadlock)
        #expect(SummaryRow(workload: "w", variant: "v", transaction: "t", clients: 1, durationSeconds: 10, stats: stats, invariantFailures: 0).tps == 2.5)
        #expect(SummaryRow(workload: "w", variant: "v", transaction: "t", clients: 1, durationSeconds: 0, stats: stats, invariantFailures: 0).tps == 0)
    }

    @Test func rowWithoutCommitsHasZeroLatencies() {
        var stats = TransactionStats()
        stats.recordFailure(.connection)
        let row = SummaryRow(workload: "w", variant: "v", transaction: "t", clients: 1, durationSeconds: 1, stats: stats, invariantFailures: 0)
        #expect(Array(row.values[21...28]) == ["0.00", "0.000", "0.000", "0.000", "0.000", "0.000", "0.000", "0.000"])
    }

    @Test func summaryHasOneRowPerTransactionThenTotal() {
        var stats = RunStats(transactionCount: 2)
        stats.transactions[0] = Self.sampleStats()
        stats.transactions[1].recordCommit(latencyNanoseconds: 4_000_000)
        let summary = RunSummary(
            workload: "w", variant: "v", clients: 4, threads: 2, durationSeconds: 5, seed: 1,
            transactionNames: ["a", "b"], stats: stats,
            invariants: [InvariantResult(name: "i", expected: .int(1), actual: "2")], partial: false
        )
        let rows = summary.rows
        #expect(rows.map(\.transaction) == ["a", "b", "total"])
        #expect(rows.map(\.stats.committed) == [4, 1, 5])
        #expect(rows.map(\.stats.attempts) == [6, 1, 7])
        #expect(rows.map(\.invariantFailures) == [1, 1, 1])
        #expect(rows[2].tps == 1)
        #expect(summary.invariantFailures == 1)
    }

    @Test func errorsAreListedMostFrequentFirstThenBySQLState() {
        var stats = RunStats(transactionCount: 1)
        for _ in 0..<2 { stats.recordError(StatementFailure(sqlState: .lockNotAvailable, message: "x")) }
        for _ in 0..<3 { stats.recordError(StatementFailure(sqlState: .serializationFailure, message: "x")) }
        for _ in 0..<3 { stats.recordError(StatementFailure(sqlState: .deadlockDetected, message: "x")) }
        let summary = RunSummary(workload: "w", variant: "v", clients: 1, threads: 1, durationSeconds: 1, seed: 1, transactionNames: ["t"], stats: stats, invariants: [], partial: false)
        #expect(summary.errorsByFrequency.map(\.sqlState) == ["40001", "40P01", "55P03"])
    }

    // MARK: Invariants

    @Test func numericInvariantComparesByValue() {
        #expect(InvariantResult(name: "sum", expected: .int(100_000), actual: "100000.00").passed)
        #expect(InvariantResult(name: "sum", expected: .int(100_000), actual: "100000").passed)
        #expect(InvariantResult(name: "sum", expected: .double(0.5), actual: "0.50").passed)
    }

    @Test func numericInvariantMismatchFails() {
        #expect(!InvariantResult(name: "sum", expected: .int(100_000), actual: "99950").passed)
        #expect(!InvariantResult(name: "sum", expected: .int(100_000), actual: nil).passed)
        #expect(!InvariantResult(name: "sum", expected: .int(100_000), actual: "lots").passed)
    }

    @Test func invariantWhoseStatementFailedFails() {
        #expect(!InvariantResult(name: "sum", expected: .int(1), actual: "1", error: "relation does not exist").passed)
    }

    @Test func textInvariantComparesText() {
        #expect(InvariantResult(name: "s", expected: .string("abc"), actual: "abc").passed)
        #expect(!InvariantResult(name: "s", expected: .string("abc"), actual: "abd").passed)
        #expect(InvariantResult(name: "s", expected: .null, actual: nil).passed)
    }

    @Test
    func booleanInvariantMatchesPostgresBooleanText() {
        #expect(InvariantResult(name: "b", expected: .bool(true), actual: "t").passed)
        #expect(!InvariantResult(name: "b", expected: .bool(true), actual: "f").passed)
    }

    // MARK: Format

    @Test(arguments: [
        (3.14159, 2, "3.14"),
        (2.0, 3, "2.000"),
        (0.05, 2, "0.05"),
        (-1.5, 1, "-1.5"),
        (-0.0004, 3, "0.000"),
        (1234.5, 0, "1235"),
        (0.0, 2, "0.00"),
        (99.996, 2, "100.00"),
    ])
    func fixedFormatsWithExactlyThoseDecimals(value: Double, digits: Int, expected: String) {
        #expect(Format.fixed(value, digits: digits) == expected)
    }

    @Test func fixedNamesNonFiniteValues() {
        #expect(Format.fixed(.nan, digits: 2) == "nan")
        #expect(Format.fixed(.infinity, digits: 2) == "inf")
        #expect(Format.fixed(-.infinity, digits: 2) == "-inf")
    }

    @Test func typedValuesAreTheNumbersTheFileRecords() {
        var stats = Self.sampleStats()
        for index in 0..<300 { stats.recordCommit(latencyNanoseconds: UInt64(1_234_567 + index * 9_973)) }
        let row = SummaryRow(workload: "w", variant: "v", transaction: "t", clients: 3, durationSeconds: 7.123_456_7, stats: stats, invariantFailures: 0)
        let metrics = MetricRow(row.recordedValues)
        for (column, text) in zip(SummaryColumn.allCases, row.values) {
            #expect(column.format(column.value(in: row)) == text, "\(column.name)")
            if case .text = column.kind {
                #expect(metrics[column] == nil)
            } else {
                #expect(metrics[column] == Double(text), "\(column.name): \(text)")
            }
        }
        #expect(SummaryRow.columns == SummaryColumn.allCases.map(\.name))
        #expect(ErrorClass.allCases.map { SummaryColumn($0).errorClass } == ErrorClass.allCases)
    }
}
