import Foundation
import PostgresClient
import Synchronization

/// What went wrong while starting or stopping the throwaway server.
public struct EmbeddedServerError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// How to size the throwaway server for a run.
public struct EmbeddedServerOptions: Sendable {
    public var maxConnections: Int
    /// `deadlock_timeout` in milliseconds; `nil` keeps PostgreSQL's 1 s.
    public var deadlockTimeoutMilliseconds: Int?
    /// Extra `postgresql.conf` lines (`name = value`).
    public var extraSettings: [String: String]

    public init(maxConnections: Int = 100, deadlockTimeoutMilliseconds: Int? = nil, extraSettings: [String: String] = [:]) {
        self.maxConnections = maxConnections
        self.deadlockTimeoutMilliseconds = deadlockTimeoutMilliseconds
        self.extraSettings = extraSettings
    }
}

/// A throwaway PostgreSQL: `initdb` in a private temporary directory, a
/// server listening only on a Unix socket inside it (no TCP port), stopped
/// and deleted by `stop()`, by the cleanup registry on a second Ctrl-C, and
/// by `deinit` as a last resort.
public final class EmbeddedServer: Sendable {
    /// The private directory holding the data directory, socket and log.
    public let directory: String
    public let dataDirectory: String
    public let binDirectory: String
    /// The OS user the server runs as when lockstorm runs as root.
    public let runAs: String?
    public let dsn: ConnectionString
    private let stopped = Mutex<Bool>(false)
    private let cleanupToken = Mutex<Int?>(nil)
    /// The lifeline shell's PID and the write end of its pipe (see `startLifeline`).
    private let lifeline = Mutex<(pid: pid_t, descriptor: Int32)?>(nil)

    /// The superuser created by initdb.
    public static let superuser = "lockstorm"

    private init(directory: String, binDirectory: String, runAs: String?) {
        self.directory = directory
        self.dataDirectory = directory + "/data"
        self.binDirectory = binDirectory
        self.runAs = runAs
        let host = directory.replacingOccurrences(of: "/", with: "%2F")
        self.dsn = ConnectionString("postgresql:///postgres?host=\(host)&user=\(Self.superuser)")
    }

