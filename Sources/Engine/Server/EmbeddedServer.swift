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
    /// The directory holding `initdb`, `pg_ctl` and `postgres` (`--pg-bin`);
    /// nil: `LOCKSTORM_PG_BINDIR`, else the one `findBinDirectory` finds.
    public var binDirectory: String?

    public init(maxConnections: Int = 100, deadlockTimeoutMilliseconds: Int? = nil, extraSettings: [String: String] = [:], binDirectory: String? = nil) {
        self.maxConnections = maxConnections
        self.deadlockTimeoutMilliseconds = deadlockTimeoutMilliseconds
        self.extraSettings = extraSettings
        self.binDirectory = binDirectory
    }
}

/// A throwaway PostgreSQL: `initdb` in a private temporary directory, a
/// server listening only on a Unix socket inside it (no TCP port), stopped
/// and deleted by `stop()`, by the cleanup registry on a second Ctrl-C, and
/// by `deinit` as a last resort.
///
/// However lockstorm ends, even by SIGKILL at any moment of the start-up,
/// nothing of the server is left: the lifeline shell (`Lifeline`) makes the
/// directory itself, so there is no moment at which the directory exists
/// without a lifeline; the helpers lockstorm runs (`initdb`, `pg_ctl`) join
/// the lifeline's process group; and when lockstorm's end of the lifeline's
/// pipe closes, the shell ends those helpers, stops the server and deletes
/// the directory it made. A kept server (`detach`) dismisses its lifeline.
public final class EmbeddedServer: Sendable {
    /// The private directory holding the data directory, socket and log.
    public let directory: String
    public let dataDirectory: String
    public let binDirectory: String
    /// The OS user the server runs as when lockstorm runs as root.
    public let runAs: String?
    public let dsn: ConnectionString
    /// Whether this process made `directory` (then it deletes it whatever it
    /// holds); an attached server's directory comes from a state file and is
    /// deleted only when it looks like a cluster.
    private let owned: Bool
    private let stopped = Mutex<Bool>(false)
    private let cleanupToken = Mutex<Int?>(nil)
    private let lifeline: Mutex<Lifeline?>
    /// The helpers running now (PID and process group), and whether a stop
    /// has begun: no helper starts after it.
    private let helpers = Mutex<(running: [pid_t: pid_t], stopping: Bool)>(([:], false))

    /// The server's log (stderr format; deadlock reports name every
    /// participant's query there, see `ServerLogReader`).
    public var logPath: String { directory + "/server.log" }

    /// The superuser created by initdb.
    public static let superuser = "lockstorm"

    private init(directory: String, binDirectory: String, runAs: String?, owned: Bool, lifeline: Lifeline?) {
        self.directory = directory
        self.dataDirectory = directory + "/data"
        self.binDirectory = binDirectory
        self.runAs = runAs
        self.owned = owned
        self.lifeline = Mutex(lifeline)
        let host = directory.replacingOccurrences(of: "/", with: "%2F")
        self.dsn = ConnectionString("postgresql:///postgres?host=\(host)&user=\(Self.superuser)")
    }

