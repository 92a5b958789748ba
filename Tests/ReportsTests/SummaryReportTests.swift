import Testing
@testable import LockstormCore
@testable import Reports

@Suite struct SummaryReportTests {
    static func summary(partial: Bool = false, invariants: [InvariantResult] = [], transactions: [String] = ["transfer", "audit, daily"]) -> RunSummary {
        var stats = RunStats(transactionCount: transactions.count)
        for index in transactions.indices {
            for _ in 0...index { stats.transactions[index].add(commit(milliseconds: 2)) }
        }
        return RunSummary(
            workload: "transfers", variant: "ordered", clients: 16, threads: 2, durationSeconds: 10, seed: 42,
            transactionNames: transactions, stats: stats, invariants: invariants, partial: partial
        )
    }

    static func commit(milliseconds: UInt64) -> TransactionStats {
        var stats = TransactionStats()
        stats.recordCommit(latencyNanoseconds: milliseconds * 1_000_000)
        return stats
    }

    @Test func csvHeaderIsTheColumnListAndOneLinePerRow() {
        let csv = SummaryReport.csv(Self.summary())
        let lines = csv.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5)  // header, two transactions, total, and the empty string after the final newline
        #expect(lines[0] == SummaryRow.columns.joined(separator: ","))
        #expect(lines[1].hasPrefix("transfers,ordered,transfer,16,10.000,1,1,0,0,"))
        #expect(lines[2].hasPrefix("transfers,ordered,\"audit, daily\",16,10.000,2,2,0,0,"))
        #expect(lines[3].hasPrefix("transfers,ordered,total,16,10.000,3,3,0,0,"))
        #expect(lines[3].hasSuffix(",0.30,2.000,2.000,2.000,2.000,2.000,2.000,2.000,0"))
        #expect(lines[4] == "")
        #expect(csv == CSV.document(header: SummaryRow.columns, rows: Self.summary().rows.map(\.values)))
    }

    @Test func tableAlignsNumbersRight() {
        let table = TextTable.render(header: ["name", "count"], rows: [["a", "5"], ["longer", "12345"]])
        #expect(table == """
            name    count
            ------  -----
            a           5
            longer  12345

            """)
    }

    @Test func tableSeparatesTheLastRowAndIndents() {
        let table = TextTable.render(header: ["t", "n"], rows: [["a", "1"], ["b", "2"], ["total", "3"]], separatorBeforeLast: true, indent: "  ")
        #expect(table == """
              t      n
              -----  -
              a      1
              b      2
              -----  -
              total  3

            """)
    }

    @Test func tableRightAlignsOnlyTheChosenColumns() {
        let table = TextTable.render(header: ["a", "b", "c"], rows: [["x", "1", "y"], ["xx", "22", "yy"]], rightAlignFrom: 1, rightAlignTo: 1)
        #expect(table == """
            a    b  c
            --  --  --
            x    1  y
            xx  22  yy

            """)
    }

    @Test func tableShowsTitleRowsInvariantsAndErrors() {
        var summary = Self.summary(partial: true, invariants: [
            InvariantResult(name: "money is conserved", expected: .int(100_000), actual: "100000.00"),
            InvariantResult(name: "no negatives", expected: .int(0), actual: nil, error: "relation \"accounts\" does not exist\nLINE 1"),
        ])
        summary.stats.transactions[0].recordFailure(.deadlock)
        summary.stats.recordError(StatementFailure(sqlState: .deadlockDetected, message: "deadlock detected"))
        let text = SummaryReport.table(summary, server: "17.2")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "transfers / ordered: 16 clients, 2 threads, 10.0 s, seed 42, PostgreSQL 17.2  [PARTIAL: stopped early]")
        #expect(lines[1] == "")
        #expect(lines[2].hasPrefix("transaction   attempts  committed  failed"))
        #expect(lines.contains { $0.hasPrefix("transfer             2          1       1        0         1") })
        #expect(lines.contains("invariants:"))
        #expect(lines.contains("  PASS  money is conserved: expected 100000, got 100000.00"))
        #expect(lines.contains("  FAIL  no negatives: relation \"accounts\" does not exist"))
        #expect(lines.contains("errors by SQLSTATE:"))
        #expect(lines.contains { $0.hasPrefix("  40P01     deadlock      1  deadlock detected") })
        // Every table line has the same width as its header once trailing spaces are trimmed… or less.
        let headerWidth = lines[2].count
        #expect(lines[3].count == headerWidth)
    }

    @Test func tableWithoutInvariantsOrErrorsOmitsThoseSections() {
        let text = SummaryReport.table(Self.summary())
        #expect(text.hasPrefix("transfers / ordered: 16 clients, 2 threads, 10.0 s, seed 42\n\n"))
        #expect(!text.contains("invariants:"))
        #expect(!text.contains("errors by SQLSTATE:"))
    }
}

/// Issue 16 in the terminal summary: outcomes, units of work, the statement
/// wait and lost coverage, each shown when it has something to say.
@Suite struct SummaryReportOutcomeTests {
    /// A queue run: `work` committed 3 jobs and ended early twice, `reap` rolled back once and met an undeclared error.
    static func summary(grace: Int = 0, counters: [String] = ["jobs"], invariants: [InvariantResult] = []) -> RunSummary {
        var stats = RunStats(transactionCount: 2)
        for index in 0..<3 { stats.recordCommit(transaction: 0, latencyNanoseconds: 2_000_000, grace: index < grace) }
        stats.recordUnits(transaction: 0, [1_000])
        stats.recordEndedEarly(transaction: 0)
        stats.recordEndedEarly(transaction: 0)
        stats.recordRolledBack(transaction: 1)
        stats.recordFailure(transaction: 1, StatementFailure(sqlState: SQLState("42P01"), message: "relation \"x\" does not exist"), unexpected: true, step: 0)
        return RunSummary(
            workload: "queue", variant: "skip-locked", clients: 4, threads: 1, durationSeconds: 3.2, seed: 1, transactionNames: ["work", "reap"],
            stats: stats, invariants: invariants, partial: false, counterNames: counters)
    }

    @Test("the outcome columns appear when some row has one, and not otherwise")
    func outcomeColumnsOnlyWhenNonZero() throws {
        let table = SummaryReport.table(Self.summary())
        let header = try #require(table.split(separator: "\n").first { $0.hasPrefix("transaction") })
        #expect(header.contains("attempts  committed  rolled back  ended early  failed  unexpected  retries"))
        let total = try #require(table.split(separator: "\n").first { $0.hasPrefix("total") })
        #expect(total.split(separator: " ").prefix(7) == ["total", "7", "3", "1", "2", "1", "1"])
        let plain = SummaryReport.table(SummaryReportTests.summary())
        #expect(!plain.contains("rolled back"))
        #expect(!plain.contains("ended early"))
        #expect(!plain.contains("unexpected"))
    }

    @Test("a gave-up column after retries when some transaction used its last attempt")
    func gaveUpColumn() throws {
        var summary = Self.summary()
        #expect(!SummaryReport.table(summary).contains("gave up"))
        summary.stats.transactions[1].exhaustedRetries = 2
        let table = SummaryReport.table(summary)
        let header = try #require(table.split(separator: "\n").first { $0.hasPrefix("transaction") })
        #expect(header.contains("retries  gave up  deadlock"))
        let reap = try #require(table.split(separator: "\n").first { $0.hasPrefix("reap") })
        let total = try #require(table.split(separator: "\n").first { $0.hasPrefix("total") })
        // reap: attempts 2, committed 0, rolled back 1, ended early 0, failed 1, unexpected 1, retries 0, gave up 2.
        #expect(reap.split(separator: " ").prefix(9).last == "2", "\(reap)")
        #expect(total.split(separator: " ").prefix(9).last == "2", "\(total)")
    }

    @Test("units of work get a line: total with thousands separators and the rate")
    func unitsLine() {
        let table = SummaryReport.table(Self.summary())
        #expect(table.contains("\nunits of work: jobs 1,000 (312.5/s)\n"))
        #expect(!SummaryReport.table(Self.summary(counters: [])).contains("units of work"))
        #expect(SummaryReport.grouped(1_234_567) == "1,234,567")
        #expect(SummaryReport.grouped(999) == "999")
        #expect(SummaryReport.grouped(-1_000) == "-1,000")
    }

    @Test("commits finished in the grace period are reported when there are some")
    func graceLine() {
        #expect(SummaryReport.table(Self.summary(grace: 2)).contains("\ngrace period: 2 commits finished after the window closed (counted in committed and tps, over the 3.2 s window)\n"))
        #expect(!SummaryReport.table(Self.summary()).contains("grace period"))
    }

    @Test("longest wait is the statement's, the per-lock figure is named; lost samples are said plainly")
    func lockWaitsAndCoverage() throws {
        var waits = LockWaitSummary()
        waits.samples = 25
        waits.waitingSum = 25
        waits.waitingMax = 2
        waits.longestWaitMilliseconds = 45
        waits.longestStatementWaitMilliseconds = 1_500
        var row = TimeseriesRow(interval: 0, startSeconds: 0, endSeconds: 1, stats: IntervalStats())
        row.lockWaits = waits
        var record = RunRecord()
        record.lockSampling = RunRecord.CoverageRecord(Coverage(made: 25, due: 61, reconnects: 2))
        let table = SummaryReport.table(Self.summary(), record: record, timeseries: [row])
        #expect(table.contains("lock waits (25 of 61 samples: the sampler lost its connection 2 times): "))
        #expect(table.contains("; longest wait 1500.0 ms (longest single lock wait 45.0 ms);"))
        record.lockSampling = RunRecord.CoverageRecord(Coverage(made: 25, due: 25))
        #expect(SummaryReport.table(Self.summary(), record: record, timeseries: [row]).contains("lock waits (25 samples): "))
        record.lockSampling = RunRecord.CoverageRecord(Coverage(made: 22, due: 25))
        #expect(SummaryReport.table(Self.summary(), record: record, timeseries: [row]).contains("lock waits (22 of 25 samples: 3 missed): "))
    }

    @Test("a during-invariant with a gap in its checks is PASS*, with the gap under it")
    func invariantWithGap() {
        let gap = InvariantResult(name: "no job twice", expected: .int(0), actual: "0", during: DuringCheck(checks: 8, failures: 0, due: 12, reconnects: 1))
        let whole = InvariantResult(name: "no job left", expected: .int(0), actual: "0", during: DuringCheck(checks: 12, failures: 0, due: 12))
        let table = SummaryReport.table(Self.summary(invariants: [gap, whole]))
        #expect(table.contains("\n  PASS*  no job twice: expected 0, got 0; "))
        #expect(table.contains("\n         * 8 of 12 checks: its monitor lost its connection 1 time: not watched the whole run\n"))
        #expect(table.contains("\n  PASS  no job left: expected 0, got 0; 12 checks during the run, 0 failed\n"))
        #expect(SummaryReport.invariantMark(gap) == "PASS*")
        #expect(SummaryReport.invariantMark(whole) == "PASS")
    }

    @Test("summary.csv ends with one pair of columns per counter, and reads back")
    func unitColumnsInTheCSV() throws {
        let summary = Self.summary()
        let csv = SummaryReport.csv(summary)
        let header = try #require(csv.split(separator: "\n").first)
        #expect(header.hasSuffix(",invariant_failures,jobs,jobs_per_s"))
        #expect(csv.split(separator: "\n").last?.hasSuffix(",1000,312.50") == true)
        let files = try ResultFiles.parse(summary: csv)
        let total = try #require(files.summary.last)
        #expect(total.counterNames == ["jobs"])
        #expect(total.units.map(\.total) == [1_000])
        #expect(total.units.map(\.perSecond) == [312.5])
        #expect(total.rolledBack == 1)
        #expect(total.endedEarly == 2)
        #expect(total.unexpectedErrors == 1)
        #expect(total.expectedErrors == 0)
        #expect(files.summary[1].units.map(\.total) == [0])
    }
}
