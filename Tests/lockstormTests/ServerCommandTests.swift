import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite("lockstorm server (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ServerCommandTests {
    @Test("start prints a working DATABASE_URL, status sees it, stop removes it")
    func startStatusStop() throws {
        let state = "/tmp/lst-state-\(UUID().uuidString.prefix(8))"
        let tmp = "/tmp/lst-srv-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer {
            if let stop = try? ChildProcess(LockstormBinary.path, ["server", "stop"], environment: ["LOCKSTORM_STATE_DIR": state]) { _ = stop.wait(timeout: 60) }
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let environment = ["LOCKSTORM_STATE_DIR": state, "TMPDIR": tmp]
        let start = try ChildProcess(LockstormBinary.path, ["server", "start", "--max-connections", "30"], environment: environment)
        #expect(start.wait(timeout: 120) == 0, "stderr: \(start.standardError)")
        let exportLine = try #require(start.standardOutput.split(separator: "\n").first { $0.hasPrefix("export DATABASE_URL='") })
        let url = String(exportLine.dropFirst("export DATABASE_URL='".count).dropLast())
        let connection = try PostgresConnection(dsn: ConnectionString(url))
        #expect(try connection.execute("SHOW max_connections").scalar == "30")

        let again = try ChildProcess(LockstormBinary.path, ["server", "start"], environment: environment)
        #expect(again.wait(timeout: 60) == 2)
        #expect(again.standardError.contains("already running"))

        let status = try ChildProcess(LockstormBinary.path, ["server", "status"], environment: environment)
        #expect(status.wait(timeout: 60) == 0)
        #expect(status.standardOutput.contains(url))

        let stop = try ChildProcess(LockstormBinary.path, ["server", "stop"], environment: environment)
        #expect(stop.wait(timeout: 60) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty)
        #expect(Processes.alive(mentioning: tmp).isEmpty)

        let after = try ChildProcess(LockstormBinary.path, ["server", "status"], environment: environment)
        #expect(after.wait(timeout: 60) == 1)
        #expect(after.standardOutput.contains("no lockstorm server is running"))
    }
}
