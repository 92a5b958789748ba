import Foundation
import Testing
import LockstormCore
@testable import Reports

@Suite struct ResultWriterTests {
    /// A fresh directory under the system's temporary directory, removed by `body`'s caller.
    static func withTemporaryRoot(_ body: (URL) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-tests-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try body(root)
    }

    static let date = Date(timeIntervalSince1970: 1_795_459_512)  // 2026-11-23T18:45:12Z

    @Test func timestampIsCompactUTC() {
        #expect(ResultWriter.timestamp(Self.date) == "20261123T184512Z")
        #expect(ResultWriter.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }

    @Test func timestampAgreesWithFoundationsCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        func reference(_ date: Date) -> String {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            func two(_ value: Int?) -> String { let text = String(value ?? 0); return text.count < 2 ? "0" + text : text }
            return "\(parts.year ?? 0)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
        }
        // Fractions of a second, a leap day, the ends of years and days, far ahead.
        let seconds: [Double] = [0, 0.999, 59.5, 951_782_400, 951_868_799.75, 1_709_164_800.25, 1_767_225_599.999_9, 1_795_459_512.5, 4_102_444_800, 32_503_680_000.1]
        for value in seconds + (0..<50).map({ Double($0) * 86_399.37 * 97 + 0.6 }) {
            let date = Date(timeIntervalSince1970: value)
            #expect(ResultWriter.timestamp(date) == reference(date), "\(value)")
        }
    }

    @Test func unsafeCharactersInNamesAreReplaced() {
        #expect(ResultWriter.safe("my workload/v2") == "my_workload_v2")
        #expect(ResultWriter.safe("a-b_c.d") == "a-b_c.d")
        #expect(ResultWriter.safe("") == "run")
    }

    @Test func directoryIsNamedAfterWorkloadVariantAndTime() throws {
        try Self.withTemporaryRoot { root in
            let writer = try ResultWriter(root: root.appendingPathComponent("results"), workload: "transfers", variant: "ordered", date: Self.date)
            #expect(writer.directory.lastPathComponent == "transfers-ordered-20261123T184512Z")
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: writer.directory.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        }
    }

    @Test func sameNameNeverOverwritesAnEarlierRun() throws {
        try Self.withTemporaryRoot { root in
            let first = try ResultWriter(root: root, workload: "w", variant: "v", date: Self.date)
            try first.write("summary.csv", "first\n")
            let second = try ResultWriter(root: root, workload: "w", variant: "v", date: Self.date)
            let third = try ResultWriter(root: root, workload: "w", variant: "v", date: Self.date)
            #expect(first.directory.lastPathComponent == "w-v-20261123T184512Z")
            #expect(second.directory.lastPathComponent == "w-v-20261123T184512Z-2")
            #expect(third.directory.lastPathComponent == "w-v-20261123T184512Z-3")
            try second.write("summary.csv", "second\n")
            #expect(try String(contentsOf: first.directory.appendingPathComponent("summary.csv"), encoding: .utf8) == "first\n")
            #expect(try String(contentsOf: second.directory.appendingPathComponent("summary.csv"), encoding: .utf8) == "second\n")
        }
    }

    @Test func writeLeavesOnlyTheFinalFile() throws {
        try Self.withTemporaryRoot { root in
            let writer = try ResultWriter(root: root, workload: "w", variant: "v", date: Self.date)
            let url = try writer.write("run.json", "{}\n")
            #expect(url == writer.directory.appendingPathComponent("run.json"))
            try writer.write("run.json", "{\"v\": 2}\n")
            #expect(try String(contentsOf: url, encoding: .utf8) == "{\"v\": 2}\n")
            let names = try FileManager.default.contentsOfDirectory(atPath: writer.directory.path)
            #expect(names == ["run.json"])
        }
    }

    @Test func writeSummaryWritesTheCSV() throws {
        try Self.withTemporaryRoot { root in
            let summary = SummaryReportTests.summary()
            let writer = try ResultWriter(root: root, workload: summary.workload, variant: summary.variant, date: Self.date)
            let url = try writer.writeSummary(summary)
            #expect(url.lastPathComponent == "summary.csv")
            #expect(try String(contentsOf: url, encoding: .utf8) == SummaryReport.csv(summary))
            #expect(try FileManager.default.contentsOfDirectory(atPath: writer.directory.path) == ["summary.csv"])
        }
    }
}
