import Foundation
import Testing
import TestSupport

/// `lockstorm validate` (the binary) on inputs that are not workload files,
/// on standard input (`-`), and at the input size limit.
@Suite("Bad input at the command line (the binary)")
struct BadInputCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    private func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("lst-\(name)-\(UUID().uuidString.prefix(8))")
    }

    private func run(_ arguments: [String]) throws -> (status: Int32?, stdout: String, stderr: String) {
        let child = try ChildProcess(LockstormBinary.path, arguments)
        let status = child.wait(timeout: 60)
        return (status, child.standardOutput, child.standardError)
    }

    /// `command` run by /bin/sh with `$LOCKSTORM` set to the binary.
    private func shell(_ command: String) throws -> (status: Int32?, stdout: String, stderr: String) {
        let child = try ChildProcess("/bin/sh", ["-c", command], environment: ["LOCKSTORM": LockstormBinary.path])
        let status = child.wait(timeout: 60)
        return (status, child.standardOutput, child.standardError)
    }

    @Test("a directory is named as a directory (exit 2), not as a Cocoa error")
    func directory() throws {
        let folder = scratch("dir")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try run(["validate", folder.path])
        #expect(result.status == 2)
        #expect(result.stderr == "lockstorm: \(folder.path) is a directory, not a workload file; give one of its .yaml files\n")
    }

    @Test("a named pipe is refused at once, pointing at '-'; a device is named as one")
    func fifoAndDevice() throws {
        let fifo = scratch("fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        defer { try? FileManager.default.removeItem(at: fifo) }
        // No writer: reading it would block for ever.
        let piped = try run(["validate", fifo.path])
        #expect(piped.status == 2)
        #expect(piped.stderr == "lockstorm: \(fifo.path) is a named pipe, not a workload file; to read a workload from a pipe, give '-' and send it to standard input\n")
        let device = try run(["validate", "/dev/zero"])
        #expect(device.status == 2)
        #expect(device.stderr == "lockstorm: /dev/zero is a device, not a workload file\n")
    }

    @Test("'-' reads the workload from standard input; its problems are named <stdin>")
    func standardInput() throws {
        let good = Self.fixtures.appendingPathComponent("orders-reconcile.yaml").path
        let ok = try shell("\"$LOCKSTORM\" validate - < '\(good)'")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("<stdin>: ok ("), "\(ok.stdout)")
        // /dev/stdin is standard input too (it was "You don't have permission" as root).
        let device = try shell("\"$LOCKSTORM\" validate /dev/stdin < '\(good)'")
        #expect(device.status == 0, "\(device.stderr)")
        #expect(device.stdout.hasPrefix("<stdin>: ok ("), "\(device.stdout)")
        let bad = try shell("printf 'name: t\\ntransactions:\\n  tx:\\n    steps: [SELECT $1]\\n' | \"$LOCKSTORM\" validate -")
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("<stdin>:4:20: '$1' is a raw bind placeholder"), "\(bad.stderr)")
        // A scenario on standard input is read as one.
        let scenario = try shell("printf 'name: s\\nsessions:\\n  a: [SELECT 1]\\n' | \"$LOCKSTORM\" validate -")
        #expect(scenario.status == 0, "\(scenario.stderr)")
        #expect(scenario.stdout.hasPrefix("<stdin>: ok (scenario: 1 session(s)"), "\(scenario.stdout)")
    }

    /// The limit is set so that the worst file under it is rejected quickly:
    /// 1 MB of parameters (the campaign's 51 MB of them took 29 s and 2.17 GB).
    @Test("the worst file under the size limit is rejected within 500 MB; a larger one is refused unread")
    func sizeLimit() throws {
        let file = scratch("params").appendingPathExtension("yaml")
        var text = "name: t\ntransactions:\n  tx:\n    steps: [SELECT 1]\nparams:\n"
        var index = 0
        while text.utf8.count < (1 << 20) - 64 { text += "  p\(index): \(index)\n"; index += 1 }
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let started = Date()
        // GNU time reports the peak RSS; without it, only the time is measured.
        let time = FileManager.default.isExecutableFile(atPath: "/usr/bin/time") ? "/usr/bin/time -f 'peak-rss-kb %M' " : ""
        let timed = try shell("\(time)\"$LOCKSTORM\" validate '\(file.path)'")
        let seconds = Date().timeIntervalSince(started)
        #expect(timed.status == 2, "\(timed.stderr.prefix(500))")
        #expect(timed.stderr.contains("too many parameters"), "\(timed.stderr.prefix(500))")
        if let line = timed.stderr.split(separator: "\n").last(where: { $0.hasPrefix("peak-rss-kb ") }), let kilobytes = Int(line.dropFirst("peak-rss-kb ".count)) {
            #expect(kilobytes < 500 * 1024, "peak RSS \(kilobytes) kB")
            FileHandle.standardError.write(Data("1 MB of parameters: rejected in \(String(format: "%.2f", seconds)) s, peak RSS \(kilobytes / 1024) MB\n".utf8))
        }
        // A guard against pathological slowness (a debug build, process start
        // and a shared machine included), not a benchmark.
        #expect(seconds < 30, "took \(seconds) s")
        // One byte over the limit: refused from its size alone.
        try (text + String(repeating: "#", count: (1 << 20) - text.utf8.count + 1)).write(to: file, atomically: true, encoding: .utf8)
        let over = try run(["validate", file.path])
        #expect(over.status == 2)
        #expect(over.stderr == "lockstorm: \(file.path) is 1.0 MB, over lockstorm's limit of 1 MB for a workload file\n")
    }
}
