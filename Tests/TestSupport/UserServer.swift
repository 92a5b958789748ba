import Engine
import Foundation
import PostgresClient

/// What went wrong while setting up or driving a `UserServer`.
public struct UserServerError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A PostgreSQL set up the way a user's own server is, for tests that run
/// the `lockstorm` binary against it with `--dsn`: it listens on TCP
/// 127.0.0.1 on a free port, the only way in over TCP is a password
/// (scram-sha-256), the role lockstorm uses is not a superuser but owns its
/// database, and `deadlock_timeout` is PostgreSQL's default (1 s).
///
/// It is deliberately not lockstorm's `EmbeddedServer` (a Unix socket, a
/// trusted superuser, whatever the run asks for): the point is to meet
/// lockstorm as a new user does. The test owns the server: it can restart
/// it mid-run, and `with` stops it and deletes its directory however the
/// test ends. A lifeline shell removes it too if the test process dies.
public final class UserServer {
    /// The login role lockstorm connects as: no superuser, owns `database`.
    public static let user = "shop"
    public static let database = "shop"
    /// The superuser, reachable only through the Unix socket (trust).
    public static let superuser = "postgres"

    /// The private directory holding the data directory, the socket and the log.
    public let directory: String
    public let dataDirectory: String
    public let binDirectory: String
    /// The OS user the server runs as when the tests run as root.
    public let runAs: String?
    public private(set) var port: Int = 0
    /// `user`'s password: random, so that a test can look for it in lockstorm's output.
    public let password: String
    private var stopped = false
    private var lifeline: (pid: pid_t, descriptor: Int32)?

    /// What lockstorm is given: `postgresql://user:password@127.0.0.1:PORT/db`.
    public var dsn: String {
        "postgresql://\(Self.user):\(password)@127.0.0.1:\(port)/\(Self.database)"
    }

    /// The same server and role without the password (must be refused).
    public var dsnWithoutPassword: String {
        "postgresql://\(Self.user)@127.0.0.1:\(port)/\(Self.database)"
    }

    private init(directory: String, binDirectory: String, runAs: String?) {
        self.directory = directory
        self.dataDirectory = directory + "/data"
        self.binDirectory = binDirectory
        self.runAs = runAs
        self.password = "pw" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
    }

    /// Starts a server, runs `body`, and always stops and deletes it.
    public static func with<T>(_ body: (UserServer) throws -> T) throws -> T {
        let server = try start()
        defer { server.stop() }
        return try body(server)
    }

    /// `initdb`, configuration, start, then the role and its database.
    public static func start() throws -> UserServer {
        let binDirectory = try EmbeddedServer.findBinDirectory()
        let directory = try makeDirectory()
        let runAs = try EmbeddedServer.unprivilegedUserIfRoot(owning: directory)
        let server = UserServer(directory: directory, binDirectory: binDirectory, runAs: runAs)
        server.startLifeline()
        do {
            try server.initialize()
            try server.launch()
            try server.createRole()
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    deinit {
        stop()
    }

    // MARK: Driving the server

    /// `pg_ctl restart -m fast`: every connection is cut (open transactions
    /// roll back), the data stays, and the server listens on the same port again.
    public func restart() throws {
        let result = try run(binDirectory + "/pg_ctl", [
            "-D", dataDirectory, "-l", directory + "/server.log", "-m", "fast", "-w", "-t", "60", "restart",
        ])
        guard result.status == 0 else {
            throw UserServerError("pg_ctl restart failed (exit \(result.status)):\n\(result.text.suffix(1_000))\n\(log.suffix(2_000))")
        }
    }

    /// Stops the server (immediate: the data is thrown away) and deletes its directory. Idempotent.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            _ = try? run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"])
        }
        try? FileManager.default.removeItem(atPath: directory)
        dismissLifeline()
    }

    /// A connection as `user`, over TCP, with the password: what lockstorm gets.
    public func connect() throws -> PostgresConnection {
        try PostgresConnection(dsn: ConnectionString(dsn), applicationName: "lockstorm-tests")
    }

    /// The first column of the first row of `sql`, as an integer, run as `user` over TCP.
    public func integer(_ sql: String) throws -> Int64 {
        let connection = try connect()
        guard let value = try connection.execute(sql).int(0, 0) else {
            throw UserServerError("\(sql) returned no integer")
        }
        return value
    }

    /// The server log so far (for failure messages).
    public var log: String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    // MARK: Setting up

    private func initialize() throws {
        let initdb = try run(binDirectory + "/initdb", [
            "-D", dataDirectory, "-U", Self.superuser, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "-N",
        ])
        guard initdb.status == 0 else {
            throw UserServerError("initdb failed (exit \(initdb.status)):\n\(initdb.text.suffix(2_000))")
        }
        // Over TCP only a password gets in; the Unix socket (inside the
        // private directory) is for the superuser that creates the role.
        try replace(dataDirectory + "/pg_hba.conf", with: """
            local  all  \(Self.superuser)  trust
            host   all  all        127.0.0.1/32  scram-sha-256

            """)
    }

