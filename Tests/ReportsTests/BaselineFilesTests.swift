import Foundation
import Reports
import Testing

/// Which result directories a baseline folder gives, newest first.
@Suite struct BaselineFilesTests {
    @Test("a folder gives the runs of the workload and variant newest first, -10 after -2; other runs and non-runs are left out")
    func candidatesNewestFirst() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lst-candidates-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let names = ["t-v-20261123T184512Z", "t-v-20261123T184512Z-2", "t-v-20261123T184512Z-10", "t-v-20261124T000000Z", "t-w-20261125T000000Z", "t-v-20261126T000000Z-nosummary"]
        for name in names {
            let directory = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if !name.hasSuffix("nosummary") { try Data("transaction\n".utf8).write(to: directory.appendingPathComponent("summary.csv")) }
        }
        let found = try BaselineFiles.candidates(root.path, workload: "t", variant: "v").map(\.lastPathComponent)
        #expect(found == ["t-v-20261124T000000Z", "t-v-20261123T184512Z-10", "t-v-20261123T184512Z-2", "t-v-20261123T184512Z"])
        #expect(try BaselineFiles.resolve(root.path, workload: "t", variant: "v").lastPathComponent == "t-v-20261124T000000Z")
        let single = root.appendingPathComponent("t-w-20261125T000000Z").path
        #expect(try BaselineFiles.candidates(single, workload: "t", variant: "v").map(\.path) == [single])
        #expect(throws: ResultFilesError.self) { try BaselineFiles.candidates(root.path, workload: "x", variant: "v") }
    }
}