    /// Initialises and starts a server; returns once it accepts connections.
    public static func start(_ options: EmbeddedServerOptions = EmbeddedServerOptions()) throws -> EmbeddedServer {
        let binDirectory = try options.binDirectory.map { try checkBinDirectory($0, source: "--pg-bin") } ?? findBinDirectory()
        let account = try unprivilegedAccount()
        let (directory, lifeline) = try makeDirectory(binDirectory: binDirectory, runAs: account?.name)
        let server = EmbeddedServer(directory: directory, binDirectory: binDirectory, runAs: account?.name, owned: true, lifeline: lifeline)
        let token = CleanupRegistry.shared.add(Self.cleanupDescription) { [server] in server.stop() }
        server.cleanupToken.withLock { $0 = token }
        do {
            if let account { try hand(directory, to: account) }
            try server.initialize(options)
            try server.launch()
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// What the cleanup registry says it does for a server.
    public static let cleanupDescription = "removing the embedded server"

    /// Stops a server started earlier by `lockstorm server start`, given its
    /// directory (and the binaries it was started with, when recorded).
    public static func attach(directory: String, binDirectory: String? = nil) throws -> EmbeddedServer {
        let binDirectory = try binDirectory.map { try checkBinDirectory($0, source: "the recorded server's binaries") } ?? findBinDirectory()
        var runAs: String?
        if geteuid() == 0, let attributes = try? FileManager.default.attributesOfItem(atPath: directory),
           let owner = attributes[.ownerAccountName] as? String, owner != "root" {
            runAs = owner
        }
        let server = EmbeddedServer(directory: directory, binDirectory: binDirectory, runAs: runAs, owned: false, lifeline: nil)
        // Attached servers are managed explicitly (terminate), never by deinit.
        server.detach()
        return server
    }

    /// Whether the server process is running (from `pg_ctl status`).
    public var isRunning: Bool {
        (try? runHelper(binDirectory + "/pg_ctl", ["-D", dataDirectory, "status"]).status) == 0
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
        guard let taken = lifeline.withLock({ current -> Lifeline? in
            defer { current = nil }
            return current
        }) else { return }
        taken.dismiss()
    }

    /// Stops the server (immediate shutdown: the data is thrown away anyway)
    /// and deletes its directory. Idempotent and safe from any thread: the
    /// lock is held for the whole shutdown, so a caller that comes while
    /// another thread is stopping the server returns only once it is gone.
    /// A helper another thread is running (initdb, `pg_ctl start`) is ended first.
    public func stop() {
        if let token = cleanupToken.withLock({ $0 }) { CleanupRegistry.shared.remove(token) }
        stopped.withLock { done in
            guard !done else { return }
            endHelpers()
            terminate()
            done = true
        }
        dismissLifeline()
    }

    /// Lets no helper start any more, and ends the ones running (another
    /// thread started them and reaps them): SIGTERM, which initdb answers by
    /// removing what it made; SIGKILL after 5 s.
    private func endHelpers() {
        let running = helpers.withLock { state in
            state.stopping = true
            return state.running
        }
        guard !running.isEmpty else { return }
        // The lifeline ignores SIGTERM: it stays while its group's helpers go.
        for group in Set(running.values) { kill(-group, SIGTERM) }
        for _ in 0..<100 {
            if helpers.withLock({ $0.running.isEmpty }) { return }
            usleep(50_000)
        }
        // Still there: SIGKILL the groups, the lifeline's too (this process cleans up instead).
        for group in Set(running.values) {
            if let shell = lifeline.withLock({ current -> Lifeline? in
                guard current?.pid == group else { return nil }
                defer { current = nil }
                return current
            }) {
                kill(-group, SIGKILL)
                shell.reap()
            } else {
                kill(-group, SIGKILL)
            }
        }
        for _ in 0..<40 where !helpers.withLock({ $0.running.isEmpty }) { usleep(50_000) }
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
        if owned {
            // This process made the directory: it goes, whatever initdb left in it.
            Self.remove(directory)
            return
        }
        // A directory named by a state file: delete only what looks like lockstorm's (a cluster, or nothing yet).
        let looksOurs = FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION")
            || !FileManager.default.fileExists(atPath: dataDirectory)
        if looksOurs { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Deletes `path`, trying again for up to 2 s while a process that is
    /// going away still writes into it.
    private static func remove(_ path: String) {
        for _ in 0..<40 {
            try? FileManager.default.removeItem(atPath: path)
            guard FileManager.default.fileExists(atPath: path) else { return }
            usleep(50_000)
        }
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
        let initdb = try runHelper(binDirectory + "/initdb", [
            "-D", dataDirectory, "-U", Self.superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "-N",
        ])
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
            // Deadlock reports are read back from the log (`ServerLogReader`):
            // a prefix with time and PID, and whole query texts in them.
            "log_line_prefix": "'%m [%p] '",
            "log_min_error_statement": "error",
            "track_activity_query_size": "8192",
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
        let start = try runHelper(binDirectory + "/pg_ctl", [
            "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60", "start",
        ])
        guard start.status == 0 else {
            throw EmbeddedServerError("the embedded PostgreSQL did not start (pg_ctl exit \(start.status)):\n\(start.text.suffix(1_000))\n\(log.suffix(2_000))")
        }
    }

    /// Restarts the server in place (a fast shutdown, then a start): every
    /// connection is cut, the data and the socket directory stay.
    public func restart() throws {
        let result = try runHelper(binDirectory + "/pg_ctl", [
            "-D", dataDirectory, "-l", directory + "/server.log", "-m", "fast", "-w", "-t", "60", "restart",
        ])
        guard result.status == 0 else { throw EmbeddedServerError("pg_ctl restart failed (exit \(result.status)):\n\(result.text.suffix(1_000))") }
    }

    /// Runs a helper (initdb, pg_ctl) as `runAs`, in the lifeline's process
    /// group while there is a lifeline; refused once a stop has begun.
    private func runHelper(_ executable: String, _ arguments: [String]) throws -> ProcessRunner.Output {
        let group = lifeline.withLock { $0?.pid }
        let output = try Spawn.scratchFile()
        defer { close(output) }
        let argv = ProcessRunner.argv(executable, arguments, as: runAs)
        let pid = try helpers.withLock { state throws -> pid_t in
            guard !state.stopping else { throw EmbeddedServerError("the embedded server is being stopped") }
            let pid = try ProcessRunner.start(argv, output: output, joining: group)
            state.running[pid] = (try? Spawn.processGroup(of: pid)) ?? pid
            return pid
        }
        defer { _ = helpers.withLock { $0.running.removeValue(forKey: pid) } }
        let status = try Spawn.wait(pid) ?? -1
        return ProcessRunner.Output(status: status, text: Spawn.contents(of: output))
    }

    /// The server log so far (for error messages).
    var log: String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    // MARK: Discovery

    /// The server programs lockstorm runs, all of which a binaries directory must hold.
    public static let serverPrograms = ["initdb", "pg_ctl", "postgres"]

    /// `LOCKSTORM_PG_BINDIR` when set; else `pg_config --bindir` when it has
    /// the server, else the newest `/usr/lib/postgresql/<version>/bin`.
    public static func findBinDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fileManager = FileManager.default
        if let override = environment["LOCKSTORM_PG_BINDIR"], !override.isEmpty {
            return try checkBinDirectory(override, source: "LOCKSTORM_PG_BINDIR")
        }
        for candidate in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where fileManager.isExecutableFile(atPath: candidate) {
            if let output = try? ProcessRunner.run(candidate, ["--bindir"]), output.status == 0 {
                let directory = output.text.trimmingCharacters(in: .whitespacesAndNewlines)
                if missingPrograms(in: directory).isEmpty { return directory }
            }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name -> (Double, String)? in Double(name).map { ($0, name) } }
            .sorted { $0.0 > $1.0 }
        for (_, name) in versions {
            let directory = "\(root)/\(name)/bin"
            if missingPrograms(in: directory).isEmpty { return directory }
        }
        throw EmbeddedServerError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found. Install the server package (Debian/Ubuntu: apt-get install postgresql), give their directory with --pg-bin (or LOCKSTORM_PG_BINDIR), or pass --dsn / set DATABASE_URL to use an existing server."
        )
    }

    /// `directory` as an absolute path when it holds initdb, pg_ctl and
    /// postgres; otherwise an error that names `source` (the flag or variable
    /// it came from), the directory and what is missing.
    public static func checkBinDirectory(_ directory: String, source: String) throws -> String {
        var path = URL(fileURLWithPath: directory).standardizedFileURL.path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EmbeddedServerError("\(source) \(directory): no such directory")
        }
        guard isDirectory.boolValue else {
            throw EmbeddedServerError("\(source) \(directory): not a directory; give the directory holding PostgreSQL's server programs (initdb, pg_ctl, postgres)")
        }
        let missing = missingPrograms(in: path)
        guard missing.isEmpty else {
            throw EmbeddedServerError(
                "\(source) \(directory): no \(missing.joined(separator: ", ")) there; give the directory holding PostgreSQL's server programs (initdb, pg_ctl, postgres), such as what 'pg_config --bindir' prints or /usr/lib/postgresql/<version>/bin"
            )
        }
        return path
    }

    /// The server programs `directory` lacks (or cannot run).
    static func missingPrograms(in directory: String) -> [String] {
        serverPrograms.filter { !FileManager.default.isExecutableFile(atPath: directory + "/" + $0) }
    }

    /// The version of the server in `binDirectory` (`16.2`), from `postgres --version`; nil when it does not say.
    public static func version(binDirectory: String) -> String? {
        guard let output = try? ProcessRunner.run(binDirectory + "/postgres", ["--version"]), output.status == 0 else { return nil }
        // "postgres (PostgreSQL) 16.2" or "postgres (PostgreSQL) 16.2 (Debian 16.2-1)"
        guard let marker = output.text.range(of: "(PostgreSQL) ") else { return nil }
        let version = output.text[marker.upperBound...].prefix { !$0.isWhitespace }
        return version.isEmpty ? nil : String(version)
    }

    /// Where server directories go: `$TMPDIR`, else /tmp. Unix socket paths
    /// are limited to about 100 bytes, so a long TMPDIR falls back to /tmp.
    static func temporaryBase() -> String {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        // The path goes into a URL, into postgresql.conf and into the lifeline's script: keep it plain.
        let plain = base.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-".contains($0)) }
        if base.isEmpty || base.utf8.count > 60 || !plain { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// A fresh 0700 directory `<base>/lockstorm-XXXXXX` for data and socket,
    /// made by its lifeline (see the type's comment). Without a lifeline
    /// (no pipe, no shell) it is made here, as before there were lifelines.
    static func makeDirectory(binDirectory: String, runAs: String?) throws -> (String, Lifeline?) {
        let base = temporaryBase()
        for _ in 0..<100 {
            let candidate = "\(base)/lockstorm-\(randomSuffix())"
            switch Lifeline.start(directory: candidate, binDirectory: binDirectory, runAs: runAs) {
            case .created(let lifeline): return (candidate, lifeline)
            case .exists: continue
            case .unavailable: return (try makePrivateDirectory(base: base), nil)
            }
        }
        throw EmbeddedServerError("cannot create a temporary directory under \(base): 100 names taken")
    }

    /// Six characters as mkdtemp picks them.
    private static func randomSuffix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<6).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// A fresh 0700 directory under `base`, made here (mkdtemp).
    static func makePrivateDirectory(base: String) throws -> String {
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

    /// The unprivileged account the server runs as when lockstorm runs as
    /// root (postgres, else nobody): initdb refuses to run as root.
    static func unprivilegedAccount() throws -> (name: String, uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0 else { return nil }
        for name in ["postgres", "nobody"] {
            guard let entry = getpwnam(name) else { continue }
            return (name, entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
        throw EmbeddedServerError("running as root, and no unprivileged user (postgres or nobody) exists to run the server")
    }

    /// Gives `directory` to `account`.
    static func hand(_ directory: String, to account: (name: String, uid: uid_t, gid: gid_t)) throws {
        guard chown(directory, account.uid, account.gid) == 0 else {
            throw EmbeddedServerError("cannot hand \(directory) to user \(account.name): \(String(cString: strerror(errno)))")
        }
    }

    /// When running as root, picks an unprivileged account (postgres, else
    /// nobody) and hands it the directory: initdb refuses to run as root.
    public static func unprivilegedUserIfRoot(owning directory: String) throws -> String? {
        guard let account = try unprivilegedAccount() else { return nil }
        try hand(directory, to: account)
        return account.name
    }
}
