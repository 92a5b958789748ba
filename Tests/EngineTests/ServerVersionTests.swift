import Engine
import Foundation
import PostgresClient
import Testing
import TestSupport

/// The version matrix (scripts/pg-matrix.sh) runs the integration suites
/// once per PostgreSQL major version by pointing LOCKSTORM_PG_BINDIR at that
/// version's binaries, and sets LOCKSTORM_EXPECT_PG_MAJOR. This suite proves
/// the servers the tests start really are that version, so a matrix row
/// cannot pass while quietly testing Debian's default server.
@Suite("Server version", .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ServerVersionTests {
    @Test("the embedded server runs the binaries it found: the version the server reports is the one `postgres --version` prints")
    func serverMatchesItsBinaries() throws {
        let binDirectory = try EmbeddedServer.findBinDirectory()
        let child = try ChildProcess(binDirectory + "/postgres", ["--version"])
        #expect(child.wait(timeout: 30) == 0)
        let printed = child.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        // "postgres (PostgreSQL) 16.2" or "… 15.18 (Debian 15.18-0+deb12u1)"
        let words = printed.split(separator: " ")
        let binaryVersion = try #require(words.count >= 3 ? String(words[2]) : nil)
        let binaryMajor = try #require(Int(binaryVersion.split(separator: ".").first ?? ""))

        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            #expect(connection.serverVersion / 10000 == binaryMajor)
            #expect(try connection.execute("SHOW server_version").scalar?.hasPrefix(binaryVersion) == true)
            if let expected = ProcessInfo.processInfo.environment["LOCKSTORM_EXPECT_PG_MAJOR"] {
                #expect(String(connection.serverVersion / 10000) == expected, "the matrix asked for PostgreSQL \(expected)")
            }
        }
    }
}
