import Foundation
import Testing
import TestSupport

/// Issue 20: a refused flag says what is allowed, and where a path is in the
/// way, which path; no "Missing value" for a negative number, no "not a
/// duration" for 0, no Foundation error codes. None of these needs a server:
/// they are refused before one starts.
@Suite("refused flags say what is allowed (the binary)")
struct FlagMessageTests {
    /// Runs lockstorm; expects exit 2 and returns stderr.
    private func refused(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let child = try ChildProcess(LockstormBinary.path, arguments, environment: environment)
        let status = child.wait(timeout: 60)
        #expect(status == 2, "\(arguments): exit \(String(describing: status)), stderr: \(child.standardError)")
        #expect(!child.standardError.contains("starting an embedded PostgreSQL"))
        return child.standardError
    }

    @Test("a negative count is a value, refused with what is allowed", arguments: [
        (["run", "transfers", "-c", "-1"], "-c/--clients is -1: give a number of clients of at least 1"),
        (["run", "transfers", "--clients", "-3"], "-c/--clients is -3: give a number of clients of at least 1"),
        (["run", "transfers", "-j", "-2"], "-j/--jobs is -2: give a number of threads of at least 1"),
        (["run", "transfers", "-t", "-5"], "-t/--transactions is -5: give a number of transactions per client of at least 1"),
        (["compare", "transfers", "-c", "-1"], "-c/--clients is -1: give a number of clients of at least 1"),
        (["server", "start", "--max-connections", "-1"], "--max-connections is -1: give at least 1"),
    ])
    func negativeCounts(arguments: [String], message: String) throws {
        let errors = try refused(arguments)
        #expect(errors.contains(message), "\(errors)")
        #expect(!errors.contains("Missing value"), "\(errors)")
    }

    @Test("durations: 0 and negative lengths say what is allowed", arguments: [
        (["run", "transfers", "-T", "0"], "-T/--time is 0: a run must last longer than 0; give seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h), or -t for a number of transactions per client"),
        (["run", "transfers", "-T", "0s"], "-T/--time is 0s: a run must last longer than 0"),
        (["run", "transfers", "-T", "-5"], "a length of time cannot be negative: give seconds (10, 2.5) or a duration with a unit"),
        (["run", "transfers", "-T", "ten"], "'ten' is not a length of time: give seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h)"),
        (["run", "transfers", "--warmup", "-1s"], "a length of time cannot be negative"),
        (["run", "transfers", "--deadlock-timeout", "0ms"], "deadlock_timeout must be at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
        (["run", "transfers", "--deadlock-timeout", "0"], "deadlock_timeout must be at least 1ms, PostgreSQL's minimum"),
        (["run", "transfers", "--deadlock-timeout", "-5"], "deadlock_timeout must be at least 1ms, PostgreSQL's minimum"),
        (["explore", "x.yaml", "--deadlock-timeout", "0ms"], "deadlock_timeout must be at least 1ms, PostgreSQL's minimum"),
        (["server", "start", "--deadlock-timeout", "0ms"], "deadlock_timeout must be at least 1ms, PostgreSQL's minimum"),
    ])
    func durations(arguments: [String], message: String) throws {
        let errors = try refused(arguments)
        #expect(errors.contains(message), "\(errors)")
        #expect(!errors.contains("is not a duration"), "\(errors)")
        #expect(!errors.contains("Missing value"), "\(errors)")
    }

    @Test("--out under a regular file names the file in the way, before any server starts")
    func outUnderAFile() throws {
        let root = "/tmp/lst-out-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "not a folder\n".write(toFile: root + "/file", atomically: true, encoding: .utf8)
        let errors = try refused(["run", "transfers", "-t", "1", "--out", root + "/file/results"])
        #expect(errors.contains("cannot create the results folder \(root)/file/results: \(root)/file is a file, not a folder"), "\(errors)")
        #expect(!errors.contains("NSCocoaErrorDomain"), "\(errors)")
        let direct = try refused(["run", "transfers", "-t", "1", "--out", root + "/file"])
        #expect(direct.contains("cannot create the results folder \(root)/file: it is a file, not a folder"), "\(direct)")
    }

    @Test("--pg-bin: a directory without the server programs is refused, naming what is missing", arguments: ["run", "compare", "explore", "fuzz", "replay", "server"])
    func badPgBin(command: String) throws {
        let root = "/tmp/lst-pgbin-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let arguments: [String] = switch command {
        case "server": ["server", "start"]
        case "run", "compare": [command, "transfers"]
        default: [command, "x.yaml"]
        }
        let empty = try refused(arguments + ["--pg-bin", root])
        #expect(empty.contains("--pg-bin \(root): no initdb, pg_ctl, postgres there; give the directory holding PostgreSQL's server programs"), "\(empty)")
        let missing = try refused(arguments + ["--pg-bin", root + "/nowhere"])
        #expect(missing.contains("--pg-bin \(root)/nowhere: no such directory"), "\(missing)")
    }
}
