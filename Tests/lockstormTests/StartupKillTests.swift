import Foundation
import Testing
import TestSupport

/// Issue 20: lockstorm SIGKILLed at any moment of an embedded server's
/// start-up (making its directory, `initdb`, `pg_ctl start`) leaves nothing
/// behind: no `$TMPDIR/lockstorm-XXXXXX`, no initdb, no postgres. Before the
/// fix a kill during initdb left an empty directory in 11 of 30 tries.
@Suite("a SIGKILLed start-up leaves no directory or process behind (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct StartupKillTests {
    /// When the kill comes.
    enum Moment: CustomStringConvertible, Sendable {
        /// This many milliseconds after lockstorm started (the directory and lifeline are being made).
        case afterStart(milliseconds: Int)
        /// This many milliseconds after initdb appeared.
        case duringInitdb(milliseconds: Int)
        /// As soon as `pg_ctl start` appears.
        case duringPgCtlStart

        var description: String {
            switch self {
            case .afterStart(let milliseconds): "\(milliseconds) ms after start"
            case .duringInitdb(let milliseconds): "\(milliseconds) ms into initdb"
            case .duringPgCtlStart: "during pg_ctl start"
            }
        }
    }

    static let moments: [Moment] = [
        .afterStart(milliseconds: 0), .afterStart(milliseconds: 15), .afterStart(milliseconds: 40),
        .duringInitdb(milliseconds: 0), .duringInitdb(milliseconds: 100), .duringInitdb(milliseconds: 200),
        .duringInitdb(milliseconds: 300), .duringInitdb(milliseconds: 450), .duringInitdb(milliseconds: 600),
        .duringPgCtlStart,
    ]

    @Test("lockstorm server start, SIGKILLed", arguments: moments)
    func serverStart(at moment: Moment) throws {
        try killDuringStartup(at: moment, arguments: ["server", "start", "--max-connections", "20"])
    }

    @Test("lockstorm run, SIGKILLed during initdb")
    func run() throws {
        let workload = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path
        try killDuringStartup(at: .duringInitdb(milliseconds: 250), arguments: ["run", workload, "-c", "2", "-T", "30", "--out", "RESULTS"])
    }

    /// Starts lockstorm with a private TMPDIR (and state directory), kills it
    /// at `moment`, and expects the TMPDIR empty and no process of it left.
    private func killDuringStartup(at moment: Moment, arguments: [String]) throws {
        let root = "/tmp/lst-kill-\(UUID().uuidString.prefix(8))"
        let tmp = root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer {
            // Hygiene if the test fails: end what this test's lockstorm left (found by the unique path), then the files.
            for pid in Self.processes(mentioning: tmp) { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: root)
        }
        let child = try ChildProcess(LockstormBinary.path, arguments.map { $0 == "RESULTS" ? root + "/results" : $0 }, environment: [
            "TMPDIR": tmp, "LOCKSTORM_STATE_DIR": root + "/state",
        ])
        switch moment {
        case .afterStart(let milliseconds):
            usleep(UInt32(milliseconds) * 1_000)
        case .duringInitdb(let milliseconds):
            let seen = child.waitUntil(timeout: 60) { Self.processes(mentioning: tmp, command: "/initdb").count > 0 }
            try #require(seen, "initdb never appeared: \(child.standardError)")
            usleep(UInt32(milliseconds) * 1_000)
        case .duringPgCtlStart:
            let seen = child.waitUntil(timeout: 60) { Self.processes(mentioning: tmp, command: "/pg_ctl", and: " start").count > 0 }
            try #require(seen, "pg_ctl start never appeared: \(child.standardError)")
        }
        try #require(child.wait(timeout: 0) == nil, "lockstorm finished before the kill (\(moment)): \(child.standardError)")
        child.signal(SIGKILL)
        #expect(child.wait(timeout: 10) == 128 + SIGKILL)
        let clean = child.waitUntil(timeout: 15) { Self.entries(tmp).isEmpty && Self.processes(mentioning: tmp).isEmpty }
        #expect(clean, "killed \(moment): left in TMPDIR \(Self.entries(tmp)), processes \(Self.processes(mentioning: tmp).map { Self.commandLine($0) })")
    }

    private static func entries(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    /// Live processes whose command line, or environment (initdb hands its
    /// postgres children the data directory as PGDATA), mentions `text`;
    /// with `command`, only those whose command line also contains it (and `and`).
    static func processes(mentioning text: String, command: String? = nil, and also: String? = nil) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var found: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid() else { continue }
            let line = commandLine(pid)
            if let command, !line.contains(command) { continue }
            if let also, !line.contains(also) { continue }
            let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ").map { String(decoding: $0, as: UTF8.self) } ?? ""
            // The test's own children get TMPDIR=tmp: only PGDATA and arguments count.
            guard line.contains(text) || environment.contains("PGDATA=" + text) else { continue }
            if let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex, stat[stat.index(close, offsetBy: 2)] == "Z" {
                continue
            }
            found.append(pid)
        }
        return found
    }

    static func commandLine(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
}
