import Foundation
import LockstormCore

/// A result directory read back from disk: the model `HTMLReport` renders.
///
/// Files are read by column name, never by position, so older or newer runs
/// with extra or missing optional columns still load. `summary.csv` is
/// required; `timeseries.csv`, `latency.csv`, `errors.csv` and `run.json` are
/// optional and `nil` when absent. A file that is present but malformed is an
/// error naming the file and line.
public struct ResultFiles: Sendable {
    /// Where the files were read from; `nil` when built from text.
    public var directory: URL?
    public var summary: [SummaryLine]
    public var timeseries: [IntervalLine]?
    public var latency: [LatencyPoint]?
    public var errors: [ErrorLine]?
    /// Distinct deadlock cycles (`deadlocks.csv`), most frequent first.
    public var deadlocks: [CycleLine]? = nil
    public var run: RunInfo?

    public init(
        directory: URL? = nil, summary: [SummaryLine], timeseries: [IntervalLine]? = nil, latency: [LatencyPoint]? = nil,
        errors: [ErrorLine]? = nil, run: RunInfo? = nil
    ) {
        self.directory = directory
        self.summary = summary
        self.timeseries = timeseries
        self.latency = latency
        self.errors = errors
        self.run = run
    }

    public static let summaryFile = "summary.csv"
    public static let timeseriesFile = "timeseries.csv"
    public static let latencyFile = "latency.csv"
    public static let errorsFile = "errors.csv"
    public static let runFile = "run.json"
    public static let deadlocksFile = "deadlocks.csv"

    /// Reads a result directory; throws `ResultFilesError` naming the file and line on any problem.
    public static func load(directory: URL) throws -> ResultFiles {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ResultFilesError(file: directory.path, message: "no such directory")
        }
        guard isDirectory.boolValue else {
            throw ResultFilesError(file: directory.path, message: "not a directory; give a result directory (results/<workload>-<variant>-<timestamp>/)")
        }
        func text(_ name: String, required: Bool) throws -> (String, String)? {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                if required {
                    throw ResultFilesError(file: url.path, message: "missing; every lockstorm result directory has \(name) (is \(directory.path) a result directory?)")
                }
                return nil
            }
            do {
                // Invalid UTF-8 (a message cut mid-character) becomes U+FFFD rather than losing the file.
                return (String(decoding: try Data(contentsOf: url), as: UTF8.self), url.path)
            } catch {
                throw ResultFilesError(file: url.path, message: "cannot read: \(error.localizedDescription)")
            }
        }
        guard let (summaryText, summaryPath) = try text(summaryFile, required: true) else {
            throw ResultFilesError(file: directory.appendingPathComponent(summaryFile).path, message: "missing")
        }
        var files = ResultFiles(summary: try SummaryLine.parse(summaryText, file: summaryPath))
        files.directory = directory
        if let (body, path) = try text(timeseriesFile, required: false) { files.timeseries = try IntervalLine.parse(body, file: path) }
        if let (body, path) = try text(latencyFile, required: false) { files.latency = try LatencyPoint.parse(body, file: path) }
        if let (body, path) = try text(errorsFile, required: false) { files.errors = try ErrorLine.parse(body, file: path) }
        if let (body, path) = try text(runFile, required: false) { files.run = try RunInfo.parse(body, file: path) }
        if let (body, path) = try text(deadlocksFile, required: false) { files.deadlocks = try CycleLine.parse(body, file: path) }
        return files
    }

    /// Builds the model from file contents; `nil` means the file is absent.
    public static func parse(
        summary: String, timeseries: String? = nil, latency: String? = nil, errors: String? = nil, run: String? = nil
    ) throws -> ResultFiles {
        ResultFiles(
            summary: try SummaryLine.parse(summary, file: summaryFile),
            timeseries: try timeseries.map { try IntervalLine.parse($0, file: timeseriesFile) },
            latency: try latency.map { try LatencyPoint.parse($0, file: latencyFile) },
            errors: try errors.map { try ErrorLine.parse($0, file: errorsFile) },
            run: try run.map { try RunInfo.parse($0, file: runFile) }
        )
    }
}

