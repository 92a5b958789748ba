#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Starts a program with `posix_spawn`: standard input from /dev/null,
/// standard output and error to the given descriptors, SIGINT/SIGTERM/SIGPIPE
/// reset to their defaults (lockstorm ignores them while it runs), and
/// optionally in a process group of its own.
///
/// Foundation's `Process` is not used: it learns of the exit through a
/// descriptor the child inherits, and a daemon the child leaves behind (the
/// postmaster that `pg_ctl start` forks) keeps that descriptor open.
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `argv[0]` (an absolute path) and returns its PID. With
    /// `joining`, the child joins that process group (which must exist)
    /// instead of making its own or staying in lockstorm's.
    public static func start(
        _ argv: [String], standardInput: Int32? = nil, standardOutput: Int32, standardError: Int32, environment: [String: String]? = nil,
        ownProcessGroup: Bool, joining group: pid_t? = nil
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let standardInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, standardOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, standardError, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signalNumber in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signalNumber) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if let group {
            posix_spawnattr_setpgroup(&attributes, group)
            flags |= POSIX_SPAWN_SETPGROUP
        } else if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let variables = environment.map { $0.map { "\($0.key)=\($0.value)" } }
        let environmentStrings: [UnsafeMutablePointer<CChar>?]? = variables.map { $0.map { strdup($0) } + [nil] }
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in environmentStrings ?? [] { free(pointer) }
        }
        var pid: pid_t = 0
        let result = arguments.withUnsafeMutableBufferPointer { argvBuffer -> Int32 in
            guard let path = argvBuffer.first ?? nil, let argvBase = argvBuffer.baseAddress else { return EINVAL }
            guard var pointers = environmentStrings else { return posix_spawn(&pid, path, &actions, &attributes, argvBase, environ) }
            return pointers.withUnsafeMutableBufferPointer { envBuffer -> Int32 in
                guard let envBase = envBuffer.baseAddress else { return EINVAL }
                return posix_spawn(&pid, path, &actions, &attributes, argvBase, envBase)
            }
        }
        guard result == 0 else { throw Failure(description: "cannot run \(argv.first ?? "?"): \(String(cString: strerror(result)))") }
        return pid
    }

    /// The process group `pid` is in.
    public static func processGroup(of pid: pid_t) throws -> pid_t {
        let group = getpgid(pid)
        guard group >= 0 else { throw Failure(description: "getpgid(\(pid)) failed: \(String(cString: strerror(errno)))") }
        return group
    }

    /// Waits for `pid`; returns its exit status, or 128 + the signal that ended it.
    /// With `block: false`, returns nil while it is still running.
    public static func wait(_ pid: pid_t, block: Bool = true) throws -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, block ? 0 : WNOHANG)
            if result == pid { break }
            if result == 0 { return nil }
            guard errno == EINTR else { throw Failure(description: "waitpid failed: \(String(cString: strerror(errno)))") }
        }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// An unlinked temporary file, open for reading and writing: output
    /// capture without a pipe to drain.
    public static func scratchFile() throws -> Int32 {
        var template = Array("/tmp/lockstorm-out-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard descriptor >= 0 else { throw Failure(description: "cannot create a temporary file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { buffer in _ = buffer.baseAddress.map { unlink($0) } }
        return descriptor
    }

    /// Everything written to `descriptor`, from the start.
    public static func contents(of descriptor: Int32) -> String {
        lseek(descriptor, 0, SEEK_SET)
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs a helper program (initdb, pg_ctl, pg_config) to completion and
/// captures what it printed. Children run in their own process group, so a
/// Ctrl-C at the terminal reaches only lockstorm, which then shuts the server
/// down in order.
struct ProcessRunner {
    struct Output {
        var status: Int32
        var text: String
    }

    /// Runs `executable` with `arguments`; with `user`, through `runuser -u user --`
    /// (lockstorm running as root must not run the server as root).
    static func run(_ executable: String, _ arguments: [String], as user: String? = nil) throws -> Output {
        let output = try Spawn.scratchFile()
        defer { close(output) }
        let pid = try start(argv(executable, arguments, as: user), output: output, joining: nil)
        let status = try Spawn.wait(pid) ?? -1
        return Output(status: status, text: Spawn.contents(of: output))
    }

    /// The command line: `executable` with `arguments`, through `runuser -u user --` with `user`.
    static func argv(_ executable: String, _ arguments: [String], as user: String?) -> [String] {
        guard let user else { return [executable] + arguments }
        return [runuser, "-u", user, "--", executable] + arguments
    }

    /// Starts `argv` with stdout and stderr to `output`, in process group
    /// `group` (its own when nil, or when `group` is gone).
    static func start(_ argv: [String], output: Int32, joining group: pid_t?) throws -> pid_t {
        if let group, let pid = try? Spawn.start(argv, standardOutput: output, standardError: output, ownProcessGroup: true, joining: group) {
            return pid
        }
        return try Spawn.start(argv, standardOutput: output, standardError: output, ownProcessGroup: true)
    }

    /// Where util-linux keeps `runuser`.
    static var runuser: String {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/runuser"
    }
}
