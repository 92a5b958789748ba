import Foundation
import Testing
import LockstormCore
@testable import Reports

@Suite struct ResultWriterTests {
    /// A fresh directory under the system's temporary directory, removed by `body`'s caller.
    static func withTemporaryRoot(_ body: (URL) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-tests-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try body(root)
    }

    @Test func unsafeCharactersInNamesAreReplaced() {
        #expect(ResultWriter.safe("my workload/v2") == "my_workload_v2")
        #expect(ResultWriter.safe("a-b_c.d") == "a-b_c.d")
        #expect(ResultWriter.safe("") == "run")
    }

    @Test func writeLeavesOnlyTheFinalFile() throws {
        try Self.withTemporaryRoot { root in
            let writer = ResultWriter(directory: root)
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
            let writer = ResultWriter(directory: root)
            let url = try writer.writeSummary(summary)
            #expect(url.lastPathComponent == "summary.csv")
            #expect(try String(contentsOf: url, encoding: .utf8) == SummaryReport.csv(summary))
            #expect(try FileManager.default.contentsOfDirectory(atPath: writer.directory.path) == ["summary.csv"])
        }
    }
}
