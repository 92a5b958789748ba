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
    /// `transfers.yaml`).
    public static func resolve(_ name: String) throws -> URL {
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
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw Failure(.usage, "lockstorm: cannot read \(url.path): \(error.localizedDescription)")
        }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return (try WorkloadParser.parse(text, file: name), url, SHA256.hex(data))
        } catch {
            throw Failure(.usage, error.description)
        }
    }
}
