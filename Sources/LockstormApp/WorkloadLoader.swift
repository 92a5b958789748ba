import Foundation
import LockstormCore

/// Finds and parses workload files for the commands.
public enum WorkloadLoader {
    /// The folder of shipped workloads: `$LOCKSTORM_WORKLOADS`, else `./workloads`,
    /// else the `workloads` folder of the source tree the binary was built in.
    public static var shippedDirectory: URL {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["LOCKSTORM_WORKLOADS"] { return URL(fileURLWithPath: override) }
        let local = URL(fileURLWithPath: fileManager.currentDirectoryPath).appendingPathComponent("workloads")
        if fileManager.fileExists(atPath: local.path) { return local }
        // .build/<config>/lockstorm → the package root's workloads/.
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("workloads")
            if fileManager.fileExists(atPath: candidate.appendingPathComponent("transfers.yaml").path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return local
    }

    /// Resolves `name` as a path, else as a shipped workload (`transfers`,
    /// `transfers.yaml`); `-` is standard input.
    public static func resolve(_ name: String) throws -> URL {
        if InputFile.isStandardInput(name) { return InputFile.standardInputURL }
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: name) { return URL(fileURLWithPath: name) }
        let shipped = shippedDirectory
        for candidate in [name, name + ".yaml"] {
            let url = shipped.appendingPathComponent(candidate)
            if fileManager.fileExists(atPath: url.path) { return url }
        }
        throw Failure(.usage, "lockstorm: workload '\(name)' not found: no such file, and no \(name).yaml in \(shipped.path)")
    }

    /// Reads and parses a workload; every problem is reported at once.
    /// Returns the workload, where it was found, and the file's SHA-256.
    public static func load(_ name: String) throws -> (Workload, URL, String) {
        let url = try resolve(name)
        let data = try InputFile.read(url, name: name, what: "workload")
        return (try parse(data, name: name), url, SHA256.hex(data))
    }

    /// Parses a workload file's bytes; `name` is how diagnostics name it.
    static func parse(_ data: Data, name: String) throws -> Workload {
        do {
            return try WorkloadParser.parse(String(decoding: data, as: UTF8.self), file: InputFile.displayName(name))
        } catch {
            throw Failure(.usage, error.description)
        }
    }
}

/// Reads an input file whatever it turns out to be: a regular file up to
/// `InputLimits.maxFileBytes`, or standard input for `-`; a directory, a
/// named pipe or a device gets a message that says so.
enum InputFile {
    static let standardInputURL = URL(fileURLWithPath: "/dev/stdin")

    /// `-` (and `/dev/stdin`) mean standard input.
    static func isStandardInput(_ name: String) -> Bool { name == "-" || name == "/dev/stdin" }

    /// How diagnostics name the input: `<stdin>` for standard input.
    static func displayName(_ name: String) -> String { isStandardInput(name) ? "<stdin>" : name }

    static func read(_ url: URL, name: String, what: String) throws -> Data {
        let limit = InputLimits.maxFileBytes
        let tooBig = "over lockstorm's limit of \(limit >> 20) MB for a \(what) file"
        if isStandardInput(name) {
            let data = try readStandardInput(upTo: limit + 1)
            guard data.count <= limit else { throw Failure(.usage, "lockstorm: standard input holds more than \(limit >> 20) MB, \(tooBig)") }
            return data
        }
        let path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Failure(.usage, "lockstorm: cannot read \(path): \(String(cString: strerror(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFDIR:
            throw Failure(.usage, "lockstorm: \(path) is a directory, not a \(what) file; give one of its .yaml files")
        case S_IFIFO:
            throw Failure(.usage, "lockstorm: \(path) is a named pipe, not a \(what) file; to read a \(what) from a pipe, give '-' and send it to standard input")
        case S_IFSOCK:
            throw Failure(.usage, "lockstorm: \(path) is a socket, not a \(what) file")
        default:
            throw Failure(.usage, "lockstorm: \(path) is a device, not a \(what) file")
        }
        guard Int(info.st_size) <= limit else {
            let megabytes = Double(info.st_size) / Double(1 << 20)
            throw Failure(.usage, "lockstorm: \(path) is \(String(format: "%.1f", megabytes)) MB, \(tooBig)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Failure(.usage, "lockstorm: cannot read \(path): \(access(path, R_OK) == 0 ? "it cannot be opened" : String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        do {
            // A file that grew since stat is still cut at the limit.
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            guard data.count <= limit else { throw Failure(.usage, "lockstorm: \(path) is over \(limit >> 20) MB, \(tooBig)") }
            return data
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(.usage, "lockstorm: cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// Up to `count` bytes of standard input.
    static func readStandardInput(upTo count: Int) throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while data.count < count {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, min($0.count, count - data.count)) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                throw Failure(.usage, "lockstorm: cannot read standard input: \(String(cString: strerror(errno)))")
            }
            data.append(contentsOf: buffer[0..<got])
        }
        return data
    }
}