/// Why a result file could not be read: the file, the line when known, and what was wrong.
public struct ResultFilesError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
    public var errorDescription: String? { description }
}

// MARK: - CSV

/// A CSV file parsed per RFC 4180, with cells addressed by column name.
///
/// Quoted fields may hold commas, doubled quotes and line breaks; lines may
/// end with `\n` or `\r\n`; blank lines and a leading byte-order mark are
/// ignored. A quote inside an unquoted field is kept as text (hand-edited
/// files), but anything after a closing quote other than a separator is an error.
public struct CSVTable: Sendable {
    /// One data line: its fields and the line number (1-based) where it starts.
    public struct Record: Sendable, Hashable {
        public var line: Int
        public var fields: [String]
    }

    public var file: String
    public var header: [String]
    public var records: [Record]

    public static func parse(_ text: String, file: String) throws -> CSVTable {
        let all = try parseRecords(text, file: file)
        guard let first = all.first else { throw ResultFilesError(file: file, line: 1, message: "empty file; expected a header line") }
        let header = first.fields
        for record in all.dropFirst() where record.fields.count != header.count {
            throw ResultFilesError(
                file: file, line: record.line,
                message: "\(record.fields.count) field(s), but the header on line \(first.line) has \(header.count)")
        }
        return CSVTable(file: file, header: header, records: Array(all.dropFirst()))
    }

    /// Splits `text` into records, header included.
    static func parseRecords(_ text: String, file: String) throws -> [Record] {
        enum State { case fieldStart, unquoted, quoted, afterQuote }
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var records: [Record] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var state = State.fieldStart
        var line = 1
        var recordLine = 1
        var quoteLine = 1

        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            state = .fieldStart
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []
        }

        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            switch state {
            case .quoted:
                if scalar == "\"" {
                    if index < scalars.count && scalars[index] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        state = .afterQuote
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.append(scalar)
                }
            case .fieldStart, .unquoted, .afterQuote:
                switch scalar {
                case ",":
                    endField()
                case "\r", "\n":
                    if scalar == "\r" && index < scalars.count && scalars[index] == "\n" { index += 1 }
                    endRecord()
                    line += 1
                    recordLine = line
                case "\"" where state == .fieldStart:
                    state = .quoted
                    quoteLine = line
                default:
                    if state == .afterQuote {
                        throw ResultFilesError(
                            file: file, line: line,
                            message: "unexpected \(Self.describe(scalar)) after a closing quote; a quoted field must end at a comma or line end")
                    }
                    state = .unquoted
                    field.append(scalar)
                }
            }
        }
        if state == .quoted {
            throw ResultFilesError(file: file, line: quoteLine, message: "quoted field starting here is never closed (missing \")")
        }
        if state != .fieldStart || !fields.isEmpty { endRecord() }
        return records
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        scalar.properties.isWhitespace || scalar.value < 0x20 ? "character U+\(String(scalar.value, radix: 16, uppercase: true))" : "'\(scalar)'"
    }

    /// The index of `column`, or `nil` when the file has no such column.
    public func index(of column: String) -> Int? { header.firstIndex(of: column) }

    /// The index of a column the file must have.
    public func requireColumn(_ column: String) throws -> Int {
        guard let index = index(of: column) else {
            throw ResultFilesError(file: file, line: 1, message: "missing column \"\(column)\" (header: \(header.joined(separator: ",")))")
        }
        return index
    }

    /// Typed access to one record's cells, with errors that name the file, line and column.
    public struct Row {
        public var table: CSVTable
        public var record: Record

        public var line: Int { record.line }

        /// The cell's text, or `nil` when the file has no such column.
        public func text(_ column: String) -> String? {
            table.index(of: column).map { record.fields[$0] }
        }

        /// The cell of a column the file must have.
        public func requiredText(_ column: String) throws -> String {
            record.fields[try table.requireColumn(column)]
        }

        /// A number, or `nil` when the column is absent or the cell empty; `nan` and `inf` are kept.
        public func double(_ column: String) throws -> Double? {
            guard let raw = text(column)?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            guard let value = Double(raw) else { throw invalid(column, raw, "a number") }
            return value
        }

        public func int(_ column: String) throws -> Int? {
            guard let raw = text(column)?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            if let value = Int(raw) { return value }
            // `12.0` is still a count.
            if let value = Double(raw), value.isFinite, value == value.rounded(), abs(value) < 9e15 { return Int(value) }
            throw invalid(column, raw, "an integer")
        }

        public func requiredDouble(_ column: String) throws -> Double {
            _ = try table.requireColumn(column)
            guard let value = try double(column) else { throw empty(column, "a number") }
            return value
        }

        public func requiredInt(_ column: String) throws -> Int {
            _ = try table.requireColumn(column)
            guard let value = try int(column) else { throw empty(column, "an integer") }
            return value
        }

        private func invalid(_ column: String, _ raw: String, _ expected: String) -> ResultFilesError {
            let shown = raw.count > 40 ? String(raw.prefix(40)) + "…" : raw
            return ResultFilesError(file: table.file, line: line, message: "column \"\(column)\": expected \(expected), found \"\(shown)\"")
        }

        private func empty(_ column: String, _ expected: String) -> ResultFilesError {
            ResultFilesError(file: table.file, line: line, message: "column \"\(column)\": expected \(expected), found an empty field")
        }
    }

    public var rows: [Row] { records.map { Row(table: self, record: $0) } }
}

