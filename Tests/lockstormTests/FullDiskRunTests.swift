import Foundation
import Testing
import TestSupport

/// Issue 20, as a user meets a full disk: a run whose results folder is on a
/// disk that fills up while the results are written exits 3, names the file
/// it could not write, leaves no `.NAME.tmp` file, and marks the folder
/// INCOMPLETE; the files that are there are whole.
@Suite(
    "a run on a full disk (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"),
    .enabled(if: Tmpfs.mountable, "mounting a tmpfs is not permitted here (needs root or CAP_SYS_ADMIN)")
)
struct FullDiskRunTests {
    /// Fills the file system at `path`, then frees `pages` pages of 4 KiB.
    static func fill(_ path: String, leaving pages: Int) throws {
        let descriptor = open(path + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x2E, count: 4_096)
        var size = 0
        while true {
            let count = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            size += count
        }
        try #require(ftruncate(descriptor, off_t(max(0, size - pages * 4_096))) == 0)
    }

    static func command(_ executable: String, _ arguments: [String]) -> Int32 { Tmpfs.command(executable, arguments) }

    @Test("the disk fills while results are written: exit 3, the path named, no temporary file, the folder marked INCOMPLETE")
    func fullDisk() throws {
        let tmp = "/tmp/lst-full-\(UUID().uuidString.prefix(8))"
        let disk = tmp + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        try #require(Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=128k", "tmpfs", disk]) == 0)
        defer {
            _ = Self.command("/bin/umount", [disk])
            try? FileManager.default.removeItem(atPath: tmp)
        }
        try FileManager.default.createDirectory(atPath: disk + "/results", withIntermediateDirectories: true)
        // Room for the marker and a few small files, not for everything (report.html alone is larger).
        try Self.fill(disk, leaving: 4)
        let child = try ChildProcess(LockstormBinary.path, [
            "run", TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path, "--variant", "ordered",
            "-c", "2", "-t", "3", "--set", "accounts=10", "--out", disk + "/results",
        ], environment: ["TMPDIR": tmp + "/server"])
        let status = child.wait(timeout: 120)
        #expect(status == 3, "stderr: \(child.standardError)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: disk + "/results")
        try #require(runs.count == 1, "result folders: \(runs); stderr: \(child.standardError)")
        let folder = "\(disk)/results/\(runs[0])"
        let errors = child.standardError
        #expect(errors.contains("could not write results: cannot write \(folder)/"), "the error names no path: \(errors)")
        #expect(errors.contains("No space left on device"), "\(errors)")
        #expect(errors.contains("is marked INCOMPLETE"), "\(errors)")
        #expect(!errors.contains("NSCocoaErrorDomain"), "\(errors)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(names.allSatisfy { !$0.hasSuffix(".tmp") }, "temporary files left: \(names)")
        #expect(names.contains("INCOMPLETE"), "the folder is not marked incomplete: \(names)")
        #expect(!names.contains("report.html"), "report.html cannot have fitted: \(names)")
        // What is there is whole: every CSV ends its last line, run.json parses.
        for name in names where name.hasSuffix(".csv") {
            let text = try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
            #expect(text.hasSuffix("\n") && text.contains(","), "\(name) is cut short: \(text.suffix(80))")
        }
        if names.contains("run.json") {
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/run.json"))) }
        }
        // The server is gone all the same.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
    }
}

/// Whether this process may mount a tmpfs (CI runs as root), and how.
enum Tmpfs {
    static let mountable: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = "/tmp/lst-probe-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil,
              command("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]) == 0 else { return false }
        _ = command("/bin/umount", [probe])
        return true
    }()

    static func command(_ executable: String, _ arguments: [String]) -> Int32 {
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