    /// Picks a free port and starts; a port taken in between is retried with another.
    private func launch() throws {
        var lastFailure = ""
        for _ in 0..<5 {
            port = try Self.freePort()
            // deadlock_timeout is not set: PostgreSQL's default (1 s) is the point.
            // fsync is off only to spare the shared machine; a fast restart is clean anyway.
            try append(dataDirectory + "/postgresql.conf", """

                # UserServer (lockstorm tests)
                listen_addresses = '127.0.0.1'
                port = \(port)
                unix_socket_directories = '\(directory)'
                unix_socket_permissions = 0700
                password_encryption = 'scram-sha-256'
                max_connections = 100
                fsync = off
                synchronous_commit = off
                full_page_writes = off
                logging_collector = off

                """)
            let start = try run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60", "start"])
            if start.status == 0 { return }
            lastFailure = "pg_ctl start failed (exit \(start.status)) on port \(port):\n\(start.text.suffix(1_000))\n\(log.suffix(2_000))"
            // Port taken: the later `port =` line wins on the next attempt.
        }
        throw UserServerError(lastFailure)
    }

    private func createRole() throws {
        let host = directory.replacingOccurrences(of: "/", with: "%2F")
        let admin = try PostgresConnection(dsn: ConnectionString("postgresql:///postgres?host=\(host)&user=\(Self.superuser)&port=\(port)"))
        _ = try admin.executeScript("CREATE ROLE \(Self.user) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '\(password)'")
        _ = try admin.executeScript("CREATE DATABASE \(Self.database) OWNER \(Self.user)")
    }

    // MARK: Lifeline

    /// A shell that waits on a pipe only this process writes to: if the test
    /// process dies without stopping the server, the kernel closes the pipe
    /// and the shell stops the server and deletes the directory.
    private func startLifeline() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        var stopCommand = "'\(binDirectory)/pg_ctl' -D '\(dataDirectory)' -m immediate -w -t 20 stop"
        if let runAs { stopCommand = "\(Self.runuser) -u \(runAs) -- \(stopCommand)" }
        let script = """
            while read -r line; do [ "$line" = done ] && exit 0; done
            if [ -f '\(dataDirectory)/postmaster.pid' ]; then \(stopCommand); fi
            rm -rf '\(directory)'
            """
        let devNull = open("/dev/null", O_WRONLY)
        defer {
            close(ends[0])
            if devNull >= 0 { close(devNull) }
        }
        let quiet = devNull >= 0 ? devNull : 2
        if let pid = try? Spawn.start(["/bin/sh", "-c", script], standardInput: ends[0], standardOutput: quiet, standardError: quiet, ownProcessGroup: true) {
            lifeline = (pid, ends[1])
        } else {
            close(ends[1])
        }
    }

    private func dismissLifeline() {
        guard let (pid, descriptor) = lifeline else { return }
        lifeline = nil
        _ = write(descriptor, "done\n", 5)
        close(descriptor)
        for _ in 0..<200 {
            if (try? Spawn.wait(pid, block: false)) ?? nil != nil { return }
            usleep(10_000)
        }
    }

    // MARK: Helpers

    private static var runuser: String {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/runuser"
    }

    /// Runs a server program to completion (as `runAs` when set), in its own
    /// process group so that signals meant for the test reach only the test.
    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, text: String) {
        var argv = [executable] + arguments
        if let runAs { argv = [Self.runuser, "-u", runAs, "--"] + argv }
        let output = try Spawn.scratchFile()
        defer { close(output) }
        let pid = try Spawn.start(argv, standardOutput: output, standardError: output, ownProcessGroup: true)
        let status = try Spawn.wait(pid) ?? -1
        return (status, Spawn.contents(of: output))
    }

    /// Appends to a file the server owns (keeps its owner and mode).
    private func append(_ path: String, _ text: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw UserServerError("cannot write \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Replaces a file's contents in place (keeps its owner and mode).
    private func replace(_ path: String, with text: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw UserServerError("cannot write \(path)") }
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw UserServerError("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw UserServerError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw UserServerError("getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A fresh 0700 directory, short (the Unix socket path must stay under
    /// ~100 bytes), in memory when /dev/shm is there: initdb and the load
    /// then wait for no disk, which on a busy machine halves the start.
    static func makeDirectory() throws -> String {
        let base = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(base)/lockstorm-user-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkdtemp($0) != nil } ?? false }
        guard created else { throw UserServerError("cannot create a temporary directory: \(String(cString: strerror(errno)))") }
        return template.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
