import Foundation
import Testing
@testable import LockstormCore
@testable import Reports

/// A small tmpfs mounted for one test, and filled so that only a few pages
/// stay free: a disk that fills up while results are written.
struct SmallDisk {
    let path: String

    /// Whether this process may mount a tmpfs (root, or CAP_SYS_ADMIN; CI runs as root).
    static let mountable: Bool = {
        guard geteuid() == 0, let probe = try? SmallDisk(kilobytes: 64) else { return false }
        probe.unmount()
        return true
    }()

    init(kilobytes: Int) throws {
        path = "/tmp/lst-disk-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0755", "tmpfs", path]) == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    /// Fills the disk, then frees `pages` pages of 4 KiB (tmpfs counts pages).
    func fill(leaving pages: Int) throws {
        let filler = path + "/filler"
        let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x2E, count: 4_096)
        var size = 0
        while true {
            let count = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            size += count
        }
        guard ftruncate(descriptor, off_t(max(0, size - pages * 4_096))) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    func unmount() {
        _ = Self.command("/bin/umount", [path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func command(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Issue 20: a full disk leaves every result file whole or missing, never a
/// `.NAME.tmp`, marks the directory INCOMPLETE (or removes it when not even
/// the marker fits), and the error names the path.
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
