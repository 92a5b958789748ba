import Foundation
import Testing
import TestSupport

/// `--pg-bin DIR` (and `LOCKSTORM_PG_BINDIR`) choose the embedded server's
/// binaries, so a run meets the major version a user deploys; the run says
/// which PostgreSQL it started.
@Suite("--pg-bin chooses the embedded server's binaries (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct PgBinTests {
    let transfers = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path

    /// The system's server binaries, found the way a user would: `pg_config --bindir`, else /usr/lib/postgresql/<newest>/bin.
    static func systemBinDirectory() throws -> String {
        let programs = ["initdb", "pg_ctl", "postgres"]
        func complete(_ directory: String) -> Bool { programs.allSatisfy { FileManager.default.isExecutableFile(atPath: directory + "/" + $0) } }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_config") {
            let directory = try output("/usr/bin/pg_config", ["--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines)
            if complete(directory) { return directory }
        }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted(by: >)
        let directory = try #require(versions.map { "/usr/lib/postgresql/\($0)/bin" }.first(where: complete), "no PostgreSQL server binaries on this machine")
        return directory
    }

    /// What a short-lived program prints (it leaves no daemon behind, so Foundation's Process will do).
    static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `16.2` from `postgres --version` in `directory`.
    static func version(_ directory: String) throws -> String {
        let text = try output(directory + "/postgres", ["--version"])
        let marker = try #require(text.range(of: "(PostgreSQL) "), "postgres --version said: \(text)")
        return String(text[marker.upperBound...].prefix { !$0.isWhitespace })
    }

    @Test("a run with --pg-bin starts that server, says which, and records its version")
    func runWithPgBin() throws {
        let binDirectory = try Self.systemBinDirectory()
        let version = try Self.version(binDirectory)
        let tmp = "/tmp/lst-pgb-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let child = try ChildProcess(LockstormBinary.path, [
            "run", transfers, "--variant", "ordered", "-c", "2", "-t", "2", "--set", "accounts=10", "--pg-bin", binDirectory + "/", "--out", tmp + "/results",
        ], environment: ["TMPDIR": tmp + "/server", "LOCKSTORM_PG_BINDIR": "/nonexistent-lockstorm-bin"])
        #expect(child.wait(timeout: 120) == 0, "stderr: \(child.standardError)")
        // The flag wins over the environment variable, and the note says which PostgreSQL it is.
        #expect(child.standardError.contains("starting an embedded PostgreSQL \(version) from \(binDirectory) (max_connections 12)"), "stderr: \(child.standardError)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: tmp + "/results")
        let run = try #require(runs.first)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(tmp)/results/\(run)/run.json"))) as? [String: Any]
        let server = record?["server"] as? [String: Any]
        #expect((server?["version"] as? String)?.hasPrefix(version) == true, "run.json server: \(String(describing: server))")
        #expect(child.standardOutput.contains("PostgreSQL \(version)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
    }

    @Test("server start --pg-bin records the binaries; status and stop use them")
    func serverWithPgBin() throws {
        let binDirectory = try Self.systemBinDirectory()
        let version = try Self.version(binDirectory)
        let tmp = "/tmp/lst-pgs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        let environment = ["TMPDIR": tmp + "/server", "LOCKSTORM_STATE_DIR": tmp + "/state"]
        defer {
            if let stop = try? ChildProcess(LockstormBinary.path, ["server", "stop"], environment: environment) { _ = stop.wait(timeout: 60) }
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let start = try ChildProcess(LockstormBinary.path, ["server", "start", "--pg-bin", binDirectory], environment: environment)
        #expect(start.wait(timeout: 120) == 0, "stderr: \(start.standardError)")
        #expect(start.standardOutput.contains("started PostgreSQL \(version) in \(tmp)/server/lockstorm-"), "\(start.standardOutput)")
        let state = try String(contentsOfFile: tmp + "/state/server", encoding: .utf8)
        #expect(state.contains("\nbin \(binDirectory)\n"), "state file: \(state)")
        // The kept server survives its command.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").count == 1)
        let status = try ChildProcess(LockstormBinary.path, ["server", "status"], environment: environment)
        #expect(status.wait(timeout: 60) == 0, "\(status.standardOutput) \(status.standardError)")
        let stop = try ChildProcess(LockstormBinary.path, ["server", "stop"], environment: environment)
        #expect(stop.wait(timeout: 60) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
        #expect(Processes.alive(mentioning: tmp).isEmpty)
    }

    @Test("a LOCKSTORM_PG_BINDIR without the server programs is a clear run error, not a silent fallback")
    func badEnvironmentVariable() throws {
        let child = try ChildProcess(LockstormBinary.path, ["run", transfers, "-t", "1"], environment: ["LOCKSTORM_PG_BINDIR": "/tmp", "DATABASE_URL": ""])
        #expect(child.wait(timeout: 60) == 3)
        #expect(child.standardError.contains("cannot start the embedded server: LOCKSTORM_PG_BINDIR /tmp: no initdb, pg_ctl, postgres there"), "\(child.standardError)")
    }
}