// MARK: - The CSV files

/// One row of `summary.csv` (`SummaryRow.columns`): one transaction type or the `total`.
/// Columns other than `transaction, attempts, committed, failed, tps` may be absent (`nil`).
public struct SummaryLine: Sendable, Hashable {
    public static let requiredColumns = ["transaction", "attempts", "committed", "failed", "tps"]

    public var line: Int
    public var workload: String?
    public var variant: String?
    public var transaction: String
    public var clients: Int?
    public var durationSeconds: Double?
    public var attempts: Int
    public var committed: Int
    public var failed: Int
    public var retries: Int?
    /// Failed attempts per class; a class whose column is absent has no entry.
    public var errorCounts: [ErrorClass: Int]
    public var tps: Double
    public var meanMilliseconds: Double?
    public var p50Milliseconds: Double?
    public var p90Milliseconds: Double?
    public var p95Milliseconds: Double?
    public var p99Milliseconds: Double?
    public var p999Milliseconds: Double?
    public var maxMilliseconds: Double?
    public var invariantFailures: Int?

    public var isTotal: Bool { transaction == "total" }

    static func parse(_ text: String, file: String) throws -> [SummaryLine] {
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            var counts: [ErrorClass: Int] = [:]
            for errorClass in ErrorClass.allCases {
                if let count = try row.int(errorClass.columnName) { counts[errorClass] = count }
            }
            return SummaryLine(
                line: row.line, workload: row.text("workload"), variant: row.text("variant"),
                transaction: try row.requiredText("transaction"), clients: try row.int("clients"),
                durationSeconds: try row.double("duration_s"), attempts: try row.requiredInt("attempts"),
                committed: try row.requiredInt("committed"), failed: try row.requiredInt("failed"), retries: try row.int("retries"),
                errorCounts: counts, tps: try row.requiredDouble("tps"), meanMilliseconds: try row.double("lat_mean_ms"),
                p50Milliseconds: try row.double("lat_p50_ms"), p90Milliseconds: try row.double("lat_p90_ms"),
                p95Milliseconds: try row.double("lat_p95_ms"), p99Milliseconds: try row.double("lat_p99_ms"),
                p999Milliseconds: try row.double("lat_p999_ms"), maxMilliseconds: try row.double("lat_max_ms"),
                invariantFailures: try row.int("invariant_failures"))
        }
    }
}

/// One row of `timeseries.csv` (`TimeseriesRow.columns`): one interval of the run.
public struct IntervalLine: Sendable, Hashable {
    public static let requiredColumns = ["start_s", "end_s", "tps"]

