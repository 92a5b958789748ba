import Foundation
import LockstormCore

/// `comparison.json`'s schema name and version; `compare --format json` prints the same object.
public enum ComparisonSchema {
    public static let name = "lockstorm.compare"
    public static let version = 1
    public static let fileName = "comparison.json"
    /// The folder inside a compare directory that holds one result folder per cell and run.
    public static let cellsFolder = "cells"
}

/// The object `comparison.json` holds (results/README.md, "compare"): what
/// was compared, every cell with its metrics and its runs (each run as the
/// per-run object, `Run`), and the verdict for every metric at every point.
public struct ComparisonDocument<Run: Encodable & Sendable>: Encodable, Sendable {
    public struct SweepEntry: Codable, Sendable, Hashable {
        public var name: String
        public var values: [String]
    }

    public struct RuleEntry: Codable, Sendable, Hashable {
        public var maxFailedRate: Double
        public var minThroughputShare: Double
        public var noise: Double
        public var repeatMargin: Double
        public var rateFloor: Double

        enum CodingKeys: String, CodingKey {
            case maxFailedRate = "max_failed_rate", minThroughputShare = "min_throughput_share", noise, repeatMargin = "repeat_margin", rateFloor = "rate_floor"
        }
    }

    public struct SpreadEntry: Codable, Sendable, Hashable {
        public var median: Double
        public var min: Double
        public var max: Double
    }

    public struct RunEntry: Encodable, Sendable {
        /// The run's result folder, relative to the compare directory.
        public var directory: String
        public var invariantsHeld: Bool
        public var run: Run

        enum CodingKeys: String, CodingKey { case directory, invariantsHeld = "invariants_held", run }
    }

    public struct CellEntry: Encodable, Sendable {
        public var variant: String
        /// The sweep values, by sweep name, as written on the command line.
        public var point: [String: String]
        public var partial: Bool
        /// `pass`, `FAIL 1/3`, or null when the workload has no invariants.
        public var invariants: String?
        /// Median, least and greatest over the cell's runs, by metric (comparison.csv's names).
        public var metrics: [String: SpreadEntry]
        public var runs: [RunEntry]

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(variant, forKey: .variant)
            try container.encode(point, forKey: .point)
            try container.encode(partial, forKey: .partial)
            try container.encode(invariants, forKey: .invariants)
            try container.encode(metrics, forKey: .metrics)
            try container.encode(runs, forKey: .runs)
        }

