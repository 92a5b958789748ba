import Foundation
import LockstormCore

/// Why a result file could not be written: its path and the system's reason
/// ("No space left on device").
public struct ResultWriteError: LocalizedError, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write \(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Writes a run's files into its directory (named and created by the
/// application layer's `ResultDirectory`): each file under a temporary name,
/// then renamed into place, so a file that is there is whole.
///
/// A directory is complete or says it is not: `markIncomplete()` puts an
/// `INCOMPLETE` file in it before anything else, and `markComplete()`
/// removes it once every file is written. A write that fails (a full disk)
/// removes its temporary file and names the file's path; the marker stays,
/// with the reason in it when there is room (results/README.md).
public struct ResultWriter {
    public let directory: URL

    /// The marker of a directory whose files are not all written.
    public static let incompleteMarker = "INCOMPLETE"

    /// A writer into `directory`, which exists.
    public init(directory: URL) {
        self.directory = directory
    }

    /// Writes `contents` to `name` atomically (temporary file, then rename).
    /// On failure nothing of it is left, and the error names `name`'s path.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> URL {
        let target = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).tmp")
        if let reason = Self.writeFile(temporary.path, Data(contents.utf8)) {
            unlink(temporary.path)
            throw ResultWriteError(path: target.path, reason: reason)
        }
        if rename(temporary.path, target.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw ResultWriteError(path: target.path, reason: reason)
        }
        return target
    }

    /// Writes `data` to a new file at `path`; returns the system's reason when it could not.
    static func writeFile(_ path: String, _ data: Data) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        var failure: String?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = Foundation.write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += count
            }
        }
        // close() reports what a network file system could not store.
        if close(descriptor) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        return failure
    }

    /// Puts the `INCOMPLETE` marker in the directory, before any result
    /// file. When even that cannot be written, the directory (still empty)
    /// is removed and the error says so: nothing half-written is left.
    public func markIncomplete() throws {
        let marker = directory.appendingPathComponent(Self.incompleteMarker)
        let text = "lockstorm is writing this run's results; this file is removed once every file is written.\n"
        if let reason = Self.writeFile(marker.path, Data(text.utf8)) {
            unlink(marker.path)
            rmdir(directory.path)
            throw ResultWriteError(path: marker.path, reason: reason + "; nothing was kept: \(directory.path) was removed")
        }
    }

    /// Says in the marker why the directory is incomplete (when there is room for it).
    public func noteIncomplete(_ reason: String) {
        let marker = directory.appendingPathComponent(Self.incompleteMarker)
        let text = """
            lockstorm could not write every result file of this run: \(reason)
            Each file here was written whole (under a temporary name, then renamed); the ones missing were not written.

            """
        if Self.writeFile(marker.path, Data(text.utf8)) != nil {
            // No room for the reason: an empty marker still marks the directory.
            _ = Self.writeFile(marker.path, Data())
        }
    }

    /// Removes the marker: every file is written.
    public func markComplete() throws {
        let marker = directory.appendingPathComponent(Self.incompleteMarker)
        if unlink(marker.path) != 0 && errno != ENOENT {
            throw ResultWriteError(path: marker.path, reason: "cannot remove: \(String(cString: strerror(errno)))")
        }
    }

    /// Whether `directory` is marked incomplete.
    public static func isIncomplete(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(incompleteMarker).path)
    }

    /// Renders report.html from the files written and writes it as the others are.
    @discardableResult
    public func writeReport() throws -> URL {
        try write(HTMLReport.fileName, HTMLReport.render(try ResultFiles.load(directory: directory)))
    }

    /// Writes `summary.csv` for the run.
    @discardableResult
    public func writeSummary(_ summary: RunSummary) throws -> URL {
        try write("summary.csv", SummaryReport.csv(summary))
    }

    /// A name safe as a path component, as result folders are named (the
    /// baseline lookup matches folders by it).
    public static func safe(_ name: String) -> String {
        let mapped = name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" }
        let text = String(mapped)
        return text.isEmpty ? "run" : text
    }
}

extension ResultWriter {
    /// Writes the full result set of a run: summary, time series, latency
    /// spectrum, errors, deadlock cycles and run.json. Returns the files written.
    @discardableResult
    public func writeAll(summary: RunSummary, timeseries: [TimeseriesRow], record: RunRecord) throws -> [URL] {
        var files: [URL] = []
        files.append(try writeSummary(summary))
        let counters = summary.counterNames
        files.append(try write("timeseries.csv", CSV.document(header: TimeseriesRow.columns(counterNames: counters), rows: timeseries.map { $0.values(counters: counters.count) })))
        var spectrum: [[String]] = []
        for row in summary.rows { spectrum += LatencySpectrum.rows(transaction: row.transaction, statistics: row.latency) }
        files.append(try write("latency.csv", CSV.document(header: LatencySpectrum.columns, rows: spectrum)))
        files.append(try write("errors.csv", CSV.document(header: ErrorTable.columns, rows: ErrorTable.rows(summary))))
        files.append(try write("deadlocks.csv", CSV.document(header: DeadlockTable.columns, rows: DeadlockTable.rows(summary.stats.cyclesByFrequency))))
        files.append(try write("run.json", try record.json()))
        return files
    }
}
