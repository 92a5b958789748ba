import Engine
import Foundation

/// `lockstorm server`: a throwaway local PostgreSQL that stays up between
/// runs, remembered in a state file.
public struct ServerControl {
    public let output: any OutputSink
    /// Where the running server's directory is remembered.
    public var stateFile: URL

    public init(output: any OutputSink = StandardOutput(), environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.output = output
        let base = environment["LOCKSTORM_STATE_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSTemporaryDirectory()).appendingPathComponent(".lockstorm")
        stateFile = base.appendingPathComponent("server")
    }

    func recordedDirectory() -> String? {
        guard let text = try? String(contentsOf: stateFile, encoding: .utf8) else { return nil }
        let directory = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return directory.isEmpty ? nil : directory
    }

    /// Starts a server, records it and prints its DATABASE_URL.
    public func start(maxConnections: Int, deadlockTimeout: DeadlockTimeout?) throws {
        if let directory = recordedDirectory(), FileManager.default.fileExists(atPath: directory) {
            throw Failure(.usage, "lockstorm: a server is already running in \(directory); run 'lockstorm server stop' first")
        }
        // Ctrl-C while initdb or pg_ctl run: the half-made server is removed.
        let output = self.output
        let trap = SignalTrap(stop: StopSignal()) { _ in
            output.note("interrupted: removing the half-started server")
            CleanupRegistry.shared.runAll()
            Foundation.exit(ExitStatus.interrupted.rawValue)
        }
        defer { withExtendedLifetime(trap) {} }
        let server: EmbeddedServer
        do {
            server = try EmbeddedServer.start(EmbeddedServerOptions(maxConnections: maxConnections, deadlockTimeoutMilliseconds: deadlockTimeout?.milliseconds))
        } catch {
            throw Failure(.runError, "lockstorm: cannot start the server: \(error)")
        }
        do {
            try FileManager.default.createDirectory(at: stateFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((server.directory + "\n").utf8).write(to: stateFile)
        } catch {
            server.stop()
            throw Failure(.runError, "lockstorm: cannot record the server in \(stateFile.path): \(error.localizedDescription)")
        }
        server.detach()
        output.line("started PostgreSQL in \(server.directory) (Unix socket only)")
        output.line("DSN: \(server.dsn)")
        output.line("export DATABASE_URL='\(server.dsn.raw)'")
    }

    /// Says whether the recorded server runs; exit 1 when none does.
    public func status() throws {
        guard let directory = recordedDirectory() else {
            output.line("no lockstorm server is running")
            throw Failure(.checksFailed, "")
        }
        let server = try EmbeddedServer.attach(directory: directory)
        if server.isRunning {
            output.line("running in \(directory)")
            output.line("export DATABASE_URL='\(server.dsn.raw)'")
        } else {
            output.line("not running (stale record of \(directory); 'lockstorm server stop' clears it)")
            throw Failure(.checksFailed, "")
        }
    }

    /// Stops the recorded server and deletes its directory.
    public func stop() throws {
        guard let directory = recordedDirectory() else {
            output.line("no lockstorm server is running")
            return
        }
        let server = try EmbeddedServer.attach(directory: directory)
        server.terminate()
        try? FileManager.default.removeItem(at: stateFile)
        output.line("stopped and removed \(directory)")
    }
}