        enum CodingKeys: String, CodingKey { case variant, point, partial, invariants, metrics, runs }
    }

    public struct Exclusion: Codable, Sendable, Hashable {
        public var variant: String
        public var reason: String
    }

    /// One metric at one point: the clear winner (or null) and why.
    public struct WinnerEntry: Encodable, Sendable, Hashable {
        public var metric: String
        public var point: [String: String]
        public var variant: String?
        public var runnerUp: String?
        public var reason: String
        public var excluded: [Exclusion]

        enum CodingKeys: String, CodingKey { case metric, point, variant, runnerUp = "runner_up", reason, excluded }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encode(point, forKey: .point)
            try container.encode(variant, forKey: .variant)
            try container.encode(runnerUp, forKey: .runnerUp)
            try container.encode(reason, forKey: .reason)
            try container.encode(excluded, forKey: .excluded)
        }
    }

    public var schema = ComparisonSchema.name
    public var version = ComparisonSchema.version
    public var workload: String
    public var variants: [String]
    public var sweeps: [SweepEntry]
    public var repeats: Int
    public var length: String
    public var server: String?
    public var commandLine: String
    public var partial: Bool
    public var counters: [String]
    public var rule: RuleEntry
    public var cells: [CellEntry]
    public var winners: [WinnerEntry]

    enum CodingKeys: String, CodingKey {
        case schema, version, workload, variants, sweeps, repeats, length, server, commandLine = "command_line", partial, counters, rule, cells, winners
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(version, forKey: .version)
        try container.encode(workload, forKey: .workload)
        try container.encode(variants, forKey: .variants)
        try container.encode(sweeps, forKey: .sweeps)
        try container.encode(repeats, forKey: .repeats)
        try container.encode(length, forKey: .length)
        try container.encode(server, forKey: .server)
        try container.encode(commandLine, forKey: .commandLine)
        try container.encode(partial, forKey: .partial)
        try container.encode(counters, forKey: .counters)
        try container.encode(rule, forKey: .rule)
        try container.encode(cells, forKey: .cells)
        try container.encode(winners, forKey: .winners)
    }

    /// The document of `cells` (read back from their folders, `directories`
    /// per cell) with each run's object from `runs`, in the same shape.
    public init(cells: [ComparisonCell], info: ComparisonInfo, directories: [[String]], runs: [[Run]], rule: WinnerRule = WinnerRule()) {
        func point(_ values: [SweepValue]) -> [String: String] { Dictionary(values.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }) }
        workload = info.workload
        variants = info.variants
        sweeps = info.sweeps.map { SweepEntry(name: $0.name, values: $0.values) }
        repeats = info.repeats
        length = info.length
        server = info.server
        commandLine = info.commandLine
        partial = info.partial
        counters = info.counters
        self.rule = RuleEntry(maxFailedRate: rule.maxFailedRate, minThroughputShare: rule.minThroughputShare, noise: rule.noise, repeatMargin: rule.repeatMargin, rateFloor: rule.rateFloor)
        self.cells = cells.enumerated().map { index, cell in
            var metrics: [String: SpreadEntry] = [:]
            for name in ComparisonTable.metrics(counters: info.counters) {
                guard let metric = MetricCatalogue.metric(named: name, counters: info.counters), let spread = cell.spread(metric) else { continue }
                metrics[name] = SpreadEntry(median: spread.median, min: spread.min, max: spread.max)
            }
            let folders = directories.indices.contains(index) ? directories[index] : []
            let objects = runs.indices.contains(index) ? runs[index] : []
            let entries = zip(folders, objects).enumerated().map { run, pair in
                RunEntry(directory: pair.0, invariantsHeld: cell.invariantsHeld.indices.contains(run) ? cell.invariantsHeld[run] : true, run: pair.1)
            }
            return CellEntry(variant: cell.variant, point: point(cell.point), partial: cell.partial, invariants: cell.invariantsHeld.isEmpty ? nil : cell.invariantsText, metrics: metrics, runs: entries)
        }
        winners = ComparisonReport.verdicts(cells, counters: info.counters, rule: rule).map { verdict in
            WinnerEntry(
                metric: verdict.metric, point: point(verdict.point), variant: verdict.winner.map { cells[$0].variant }, runnerUp: verdict.runnerUp.map { cells[$0].variant },
                reason: verdict.reason.rawValue, excluded: verdict.excluded.map { Exclusion(variant: cells[$0.cell].variant, reason: $0.reason) })
        }
    }

    /// The document as JSON text: pretty-printed, keys sorted, so the same comparison gives the same bytes.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

/// A compare directory read back: `comparison.json` for what was compared and
/// where each run's folder is, each folder's `summary.csv` for the figures.
/// `report.html` is rendered from this, when compare writes it and when
/// `lockstorm report` writes it again, so the two are the same bytes.
public struct ComparisonFiles: Sendable {
    public var directory: URL
    public var info: ComparisonInfo
    public var cells: [ComparisonCell]
    /// Each cell's run folders, relative to `directory`.
    public var directories: [[String]]

