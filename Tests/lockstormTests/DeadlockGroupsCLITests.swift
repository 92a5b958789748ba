import Foundation
import Testing
import TestSupport

/// Issue 17, "group like a person would": the checkout of carts of 2–4
/// products, each decrementing its stock in cart order, makes many exact
/// deadlock shapes of one cause. On the embedded server with 9 clients the
/// summary must lead with that cause, naming the table, and deadlocks.csv
/// must carry the group with tables by name (the OIDs resolved before teardown).
@Suite("deadlocks grouped by statement (the binary, the embedded server)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct DeadlockGroupsCLITests {
    static let workload = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/checkout-carts.yaml").path

    @Test("checkout carts, 9 clients, deadlock_timeout 50 ms: the first deadlock line names inventory and covers most deadlocks")
    func checkoutCartsLeadWithOneGroup() throws {
        let tmp = "/tmp/lst-dlgroups-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let out = tmp + "/results"
        let child = try ChildProcess(LockstormBinary.path, [
            "run", Self.workload, "-c", "9", "-T", "4", "--deadlock-timeout", "50ms", "--seed", "17", "--out", out,
        ], environment: ["TMPDIR": tmp + "/server"])
        let status = child.wait(timeout: 180)
        #expect(status == 0, "stderr: \(child.standardError)")
        let output = child.standardOutput
        let lines = output.split(separator: "\n").map(String.init)

        let runs = try FileManager.default.contentsOfDirectory(atPath: out)
        try #require(runs.count == 1, "stderr: \(child.standardError)")
        let csv = try String(contentsOfFile: "\(out)/\(runs[0])/deadlocks.csv", encoding: .utf8)
        let rows = CSVOracle.records(csv)
        let deadlocks = rows.compactMap { $0["count"].flatMap { Int($0) } }.reduce(0, +)
        try #require(deadlocks >= 4, "too few deadlocks to group: \(deadlocks)\n\(output)")

        // The summary's first deadlock line: a group of like statements with its count and share.
        let header = try #require(lines.firstIndex { $0.hasPrefix("deadlocks by statement (") }, "\(output)")
        let first = lines[header + 1]
        #expect(first.contains("UPDATE inventory ↔ UPDATE inventory: rows taken in different orders"), "\(first)")
        let count = try #require(Int(first.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber }), "\(first)")
        #expect(count * 2 > deadlocks, "first group \(count) of \(deadlocks) deadlocks\n\(output)")
        #expect(lines[header...].prefix { !$0.isEmpty }.allSatisfy { $0.count <= 100 })

        // deadlocks.csv: the group column, and tables by name wherever the DETAIL gave an OID.
        #expect(csv.hasPrefix("signature,count,group,group_reason,"))
        let signatures = rows.count
        let groups = Set(rows.compactMap { $0["group"] })
        #expect(groups.contains("UPDATE inventory ↔ UPDATE inventory"))
        for row in rows {
            let waits = row["sample_waits"] ?? ""
            #expect(waits.range(of: #"relation \d+"#, options: .regularExpression) == nil, "bare OID in \(waits)")
            if (row["sample_detail"] ?? "").contains("tuple (") { #expect(waits.contains("of inventory"), "\(waits)") }
            // Holds are the earlier statements with their bound values, never placeholders.
            #expect(row["sample_holds"]?.contains("$") == false, "\(row["sample_holds"] ?? "")")
        }
        // Which participant held what depends on attribution (issue 17's other lane); that
        // holds reach the file with their values does not.
        #expect(rows.contains { $0["sample_holds"]?.contains("UPDATE inventory (product_id=") == true })
        // The figures for the record: deadlocks, exact shapes, groups.
        print("checkout-carts: \(deadlocks) deadlocks, \(signatures) signatures, \(groups.count) groups; first group \(count)")
        #expect(Processes.alive(mentioning: tmp).isEmpty)
    }
}
