import Foundation
import LockstormCore

/// Writes a run's files into its directory (named and created by the
/// application layer's `ResultDirectory`): each file under a temporary name,
/// then renamed into place.
public struct ResultWriter {
    public let directory: URL

    /// A writer into `directory`, which exists.
    public init(directory: URL) {
        self.directory = directory
    }

    /// Writes `contents` to `name` atomically (temporary file, then rename).
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> URL {
        let target = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).tmp")
        try Data(contents.utf8).write(to: temporary)
        if rename(temporary.path, target.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot rename \(temporary.path): \(String(cString: strerror(errno)))"])
        }
        return target
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
