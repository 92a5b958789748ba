import Foundation
import Testing
import TestSupport
@testable import LockstormCore
@testable import Reports

@Suite("result files on a full disk", .serialized, .enabled(if: SmallDisk.mountable, "mounting a tmpfs is not permitted here (needs root or CAP_SYS_ADMIN)"))
struct FullDiskTests {
    /// What the pipeline does: the marker first, every file, the report, then the marker goes.
    static func writeRun(into directory: URL) throws {
        let writer = ResultWriter(directory: directory)
        try writer.markIncomplete()
        do {
            let summary = ResultSchemaRoundTripTests.summary()
            try writer.writeAll(summary: summary, timeseries: [], record: ResultSchemaRoundTripTests.record(schedule: true, lost: 1))
            try writer.writeReport()
            try writer.markComplete()
        } catch {
            writer.noteIncomplete("\(error)")
            throw error
        }
    }

    /// The files a complete run leaves, and their contents, written on a roomy disk.
    static func reference() throws -> [String: Data] {
        // Named as on the small disk: report.html shows the folder's name.
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("lst-ref-\(UUID().uuidString.prefix(8))")
        let directory = parent.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: parent) }
        try writeRun(into: directory)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            files[name] = try Data(contentsOf: directory.appendingPathComponent(name))
        }
        return files
    }

    @Test("each file is whole or missing, no temporary file is left, and the folder is marked or gone", arguments: [0, 1, 2, 3, 5, 8, 12, 20])
    func fullDisk(freePages: Int) throws {
        let reference = try Self.reference()
        #expect(reference.keys.sorted() == ["deadlocks.csv", "errors.csv", "latency.csv", "report.html", "run.json", "summary.csv", "timeseries.csv"])
        let disk = try SmallDisk(kilobytes: 256)
        defer { disk.unmount() }
        let directory = URL(fileURLWithPath: disk.path + "/run")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        try disk.fill(leaving: freePages)

        var failure: (any Error)?
        do { try Self.writeRun(into: directory) } catch { failure = error }

        guard FileManager.default.fileExists(atPath: directory.path) else {
            // Not even the marker fitted: nothing was kept, and the error says where.
            let error = try #require(failure)
            #expect("\(error)".contains(directory.path), "\(error)")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names.allSatisfy { !$0.hasSuffix(".tmp") }, "temporary files left: \(names)")
        if let failure {
            expectNamed(failure, path: directory.path)
            #expect(names.contains(ResultWriter.incompleteMarker), "a failed write left no marker: \(names)")
            #expect(ResultWriter.isIncomplete(directory))
        } else {
            #expect(!names.contains(ResultWriter.incompleteMarker))
            #expect(Set(names) == Set(reference.keys))
        }
        for name in names where name != ResultWriter.incompleteMarker {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            #expect(data == reference[name], "\(name) is not whole (\(data.count) of \(reference[name]?.count ?? -1) bytes)")
        }
    }

    private func expectNamed(_ error: any Error, path: String) {
        let text = "\(error)"
        #expect(text.contains(path), "the error names no path: \(text)")
        #expect(text.contains("No space left on device"), "\(text)")
        #expect(error.localizedDescription == text)
    }
}