    public var line: Int
    public var interval: Int?
    public var startSeconds: Double
    public var endSeconds: Double
    public var tps: Double
    public var attempts: Int?
    public var committed: Int?
    public var failed: Int?
    public var retries: Int?
    public var errorCounts: [ErrorClass: Int]
    public var p50Milliseconds: Double?
    public var p99Milliseconds: Double?
    /// From the lock-wait sampler, when it ran: sessions waiting on locks
    /// (mean and most at once) and the longest blocking chain.
    public var waitingMean: Double? = nil
    public var waitingMax: Int? = nil
    public var longestChain: Int? = nil

    /// The interval's length in seconds (the last one may be shorter).
    public var length: Double { endSeconds - startSeconds }

    /// Errors of `errorClass` per second in this interval; `nil` for an empty interval.
    public func errorsPerSecond(_ errorClass: ErrorClass) -> Double? {
        guard length > 0 else { return nil }
        return Double(errorCounts[errorClass] ?? 0) / length
    }

    static func parse(_ text: String, file: String) throws -> [IntervalLine] {
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            var counts: [ErrorClass: Int] = [:]
            for errorClass in ErrorClass.allCases {
                if let count = try row.int(errorClass.columnName) { counts[errorClass] = count }
            }
            return IntervalLine(
                line: row.line, interval: try row.int("interval"), startSeconds: try row.requiredDouble("start_s"),
                endSeconds: try row.requiredDouble("end_s"), tps: try row.requiredDouble("tps"), attempts: try row.int("attempts"),
                committed: try row.int("committed"), failed: try row.int("failed"), retries: try row.int("retries"),
                errorCounts: counts, p50Milliseconds: try row.double("lat_p50_ms"), p99Milliseconds: try row.double("lat_p99_ms"),
                waitingMean: try row.double("waiting_mean"), waitingMax: try row.int("waiting_max"), longestChain: try row.int("longest_chain"))
        }
    }
}

/// One row of `latency.csv` (`LatencySpectrum.columns`).
public struct LatencyPoint: Sendable, Hashable {
    public static let requiredColumns = ["transaction", "percentile", "latency_ms"]

    public var line: Int
    public var transaction: String
    /// 0–100; 100 is the maximum.
    public var percentile: Double
    public var latencyMilliseconds: Double
    public var count: Int?

    static func parse(_ text: String, file: String) throws -> [LatencyPoint] {
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            LatencyPoint(
                line: row.line, transaction: try row.requiredText("transaction"), percentile: try row.requiredDouble("percentile"),
                latencyMilliseconds: try row.requiredDouble("latency_ms"), count: try row.int("count"))
        }
    }
}

/// One row of `errors.csv` (`ErrorTable.columns`): one SQLSTATE seen.
public struct ErrorLine: Sendable, Hashable {
    public static let requiredColumns = ["sqlstate", "class", "count"]

    public var line: Int
    public var sqlState: String
    /// The class's column name (`deadlocks`, `lock_not_available`, …) as written.
    public var errorClassName: String
    public var count: Int
    public var sampleMessage: String
    public var sampleDetail: String

    /// The class, when the name is one lockstorm knows.
    public var errorClass: ErrorClass? { ErrorClass.allCases.first { $0.columnName == errorClassName } }

    static func parse(_ text: String, file: String) throws -> [ErrorLine] {
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            ErrorLine(
                line: row.line, sqlState: try row.requiredText("sqlstate"), errorClassName: try row.requiredText("class"),
                count: try row.requiredInt("count"), sampleMessage: row.text("sample_message") ?? "",
                sampleDetail: row.text("sample_detail") ?? "")
        }
    }
}

// MARK: - run.json

/// Any JSON value, kept exact enough to show: integers stay integers.
public enum JSONValue: Sendable, Hashable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !array.isAtEnd { values.append(try array.decode(JSONValue.self)) }
            self = .array(values)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var values: [String: JSONValue] = [:]
            for key in object.allKeys { values[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? single.decode(UInt64.self) {
            self = .uint(value)
        } else if let value = try? single.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The value as a person reads it: strings bare, `null` as `NULL`.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .uint(let value): String(value)
        case .double(let value):
            value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): value
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let values): "{" + values.keys.sorted().map { "\($0): \(values[$0]?.description ?? "")" }.joined(separator: ", ") + "}"
        }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .uint, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A name and its value, as in `parameters` or `server.settings`.
