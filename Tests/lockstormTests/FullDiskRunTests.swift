import Foundation
import Testing
import TestSupport

/// Issue 20, as a user meets a full disk: a run whose results folder is on a
/// disk that fills up while the results are written exits 3, names the file
/// it could not write, leaves no `.NAME.tmp` file, and marks the folder
/// INCOMPLETE; the files that are there are whole.
@Suite(
    "a run on a full disk (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"),
    .enabled(if: SmallDisk.mountable, "mounting a tmpfs is not permitted here (needs root or CAP_SYS_ADMIN)")
)
struct FullDiskRunTests {
    @Test("the disk fills while results are written: exit 3, the path named, no temporary file, the folder marked INCOMPLETE")
    func fullDisk() throws {
        let tmp = "/tmp/lst-full-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        let small = try SmallDisk(kilobytes: 128)
        let disk = small.path
        defer {
            small.unmount()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        try FileManager.default.createDirectory(atPath: disk + "/results", withIntermediateDirectories: true)
        // Room for the marker and a few small files, not for everything (report.html alone is larger).
        try small.fill(leaving: 4)
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
