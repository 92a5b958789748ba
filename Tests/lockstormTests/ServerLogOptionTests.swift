import Foundation
import Testing
import TestSupport

/// `--server-log` on a user's server: with its log readable, deadlock
/// participants come from the server's own reports, as on the embedded server.
@Suite("--server-log (the binary, a user's server)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ServerLogOptionTests {
    static let transfers = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path

    private func scratch() throws -> String {
        let path = "/tmp/lst-serverlog-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The certainty column of every participant row of deadlock-events.csv.
    private func certainties(_ directory: String) throws -> [String] {
        let text = try String(contentsOfFile: directory + "/deadlock-events.csv", encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            ["server-log", "inferred", "uncertain"].first { line.contains(",\($0),") }
        }
    }

    @Test("unordered transfers with --server-log: every participant from the server's report")
    func participantsFromTheUsersLog() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try ChildProcess(LockstormBinary.path, [
                "run", Self.transfers, "--variant", "unordered", "--dsn", server.dsn, "--server-log", server.directory + "/server.log",
                "-c", "9", "-T", "4", "--set", "accounts=10", "--seed", "3", "--out", out,
            ])
            let status = child.wait(timeout: 120)
            #expect(status == 0 || status == 1, "stdout: \(child.standardOutput)\nstderr: \(child.standardError)")
            #expect(!child.standardOutput.contains(server.password) && !child.standardError.contains(server.password))
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            try #require(folders.count == 1, "one result folder: \(folders)")
            let rows = try certainties("\(out)/\(folders[0])")
            try #require(rows.count >= 2, "the run deadlocked (1 s deadlock_timeout, 10 accounts): \(child.standardOutput)")
            #expect(rows.allSatisfy { $0 == "server-log" }, "\(Dictionary(grouping: rows, by: { $0 }).mapValues(\.count))")
        }
    }

    @Test("--server-log naming no file is a usage error before anything starts")
    func missingLogFile() throws {
        let child = try ChildProcess(LockstormBinary.path, [
            "run", Self.transfers, "--dsn", "postgresql://nobody@127.0.0.1:1/none", "--server-log", "/nonexistent/postgresql.log", "-T", "1",
        ])
        let status = child.wait(timeout: 60)
        #expect(status == 2)
        #expect(child.standardError.contains("--server-log /nonexistent/postgresql.log: no such file"), "\(child.standardError)")
    }
}
