import Foundation

/// A child process started with `posix_spawn`, its output captured to files.
///
/// Foundation's `Process` is not used: it learns of the exit through a
/// descriptor the child inherits, which a daemon started by the child (the
/// postmaster) would keep open.
public final class ChildProcess {
    public let pid: pid_t
    private let outputPath: String
    private let errorPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` (use absolute paths), with `environment` added.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let scratch = NSTemporaryDirectory() + "lockstorm-child-\(UUID().uuidString)"
        outputPath = scratch + ".out"
        errorPath = scratch + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        var environmentStrings: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        var argumentStrings: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer {
            for pointer in environmentStrings { free(pointer) }
            for pointer in argumentStrings { free(pointer) }
        }
        var child: pid_t = 0
        let result = argumentStrings.withUnsafeMutableBufferPointer { argv in
            environmentStrings.withUnsafeMutableBufferPointer { envp -> Int32 in
                guard let argvBase = argv.baseAddress, let envpBase = envp.baseAddress else { return EINVAL }
                return posix_spawn(&child, executable, &actions, &attributes, argvBase, envpBase)
            }
        }
        guard result == 0 else { throw NSError(domain: "ChildProcess", code: Int(result), userInfo: [NSLocalizedDescriptionKey: "cannot start \(executable): \(String(cString: strerror(result)))"]) }
        pid = child
    }

    deinit {
        if exitStatus == nil { kill(pid, SIGKILL); _ = wait(timeout: 5) }
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    public var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) {
        kill(pid, number)
    }

    /// Waits up to `timeout` seconds; returns the exit status (128+n for a signal), or nil on timeout.
    public func wait(timeout: Double) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < deadline {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exitStatus = code
                return code
            }
            usleep(20_000)
        }
        return nil
    }

    /// Polls until `condition` holds or `timeout` passes.
    public func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}

/// The `lockstorm` binary built next to the test bundle.
public enum LockstormBinary {
    public static var path: String {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("lockstorm").path
    }
}