    /// What `report` needs of comparison.json; the rest (metrics, winners, runs' objects) is derived.
    struct Manifest: Decodable {
        struct SweepEntry: Decodable {
            var name: String
            var values: [String]
        }
        struct RunEntry: Decodable {
            var directory: String
            var invariantsHeld: Bool
            enum CodingKeys: String, CodingKey { case directory, invariantsHeld = "invariants_held" }
        }
        struct CellEntry: Decodable {
            var variant: String
            var point: [String: String]
            var partial: Bool
            var invariants: String?
            var runs: [RunEntry]
        }
        var schema: String
        var version: Int
        var workload: String
        var variants: [String]
        var sweeps: [SweepEntry]
        var repeats: Int
        var length: String
        var server: String?
        var commandLine: String
        var partial: Bool
        var counters: [String]
        var cells: [CellEntry]

        enum CodingKeys: String, CodingKey {
            case schema, version, workload, variants, sweeps, repeats, length, server, commandLine = "command_line", partial, counters, cells
        }
    }

    /// Whether `directory` is a compare directory (it has comparison.json).
    public static func isComparison(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(ComparisonSchema.fileName).path)
    }

    /// The cells of `entries` (variant, point, run folders relative to `directory`,
    /// each run's invariant verdict), their figures read from each folder's summary.csv.
    public static func cells(
        _ entries: [(variant: String, point: [SweepValue], partial: Bool, runs: [(directory: String, invariantsHeld: Bool)])], directory: URL
    ) throws -> [ComparisonCell] {
        try entries.map { entry in
            var cell = ComparisonCell(variant: entry.variant, point: entry.point, partial: entry.partial)
            for run in entry.runs {
                let url = directory.appendingPathComponent(run.directory).appendingPathComponent(ResultFiles.summaryFile)
                let text: String
                do {
                    text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
                } catch {
                    throw ResultFilesError(file: url.path, message: "cannot read (\(error.localizedDescription)); every cell of a comparison keeps its result folder")
                }
                cell.runs.append(BaselineFiles.sample(ResultFiles(summary: try SummaryLine.parse(text, file: url.path))))
                cell.invariantsHeld.append(run.invariantsHeld)
            }
            return cell
        }
    }

    /// Reads a compare directory; a problem is a `ResultFilesError` naming the file.
    public static func load(directory: URL) throws -> ComparisonFiles {
        let url = directory.appendingPathComponent(ComparisonSchema.fileName)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ResultFilesError(file: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch let error as DecodingError {
            throw ResultFilesError(file: url.path, decoding: error)
        }
        guard manifest.schema == ComparisonSchema.name, manifest.version <= ComparisonSchema.version else {
            throw ResultFilesError(file: url.path, message: "schema \(manifest.schema) version \(manifest.version); this lockstorm reads \(ComparisonSchema.name) up to version \(ComparisonSchema.version)")
        }
        let sweeps = manifest.sweeps.map { Sweep(name: $0.name, values: $0.values) }
        let entries = manifest.cells.map { cell in
            (variant: cell.variant, point: sweeps.compactMap { sweep in cell.point[sweep.name].map { SweepValue(name: sweep.name, value: $0) } }, partial: cell.partial,
             runs: cell.runs.map { (directory: $0.directory, invariantsHeld: $0.invariantsHeld) })
        }
        let info = ComparisonInfo(
            workload: manifest.workload, variants: manifest.variants, sweeps: sweeps, repeats: manifest.repeats, length: manifest.length, server: manifest.server,
            commandLine: manifest.commandLine, partial: manifest.partial, counters: manifest.counters)
        return ComparisonFiles(directory: directory, info: info, cells: try cells(entries, directory: directory), directories: manifest.cells.map { $0.runs.map(\.directory) })
    }
}

extension ComparisonReport {
    /// Reads the compare directory and writes its report.html atomically; returns it.
    @discardableResult
    public static func write(directory: URL) throws -> URL {
        let files = try ComparisonFiles.load(directory: directory)
        let page = html(files.cells, info: files.info, cellDirectories: files.directories)
        return try ResultWriter(directory: directory).write(HTMLReport.fileName, page)
    }
}