public struct NamedValue: Sendable, Hashable {
    public var name: String
    public var value: JSONValue
}

/// `run.json`: how the run was made. Every field is optional, so older or
/// partial runs still load; a field of the wrong type is an error.
public struct RunInfo: Sendable, Hashable {
    public struct Invariant: Sendable, Hashable {
        public var name: String
        public var expected: JSONValue?
        public var actual: JSONValue?
        public var passed: Bool?
        public var error: String?
    }

    /// The client's 40P01 count against the server's `pg_stat_database.deadlocks` delta.
    public struct DeadlockCheck: Sendable, Hashable {
        public var client: Int?
        public var serverDelta: Int?
        public var agree: Bool?
    }

    public var schemaVersion: Int?
    public var tool: String?
    public var version: String?
    public var commandLine: String?
    public var workloadName: String?
    public var workloadFile: String?
    public var workloadSHA256: String?
    public var variant: String?
    /// Sorted by name.
    public var parameters: [NamedValue] = []
    /// The seed as written (it may exceed what a `Double` holds exactly).
    public var seed: String?
    public var clients: Int?
    public var threads: Int?
    public var requestedDurationSeconds: Double?
    public var transactionsPerClient: Int?
    public var measuredDurationSeconds: Double?
    public var intervalSeconds: Double?
    public var startedAt: String?
    public var endedAt: String?
    public var partial: Bool?
    public var serverVersion: String?
    /// Sorted by name.
    public var serverSettings: [NamedValue] = []
    public var deadlocks: DeadlockCheck?
    public var peakRSSBytes: Int?
    public var invariants: [Invariant] = []

    public init() {}