    /// Initialises and starts a server; returns once it accepts connections.
    public static func start(_ options: EmbeddedServerOptions = EmbeddedServerOptions()) throws -> EmbeddedServer {
        let binDirectory = try findBinDirectory()
        let directory = try makePrivateDirectory()
        let runAs = try unprivilegedUserIfRoot(owning: directory)
        let server = EmbeddedServer(directory: directory, binDirectory: binDirectory, runAs: runAs)
        let token = CleanupRegistry.shared.add { [server] in server.stop() }
        server.cleanupToken.withLock { $0 = token }
        server.startLifeline()
        do {
            try server.initialize(options)
            try server.launch()
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// Starts a small shell that waits on a pipe only this process writes
    /// to. If lockstorm dies without stopping the server (SIGKILL, a crash,
    /// the OOM killer), the kernel closes the pipe, the shell reads
    /// end-of-file, and it stops the server and deletes the directory. When
    /// lockstorm stops the server itself, the shell finds nothing left to do.
    private func startLifeline() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        // Only the shell may hold the read end, and no child (pg_ctl, the
        // postmaster) may inherit the write end, or end-of-file never comes.
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let pgCtl = binDirectory + "/pg_ctl"
        var stopCommand = "'\(pgCtl)' -D '\(dataDirectory)' -m immediate -w -t 20 stop"
        if let runAs { stopCommand = "/usr/sbin/runuser -u \(runAs) -- \(stopCommand)" }
        let script = """
            while read -r line; do [ "$line" = done ] && exit 0; done
            if [ -f '\(dataDirectory)/postmaster.pid' ]; then \(stopCommand); fi
            if [ -f '\(dataDirectory)/PG_VERSION' ] || [ ! -e '\(dataDirectory)' ]; then rm -rf '\(directory)'; fi
            """
        let devNull = open("/dev/null", O_WRONLY)
        defer {
            close(ends[0])
            if devNull >= 0 { close(devNull) }
        }
        let quiet = devNull >= 0 ? devNull : 2
        if let pid = try? Spawn.start(["/bin/sh", "-c", script], standardInput: ends[0], standardOutput: quiet, standardError: quiet, ownProcessGroup: true) {
            lifeline.withLock { $0 = (pid, ends[1]) }
        } else {
            close(ends[1])
        }
    }

    /// Stops a server started earlier by `lockstorm server start`, given its directory.
    public static func attach(directory: String) throws -> EmbeddedServer {
        let binDirectory = try findBinDirectory()
        var runAs: String?
        if geteuid() == 0, let attributes = try? FileManager.default.attributesOfItem(atPath: directory),
           let owner = attributes[.ownerAccountName] as? String, owner != "root" {
            runAs = owner
        }
        let server = EmbeddedServer(directory: directory, binDirectory: binDirectory, runAs: runAs)
        // Attached servers are managed explicitly (terminate), never by deinit.
        server.detach()
        return server
    }

    /// Whether the server process is running (from `pg_ctl status`).
    public var isRunning: Bool {
        (try? ProcessRunner.run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "status"], as: runAs).status) == 0
    }

    /// Keeps the server when this object goes away (for `lockstorm server start`).
    public func detach() {
        stopped.withLock { $0 = true }
        if let token = cleanupToken.withLock({ $0 }) { CleanupRegistry.shared.remove(token) }
        // A kept server must outlive this process.
        dismissLifeline()
    }

    /// Tells the lifeline shell to exit without cleaning up, and reaps it.
    private func dismissLifeline() {
        guard let (pid, descriptor) = lifeline.withLock({ current -> (pid_t, Int32)? in
            defer { current = nil }
            return current.map { ($0.pid, $0.descriptor) }
        }) else { return }
        _ = write(descriptor, "done\n", 5)
        close(descriptor)
        for _ in 0..<200 {
            if (try? Spawn.wait(pid, block: false)) ?? nil != nil { return }
            usleep(10_000)
        }
    }

    /// Stops the server (immediate shutdown: the data is thrown away anyway)
    /// and deletes its directory. Idempotent and safe from any thread: the
    /// lock is held for the whole shutdown, so a caller that comes while
    /// another thread is stopping the server returns only once it is gone.
    public func stop() {
        if let token = cleanupToken.withLock({ $0 }) { CleanupRegistry.shared.remove(token) }
        stopped.withLock { done in
            guard !done else { return }
            terminate()
            done = true
        }
        dismissLifeline()
    }

    /// Stops an attached (or detached) server regardless of earlier state.
    public func terminate() {
        let pgCtl = binDirectory + "/pg_ctl"
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            let stop = try? ProcessRunner.run(pgCtl, ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "20", "stop"], as: runAs)
            if stop?.status != 0, let pidText = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
               let line = pidText.split(separator: "\n").first, let pid = Int32(line.trimmingCharacters(in: .whitespaces)), pid > 0,
               Self.isPostmaster(pid: pid, dataDirectory: dataDirectory) {
                kill(pid, SIGKILL)
                // Wait briefly for the postmaster to go.
                for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
            }
        }
        // Delete only what lockstorm made: a directory holding a cluster (or nothing yet).
        let looksOurs = FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION")
            || !FileManager.default.fileExists(atPath: dataDirectory)
        if looksOurs { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Whether `pid` is still the postmaster of `dataDirectory` (a PID from
    /// a stale postmaster.pid may since belong to another process).
    static func isPostmaster(pid: Int32, dataDirectory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return commandLine.contains("postgres") && commandLine.contains(dataDirectory)
    }

    deinit {
        stop()
    }

    // MARK: Steps

    private func initialize(_ options: EmbeddedServerOptions) throws {
        let initdb = try ProcessRunner.run(binDirectory + "/initdb", [
            "-D", dataDirectory, "-U", Self.superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "-N",
        ], as: runAs)
        guard initdb.status == 0 else {
            throw EmbeddedServerError("initdb failed (exit \(initdb.status)):\n\(initdb.text.suffix(2_000))")
        }
        var settings: [String: String] = [
            "listen_addresses": "''",
            "unix_socket_directories": "'\(directory)'",
            "unix_socket_permissions": "0700",
            "max_connections": String(max(options.maxConnections, 20)),
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "shared_buffers": "128MB",
            "max_locks_per_transaction": "128",
            "logging_collector": "off",
            "log_min_messages": "warning",
        ]
        if let deadlock = options.deadlockTimeoutMilliseconds { settings["deadlock_timeout"] = "\(deadlock)ms" }
        for (key, value) in options.extraSettings { settings[key] = value }
        var text = "\n# lockstorm embedded server\n"
        for key in settings.keys.sorted() { text += "\(key) = \(settings[key] ?? "")\n" }
        let confPath = dataDirectory + "/postgresql.conf"
        guard let handle = FileHandle(forWritingAtPath: confPath) else {
            throw EmbeddedServerError("cannot write \(confPath)")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    private func launch() throws {
        let start = try ProcessRunner.run(binDirectory + "/pg_ctl", [
            "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60", "start",
        ], as: runAs)
        guard start.status == 0 else {
            throw EmbeddedServerError("the embedded PostgreSQL did not start (pg_ctl exit \(start.status)):\n\(start.text.suffix(1_000))\n\(log.suffix(2_000))")
        }
    }

    /// Restarts the server in place (a fast shutdown, then a start): every
    /// connection is cut, the data and the socket directory stay.
    public func restart() throws {
        let result = try ProcessRunner.run(binDirectory + "/pg_ctl", [
            "-D", dataDirectory, "-l", directory + "/server.log", "-m", "fast", "-w", "-t", "60", "restart",
        ], as: runAs)
        guard result.status == 0 else { throw EmbeddedServerError("pg_ctl restart failed (exit \(result.status)):\n\(result.text.suffix(1_000))") }
    }

    /// The server log so far (for error messages).
    var log: String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    // MARK: Discovery

    /// `pg_config --bindir` when it has the server, else the newest
    /// `/usr/lib/postgresql/<version>/bin`.
    public static func findBinDirectory() throws -> String {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["LOCKSTORM_PG_BINDIR"], fileManager.isExecutableFile(atPath: override + "/initdb") {
            return override
        }
        for candidate in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where fileManager.isExecutableFile(atPath: candidate) {
            if let output = try? ProcessRunner.run(candidate, ["--bindir"]), output.status == 0 {
                let directory = output.text.trimmingCharacters(in: .whitespacesAndNewlines)
                if fileManager.isExecutableFile(atPath: directory + "/initdb") && fileManager.isExecutableFile(atPath: directory + "/pg_ctl") {
                    return directory
                }
            }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name -> (Double, String)? in Double(name).map { ($0, name) } }
            .sorted { $0.0 > $1.0 }
        for (_, name) in versions {
            let directory = "\(root)/\(name)/bin"
            if fileManager.isExecutableFile(atPath: directory + "/initdb") && fileManager.isExecutableFile(atPath: directory + "/pg_ctl") {
                return directory
            }
        }
        throw EmbeddedServerError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found. Install the server package (Debian/Ubuntu: apt-get install postgresql), or pass --dsn / set DATABASE_URL to use an existing server."
        )
    }

    /// A fresh 0700 directory for data and socket. Unix socket paths are
    /// limited to about 100 bytes, so a long TMPDIR falls back to /tmp.
    static func makePrivateDirectory() throws -> String {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        // The path goes into a URL and into postgresql.conf: keep it plain.
        let plain = base.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-".contains($0)) }
        if base.isEmpty || base.utf8.count > 60 || !plain { base = "/tmp" }
        if base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/lockstorm-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkdtemp($0) != nil } ?? false
        }
        guard created else {
            throw EmbeddedServerError("cannot create a temporary directory under \(base): \(String(cString: strerror(errno)))")
        }
        return template.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// When running as root, picks an unprivileged account (postgres, else
    /// nobody) and hands it the directory: initdb refuses to run as root.
    public static func unprivilegedUserIfRoot(owning directory: String) throws -> String? {
        guard geteuid() == 0 else { return nil }
        for name in ["postgres", "nobody"] {
            guard let entry = getpwnam(name) else { continue }
            guard chown(directory, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
                throw EmbeddedServerError("cannot hand \(directory) to user \(name): \(String(cString: strerror(errno)))")
            }
            return name
        }
        throw EmbeddedServerError("running as root, and no unprivileged user (postgres or nobody) exists to run the server")
    }
}
