import Foundation
import LockstormCore

/// Writes a run's files into a new directory `<root>/<workload>-<variant>-<timestamp>/`,
/// never overwriting: an existing name gets a `-2`, `-3`, … suffix, and
/// each file is written under a temporary name and renamed into place.
public struct ResultWriter {
    public let directory: URL

    /// Creates the run's directory under `root`.
    public init(root: URL, workload: String, variant: String, date: Date = Date()) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let base = "\(Self.safe(workload))-\(Self.safe(variant))-\(Self.timestamp(date))"
        var attempt = 1
        while true {
            let name = attempt == 1 ? base : "\(base)-\(attempt)"
            let candidate = root.appendingPathComponent(name, isDirectory: true)
            // mkdir fails when the name exists, so two runs never share a directory.
            if mkdir(candidate.path, 0o755) == 0 {
                directory = candidate
                return
            }
            guard errno == EEXIST, attempt < 10_000 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: candidate.path, NSLocalizedDescriptionKey: "cannot create \(candidate.path): \(String(cString: strerror(errno)))"])
            }
            attempt += 1
        }
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

    /// `20261123T184512Z`, UTC (the C library's calendar: Foundation's
    /// Calendar and TimeZone cost ~2 M instructions to set up, 2% of a short run).
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { let text = String(value); return text.count < 2 ? "0" + text : text }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// A name safe as a path component.
    static func safe(_ name: String) -> String {
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
        files.append(try write("timeseries.csv", CSV.document(header: TimeseriesRow.columns, rows: timeseries.map(\.values))))
        var spectrum: [[String]] = []
        for row in summary.rows { spectrum += LatencySpectrum.rows(transaction: row.transaction, statistics: row.latency) }
        files.append(try write("latency.csv", CSV.document(header: LatencySpectrum.columns, rows: spectrum)))
        files.append(try write("errors.csv", CSV.document(header: ErrorTable.columns, rows: ErrorTable.rows(summary))))
        files.append(try write("deadlocks.csv", CSV.document(header: DeadlockTable.columns, rows: DeadlockTable.rows(summary.stats.cyclesByFrequency))))
        files.append(try write("run.json", try record.json()))
        return files
    }
}
