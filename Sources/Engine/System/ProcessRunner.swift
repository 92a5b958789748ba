#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Runs a helper program (initdb, pg_ctl, pg_config) to completion and
/// captures what it printed.
///
/// It uses `posix_spawn` and `waitpid` rather than Foundation's `Process`:
/// `pg_ctl start` leaves a postmaster behind that inherits descriptors, and
/// `Process` waits for those to close before it reports the exit. Children
/// run in their own process group, so a Ctrl-C at the terminal reaches only
/// lockstorm, which then shuts the server down in order.
struct ProcessRunner {
    struct Output {
        var status: Int32
        var text: String
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `executable` with `arguments`; with `user`, through `runuser -u user --`
    /// (lockstorm running as root must not run the server as root).
    static func run(_ executable: String, _ arguments: [String], as user: String? = nil) throws -> Output {
        var argv: [String]
        if let user {
            let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/runuser"
            argv = [runuser, "-u", user, "--", executable] + arguments
        } else {
            argv = [executable] + arguments
        }

        // Output goes to an unlinked temporary file: no pipe to drain, no EOF to wait for.
        var template = Array("/tmp/lockstorm-out-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard descriptor >= 0 else { throw SpawnError(description: "cannot create a temporary file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { buffer in _ = buffer.baseAddress.map { unlink($0) } }
        defer { close(descriptor) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        var cStrings: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cStrings.append(nil)
        defer { for pointer in cStrings { free(pointer) } }
        var pid: pid_t = 0
        let spawned = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let path = buffer.first ?? nil, let base = buffer.baseAddress else { return EINVAL }
            return posix_spawn(&pid, path, &actions, &attributes, base, environ)
        }
        guard spawned == 0 else {
            throw SpawnError(description: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid failed: \(String(cString: strerror(errno)))") }
        }
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)

        lseek(descriptor, 0, SEEK_SET)
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return Output(status: exitStatus, text: String(decoding: data, as: UTF8.self))
    }
}
