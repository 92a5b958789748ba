import Engine
import Foundation
import PostgresClient

/// Tests that need PostgreSQL start a real one: the embedded server
/// lockstorm itself provides. Nothing mocks the database.
public enum TestServer {
    /// Whether database tests are switched off (`LOCKSTORM_SKIP_DB_TESTS=1`,
    /// for a quick unit-only run). CI never sets it.
    public static var skipped: Bool {
        ProcessInfo.processInfo.environment["LOCKSTORM_SKIP_DB_TESTS"] == "1"
    }

    /// Starts a throwaway server, runs `body`, and always stops it.
    public static func with<T>(
        deadlockTimeoutMilliseconds: Int? = 100, maxConnections: Int = 60, _ body: (EmbeddedServer) throws -> T
    ) throws -> T {
        let server = try EmbeddedServer.start(EmbeddedServerOptions(maxConnections: maxConnections, deadlockTimeoutMilliseconds: deadlockTimeoutMilliseconds))
        defer { server.stop() }
        return try body(server)
    }

    /// Repository root (for workloads/), from this file's location.
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Reads a shipped workload file.
    public static func workloadText(_ name: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent("workloads/\(name)"), encoding: .utf8)
    }
}

/// Facts about processes, for "nothing was left behind" assertions.
public enum Processes {
    /// PIDs of live (non-zombie) processes whose command line mentions `text`.
    public static func alive(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var found: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid() else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
            let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            guard commandLine.contains(text) else { continue }
            if let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex,
               stat[stat.index(close, offsetBy: 2)] == "Z" {
                continue
            }
            found.append(pid)
        }
        return found
    }
}
