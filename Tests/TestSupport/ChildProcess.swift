import Engine
import Foundation

/// A child process started with `Spawn` (not Foundation's `Process`, which
/// would wait on a descriptor the embedded postmaster inherits), its output
/// captured to unlinked temporary files.
public final class ChildProcess {
    public let pid: pid_t
    private let output: Int32
    private let error: Int32
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` (use absolute paths), with `environment` added.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        output = try Spawn.scratchFile()
        error = try Spawn.scratchFile()
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        pid = try Spawn.start([executable] + arguments, standardOutput: output, standardError: error, environment: merged, ownProcessGroup: false)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = try? Spawn.wait(pid)
        }
        close(output)
        close(error)
    }

    public var standardOutput: String { Spawn.contents(of: output) }
    public var standardError: String { Spawn.contents(of: error) }

    public func signal(_ number: Int32) {
        kill(pid, number)
    }

    /// Waits up to `timeout` seconds; returns the exit status (128+n for a signal), or nil on timeout.
    public func wait(timeout: Double) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let status = try? Spawn.wait(pid, block: false) {
                exitStatus = status
                return status
            }
            usleep(20_000)
        } while Date() < deadline
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
