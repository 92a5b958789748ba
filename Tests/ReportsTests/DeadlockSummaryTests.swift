import Foundation
import LockstormCore
import Reports
import Testing
import TestSupport

/// The summary's deadlock section and report.html lead with groups of like
/// statements, then the exact shapes, samples and holds.
@Suite struct DeadlockSummaryTests {
    @Test("a 34-shape checkout-like set: the first deadlock line is one group covering the majority, naming the table")
    func firstLineCoversTheMajority() throws {
        let records = SyntheticDeadlock.checkoutLike
        let text = SummaryReport.deadlockGroups(records)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        #expect(lines[0] == "deadlocks by statement (36 deadlocks, 3 groups, 34 exact shapes; all in deadlocks.csv):")
        // The first group line: count, share, statements, reason.
        let first = lines[1]
        #expect(first.hasPrefix("  32×  89 %  UPDATE inventory ↔ UPDATE inventory: rows taken in different orders"), "\(first)")
        let count = try #require(Int(first.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber }))
        #expect(count * 2 > 36)
        #expect(first.contains("inventory"))
        // Below it: its shapes (most frequent first), then a sample with what each held and wanted.
        #expect(lines[2].contains("cycles of 2, 3 sessions; 30 shapes: 2× cart2 step 3 ↔ cart2 step 3;"), "\(lines[2])")
        let sample = try #require(lines.firstIndex { $0.contains("e.g. ") })
        #expect(sample < lines.firstIndex { $0.contains("LOCK TABLE order_lines ↔") } ?? 0)
        #expect(lines[sample].hasSuffix("e.g. cart2 step 3 held step 1 UPDATE inventory (product_id=4),"), "\(lines[sample])")
        // Holds wrap rather than being cut: the next line goes on with the next statement.
        #expect(lines[sample + 1].hasSuffix("      step 2 INSERT INTO order_lines (order_id=1, product_id=4, qty=1)"), "\(lines[sample + 1])")
        #expect(lines[sample + 2].hasSuffix("and wants ShareLock on transaction 9 for step 3 UPDATE inventory (product_id=3)"), "\(lines[sample + 2])")
        #expect(text.contains("and wants ExclusiveLock on advisory lock (7, 2)\n"))
        // The other groups follow, aligned under the first.
        let groupLines = lines.filter { $0.range(of: #"^  +\d+× +\d+ %  "#, options: .regularExpression) != nil }
        #expect(groupLines.count == 3)
        #expect(Set(groupLines.map { $0.range(of: " %  ")?.lowerBound.utf16Offset(in: $0) }).count == 1, "\(groupLines)")
        #expect(groupLines[1].hasSuffix("LOCK TABLE order_lines ↔ LOCK TABLE orders: tables locked in different orders"))
        #expect(lines.allSatisfy { $0.count <= 100 }, "\(lines.filter { $0.count > 100 })")
    }

    @Test("report.html shows the groups first, then the signatures with holds; a version 1 deadlocks.csv still renders")
    func htmlGroupsFirst() throws {
        let records = SyntheticDeadlock.checkoutLike
        let csv = CSV.document(header: DeadlockTable.columns, rows: DeadlockTable.rows(records))
        let files = try ResultFiles.parse(summary: ResultFixtures.summary, deadlocks: csv)
        let cycles = try #require(files.deadlocks)
        #expect(cycles.first?.group == "UPDATE inventory ↔ UPDATE inventory")
        #expect(cycles.first?.sampleHolds.contains("step 1 UPDATE inventory") == true)
        let html = HTMLReport.render(files)
        let groups = try #require(html.range(of: "id=\"deadlock-groups-table\""))
        let shapes = try #require(html.range(of: "id=\"deadlocks-table\""))
        #expect(groups.lowerBound < shapes.lowerBound)
        #expect(html.contains("36 deadlocks in 3 groups of like statements, 34 exact shapes"))
        #expect(html.contains("<td class=\"message\">UPDATE inventory ↔ UPDATE inventory</td><td class=\"message\">rows taken in different orders</td><td class=\"num\">30</td>"))
    }
}