    static func parse(_ text: String, file: String) throws -> RunInfo {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw ResultFilesError(file: file, line: Self.errorLine(error), message: "not valid JSON: \(Self.reason(error))")
        }
        guard case .object(let object) = root else {
            throw ResultFilesError(file: file, message: "expected a JSON object at the top level, found \(root.kind)")
        }
        let reader = Reader(file: file, object: object, path: "")
        var info = RunInfo()
        info.schemaVersion = try reader.int("schema_version")
        info.tool = try reader.string("tool")
        info.version = try reader.string("version")
        if case .array(let words)? = object["command_line"] {
            info.commandLine = words.map(\.description).joined(separator: " ")
        } else {
            info.commandLine = try reader.string("command_line")
        }
        if let workload = try reader.object("workload") {
            info.workloadName = try workload.string("name")
            info.workloadFile = try workload.string("file")
            info.workloadSHA256 = try workload.string("sha256")
        }
        info.variant = try reader.string("variant")
        info.parameters = try reader.named("parameters")
        if let seed = object["seed"], seed != .null { info.seed = seed.description }
        info.clients = try reader.int("clients")
        info.threads = try reader.int("threads")
        info.requestedDurationSeconds = try reader.double("requested_duration_s")
        info.transactionsPerClient = try reader.int("transactions_per_client")
        info.measuredDurationSeconds = try reader.double("measured_duration_s")
        info.intervalSeconds = try reader.double("interval_s")
        info.startedAt = try reader.string("started_at")
        info.endedAt = try reader.string("ended_at")
        info.partial = try reader.bool("partial")
        if let server = try reader.object("server") {
            info.serverVersion = try server.string("version")
            info.serverSettings = try server.named("settings")
        }
        if let deadlocks = try reader.object("deadlocks") {
            info.deadlocks = DeadlockCheck(
                client: try deadlocks.int("client"), serverDelta: try deadlocks.int("server_delta"), agree: try deadlocks.bool("agree"))
        }
        info.peakRSSBytes = try reader.int("peak_rss_bytes")
        for (index, element) in try reader.array("invariants").enumerated() {
            guard case .object(let fields) = element else {
                throw ResultFilesError(file: file, message: "\"invariants[\(index)]\" should be an object, found \(element.kind)")
            }
            let item = Reader(file: file, object: fields, path: "invariants[\(index)].")
            info.invariants.append(Invariant(
                name: try item.string("name") ?? "invariant \(index + 1)",
                expected: fields["expected"], actual: fields["actual"].flatMap { $0 == .null ? nil : $0 },
                passed: try item.bool("passed"), error: try item.string("error")))
        }
        return info
    }

    /// Reads typed fields of one JSON object; a wrong type names the key.
    private struct Reader {
        var file: String
        var object: [String: JSONValue]
        var path: String

        private func value(_ key: String) -> JSONValue? {
            guard let value = object[key], value != .null else { return nil }
            return value
        }

        private func wrong(_ key: String, _ expected: String, _ value: JSONValue) -> ResultFilesError {
            ResultFilesError(file: file, message: "\"\(path)\(key)\" should be \(expected), found \(value.kind) (\(value.description.prefix(40)))")
        }

        func string(_ key: String) throws -> String? {
            guard let value = value(key) else { return nil }
            guard case .string(let text) = value else { throw wrong(key, "a string", value) }
            return text
        }

        func bool(_ key: String) throws -> Bool? {
            guard let value = value(key) else { return nil }
            guard case .bool(let flag) = value else { throw wrong(key, "true or false", value) }
            return flag
        }

        func double(_ key: String) throws -> Double? {
            guard let value = value(key) else { return nil }
            switch value {
            case .int(let number): return Double(number)
            case .uint(let number): return Double(number)
            case .double(let number): return number
            default: throw wrong(key, "a number", value)
            }
        }

        func int(_ key: String) throws -> Int? {
            guard let value = value(key) else { return nil }
            switch value {
            case .int(let number): return Int(exactly: number) ?? Int.max
            case .uint(let number): return Int(exactly: number) ?? Int.max
            case .double(let number) where number.isFinite && number == number.rounded() && abs(number) < 9e15: return Int(number)
            default: throw wrong(key, "an integer", value)
            }
        }

        func object(_ key: String) throws -> Reader? {
            guard let value = value(key) else { return nil }
            guard case .object(let fields) = value else { throw wrong(key, "an object", value) }
            return Reader(file: file, object: fields, path: path + key + ".")
        }

        func array(_ key: String) throws -> [JSONValue] {
            guard let value = value(key) else { return [] }
            guard case .array(let values) = value else { throw wrong(key, "an array", value) }
            return values
        }

        func named(_ key: String) throws -> [NamedValue] {
            guard let fields = try object(key)?.object else { return [] }
            return fields.keys.sorted().map { NamedValue(name: $0, value: fields[$0] ?? .null) }
        }
    }

    /// The line JSONDecoder's message points at ("… around line 3, column 5."), if any.
    private static func errorLine(_ error: any Error) -> Int? {
        let text = reason(error)
        guard let range = text.range(of: "line ") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    private static func reason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError as NSError?,
               let debug = underlying.userInfo[NSDebugDescriptionErrorKey] as? String {
                return debug
            }
            return context.debugDescription
        }
        return "\(error)"
    }
}

/// One row of `deadlocks.csv`: a distinct deadlock cycle.
public struct CycleLine: Sendable, Hashable {
    public var line: Int
    public var signature: String
    public var count: Int
    public var cycleLength: Int?
    public var summary: String
    public var sampleParticipants: String
    public var firstSeenSeconds: Double?

    static func parse(_ text: String, file: String) throws -> [CycleLine] {
        let table = try CSVTable.parse(text, file: file)
        for column in ["signature", "count"] { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            CycleLine(
                line: row.line, signature: row.text("signature") ?? "", count: try row.int("count") ?? 0,
                cycleLength: try row.int("cycle_length"), summary: row.text("summary") ?? "",
                sampleParticipants: row.text("sample_participants") ?? "", firstSeenSeconds: try row.double("first_seen_s"))
        }
    }
}
