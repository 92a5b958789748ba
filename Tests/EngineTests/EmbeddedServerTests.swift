import Engine
import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite("Embedded server", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct EmbeddedServerTests {
    @Test("listens only on a private Unix socket, with the settings asked for, and leaves nothing behind")
    func lifecycle() throws {
        let server = try EmbeddedServer.start(EmbeddedServerOptions(maxConnections: 42, deadlockTimeoutMilliseconds: 75))
        let directory = server.directory
        do {
            let connection = try PostgresConnection(dsn: server.dsn)
            #expect(try connection.execute("SHOW max_connections").scalar == "42")
            #expect(try connection.execute("SHOW deadlock_timeout").scalar == "75ms")
            #expect(try connection.execute("SHOW fsync").scalar == "off")
            #expect(try connection.execute("SHOW listen_addresses").scalar == "")
            #expect(try connection.execute("SHOW unix_socket_directories").scalar == directory)
            let attributes = try FileManager.default.attributesOfItem(atPath: directory)
            #expect((attributes[.posixPermissions] as? Int) == 0o700)
            if geteuid() == 0 {
                // initdb refuses root: the server runs as an unprivileged account.
                #expect(server.runAs != nil)
                #expect(try connection.execute("SELECT current_setting('data_directory')").scalar == directory + "/data")
            }
            #expect(!Processes.alive(mentioning: directory).isEmpty)
        }
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(Processes.alive(mentioning: directory).isEmpty)
        // Stopping twice is harmless.
        server.stop()
    }
}
