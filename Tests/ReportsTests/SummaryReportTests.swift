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
