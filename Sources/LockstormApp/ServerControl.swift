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

    /// The state file: the server's directory on the first line, the
    /// binaries it was started from on the second (`bin DIR`; older files lack it).
    func recorded() -> (directory: String, binDirectory: String?)? {
        guard let text = try? String(contentsOf: stateFile, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let directory = lines.first, !directory.isEmpty else { return nil }
        let binDirectory = lines.dropFirst().first { $0.hasPrefix("bin ") }.map { String($0.dropFirst(4)) }
        return (directory, binDirectory)
    }

    func recordedDirectory() -> String? { recorded()?.directory }

    /// Starts a server (from the binaries in `pgBin` when given), records it and prints its DATABASE_URL.
    public func start(maxConnections: Int, deadlockTimeout: DeadlockTimeout?, pgBin: String? = nil) throws {
        if let directory = recordedDirectory(), FileManager.default.fileExists(atPath: directory) {
            throw Failure(.usage, "lockstorm: a server is already running in \(directory); run 'lockstorm server stop' first")
        }
        // Ctrl-C while initdb or pg_ctl run: the half-made server is removed.
        let output = self.output
        let trap = SignalTrap(stop: StopSignal()) { signal in
            output.note("\(Session.verb(forSignal: signal)): removing the half-started server")
            CleanupRegistry.shared.runAll()
            Foundation.exit(Session.exitStatus(forSignal: signal).rawValue)
        }
        defer { withExtendedLifetime(trap) {} }
        let server: EmbeddedServer
        do {
            server = try EmbeddedServer.start(EmbeddedServerOptions(
                maxConnections: maxConnections, deadlockTimeoutMilliseconds: deadlockTimeout?.milliseconds, binDirectory: pgBin
            ))
        } catch {
            throw Failure(.runError, "lockstorm: cannot start the server: \(error)")
        }
        do {
            try FileManager.default.createDirectory(at: stateFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((server.directory + "\nbin " + server.binDirectory + "\n").utf8).write(to: stateFile)
        } catch {
            server.stop()
            throw Failure(.runError, "lockstorm: cannot record the server in \(stateFile.path): \(error.localizedDescription)")
        }
        server.detach()
        let version = EmbeddedServer.version(binDirectory: server.binDirectory).map { " " + $0 } ?? ""
        output.line("started PostgreSQL\(version) in \(server.directory) (Unix socket only, binaries in \(server.binDirectory))")
        output.line("DSN: \(server.dsn)")
        output.line("export DATABASE_URL='\(server.dsn.raw)'")
    }

    private func attach(directory: String, binDirectory: String?) throws -> EmbeddedServer {
        do {
            return try EmbeddedServer.attach(directory: directory, binDirectory: binDirectory)
        } catch {
            throw Failure(.runError, "lockstorm: cannot manage the server in \(directory): \(error)")
        }
    }

    /// Says whether the recorded server runs; exit 1 when none does.
    public func status() throws {
        guard let (directory, binDirectory) = recorded() else {
            output.line("no lockstorm server is running")
            throw Failure(.checksFailed, "")
        }
        let server = try attach(directory: directory, binDirectory: binDirectory)
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
        guard let (directory, binDirectory) = recorded() else {
            output.line("no lockstorm server is running")
            return
        }
        let server = try attach(directory: directory, binDirectory: binDirectory)
        server.terminate()
        try? FileManager.default.removeItem(at: stateFile)
        output.line("stopped and removed \(directory)")
    }
}
