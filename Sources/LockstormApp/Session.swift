import Engine
import Foundation
import PostgresClient

/// Where the database comes from: `--dsn`, else `DATABASE_URL`, else an
/// embedded throwaway server (with `deadlock_timeout` lowered when asked,
/// from the binaries `--pg-bin` names when given).
public struct DatabaseTarget: Sendable {
    public var dsn: String?
    public var deadlockTimeout: DeadlockTimeout?
    /// `--pg-bin`: the directory of the embedded server's programs (else
    /// `LOCKSTORM_PG_BINDIR`, else the one lockstorm finds).
    public var pgBin: String?
    /// `--server-log`: the log file of the user's server (`--dsn`), read
    /// for the server's own deadlock reports as the embedded server's is.
    public var serverLog: String?
    public var environment: [String: String]

    public init(dsn: String? = nil, deadlockTimeout: DeadlockTimeout? = nil, pgBin: String? = nil, serverLog: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.dsn = dsn
        self.deadlockTimeout = deadlockTimeout
        self.pgBin = pgBin
        self.serverLog = serverLog
        self.environment = environment
    }

    /// Checks a `--server-log` file: a regular file lockstorm may read.
    /// Returns the message that says what is wrong, or nil.
    public static func problem(withServerLog path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "--server-log \(path): no such file (give the log file your server writes, e.g. its log_directory/log_filename or pg_ctl -l file)"
        }
        if isDirectory.boolValue { return "--server-log \(path) is a directory; give the log file itself" }
        if !FileManager.default.isReadableFile(atPath: path) { return "--server-log \(path): lockstorm may not read it (permission denied)" }
        return nil
    }

    /// The server the user named, if any.
    public var external: ConnectionString? {
        if let dsn, !dsn.isEmpty { return ConnectionString(dsn) }
        if let url = environment["DATABASE_URL"], !url.isEmpty { return ConnectionString(url) }
        return nil
    }

    /// Checks a `--pg-bin` directory: it must hold initdb, pg_ctl and
    /// postgres. Returns the message that says what is wrong, or nil.
    public static func problem(withPgBin directory: String) -> String? {
        do {
            _ = try EmbeddedServer.checkBinDirectory(directory, source: "--pg-bin")
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// The database a session runs against.
public struct Database: Sendable {
    public var dsn: ConnectionString
    /// Whether lockstorm started it (and removes it when the session closes).
    public var isEmbedded: Bool
    /// For explore, replay and fuzz: how their sessions lower `deadlock_timeout` on a server not their own.
    public var scenarioOptions = ScenarioRunOptions()
    /// The server's log, when lockstorm can read it (the embedded server's):
    /// deadlocks are attributed from the server's own reports there.
    public var serverLog: String?
}

/// One command's run: the signal trap (first signal stops gracefully, a
/// second exits at once after cleanup), the database it runs against and its
/// cleanup, and the exit status a signal maps to.
///
/// Open one per command, `close()` it when done (a `defer`): the embedded
/// server is stopped before the signal handlers go.
public final class Session {
    /// Set by the first SIGINT, SIGTERM or SIGHUP; the engine polls it.
    public let stop = StopSignal()
    public let output: any OutputSink
    private var trap: SignalTrap?
    private var servers: [EmbeddedServer] = []

    /// Installs the trap; `onFirstSignal` says what the command does about it (printed as a note).
    public init(output: any OutputSink, onFirstSignal: @escaping @Sendable (Int32) -> String) {
        self.output = output
        trap = SignalTrap(stop: stop) { signal in output.note(onFirstSignal(signal)) }
    }

    /// The first signal that arrived, if any.
    public var firstSignal: Int32? { trap?.firstSignal }

    /// "interrupted" for Ctrl-C, "terminated" for SIGTERM and SIGHUP.
    public static func verb(forSignal signal: Int32) -> String { signal == SIGINT ? "interrupted" : "terminated" }

    /// The exit status of a run a signal stopped: 130 for SIGINT, 143 for SIGTERM and SIGHUP.
    public static func exitStatus(forSignal signal: Int32) -> ExitStatus { signal == SIGINT ? .interrupted : .terminated }

    /// Throws the signal's exit status (with no message) when a signal stopped the session.
    public func throwIfSignalled() throws {
        if let signal = firstSignal { throw Failure(Self.exitStatus(forSignal: signal), "") }
    }

    /// A failure with `status`, unless a signal stopped the session: then
    /// the signal's status (130/143) with the same message. Whatever the
    /// run was doing when the signal came (connecting, setup, load,
    /// reconnecting to a lost server, checks, teardown, writing results),
    /// the exit status follows the signal.
    public func failure(_ status: ExitStatus, _ message: String) -> Failure {
        guard let signal = firstSignal, status != .usage else { return Failure(status, message) }
        return Failure(Self.exitStatus(forSignal: signal), message)
    }

    /// Runs `body` (a run's load, checks and result writing) with a second
    /// signal hurrying it rather than ending the process: what is in flight
    /// is canceled at once and the results gathered so far are still written.
    public func gathering<T>(_ body: () throws -> T) rethrows -> T {
        trap?.setGathering(true)
        defer { trap?.setGathering(false) }
        return try body()
    }

    /// Stops the embedded servers, then removes the signal handlers.
    public func close() {
        for server in servers.reversed() { server.stop() }
        servers.removeAll()
        trap = nil
    }

    deinit { close() }

    /// The database for a load run: the user's, else an embedded server
    /// with room for `clients` connections (plus lockstorm's own).
    public func loadDatabase(_ target: DatabaseTarget, clients: Int) throws -> Database {
        if let external = target.external {
            if target.deadlockTimeout != nil {
                output.note("--deadlock-timeout applies only to the embedded server; set deadlock_timeout on \(external) yourself")
            }
            noteIgnoredPgBin(target, external: external)
            var database = Database(dsn: external, isEmbedded: false)
            database.serverLog = target.serverLog
            return database
        }
        return try embedded(target, EmbeddedServerOptions(maxConnections: clients + 10, deadlockTimeoutMilliseconds: target.deadlockTimeout?.milliseconds), settings: "max_connections \(clients + 10)")
    }

    /// The database for explore, replay and fuzz: the user's, whose sessions
    /// are asked to lower `deadlock_timeout`, or an embedded server started with it lowered.
    public func scenarioDatabase(_ target: DatabaseTarget, deadlockTimeoutMilliseconds: Int, connections: Int) throws -> Database {
        if let external = target.external {
            noteIgnoredPgBin(target, external: external)
            var database = Database(dsn: external, isEmbedded: false)
            database.scenarioOptions.sessionDeadlockTimeoutMilliseconds = deadlockTimeoutMilliseconds
            database.serverLog = target.serverLog
            return database
        }
        return try embedded(target, EmbeddedServerOptions(maxConnections: connections + 10, deadlockTimeoutMilliseconds: deadlockTimeoutMilliseconds), settings: "deadlock_timeout \(deadlockTimeoutMilliseconds)ms")
    }

    private func noteIgnoredServerLog(_ target: DatabaseTarget) {
        if let log = target.serverLog { output.note("--server-log \(log) applies only to a server given by --dsn or DATABASE_URL; the embedded server's own log is read") }
    }

    private func noteIgnoredPgBin(_ target: DatabaseTarget, external: ConnectionString) {
        if target.pgBin != nil { output.note("--pg-bin applies only to the embedded server; \(external) runs its own binaries") }
    }

    /// Starts an embedded server from the binaries the target names (or
    /// finds), saying which PostgreSQL it is before initdb runs.
    private func embedded(_ target: DatabaseTarget, _ options: EmbeddedServerOptions, settings: String) throws -> Database {
        noteIgnoredServerLog(target)
        var options = options
        do {
            let explicit = target.pgBin ?? target.environment["LOCKSTORM_PG_BINDIR"].flatMap { $0.isEmpty ? nil : $0 }
            let binDirectory = try target.pgBin.map { try EmbeddedServer.checkBinDirectory($0, source: "--pg-bin") }
                ?? EmbeddedServer.findBinDirectory(environment: target.environment)
            options.binDirectory = binDirectory
            let version = EmbeddedServer.version(binDirectory: binDirectory).map { " " + $0 } ?? ""
            output.note("starting an embedded PostgreSQL\(version)\(explicit == nil ? "" : " from \(binDirectory)") (\(settings))…")
            let server = try EmbeddedServer.start(options)
            servers.append(server)
            var database = Database(dsn: server.dsn, isEmbedded: true)
            database.serverLog = server.logPath
            return database
        } catch {
            throw failure(.runError, "lockstorm: cannot start the embedded server: \(error)")
        }
    }

    /// Called by the main thread before it exits: once a second signal has
    /// started the immediate exit, the handler owns the process's end.
    public static func yieldToExitInProgress() {
        SignalTrap.yieldToExitInProgress()
    }
}
