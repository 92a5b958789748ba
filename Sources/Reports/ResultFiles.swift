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
    public var run: RunRecord?

    public init(
        directory: URL? = nil, summary: [SummaryLine], timeseries: [IntervalLine]? = nil, latency: [LatencyPoint]? = nil,
        errors: [ErrorLine]? = nil, run: RunRecord? = nil, deadlocks: [CycleLine]? = nil
    ) {
        self.deadlocks = deadlocks
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
        if let (body, path) = try text(runFile, required: false) { files.run = try RunRecord.decode(body, file: path) }
        if let (body, path) = try text(deadlocksFile, required: false) { files.deadlocks = try CycleLine.parse(body, file: path) }
        return files
    }

    /// Builds the model from file contents; `nil` means the file is absent.
    public static func parse(
        summary: String, timeseries: String? = nil, latency: String? = nil, errors: String? = nil, run: String? = nil, deadlocks: String? = nil
    ) throws -> ResultFiles {
        ResultFiles(
            summary: try SummaryLine.parse(summary, file: summaryFile),
            timeseries: try timeseries.map { try IntervalLine.parse($0, file: timeseriesFile) },
            latency: try latency.map { try LatencyPoint.parse($0, file: latencyFile) },
            errors: try errors.map { try ErrorLine.parse($0, file: errorsFile) },
            run: try run.map { try RunRecord.decode($0, file: runFile) },
            deadlocks: try deadlocks.map { try CycleLine.parse($0, file: deadlocksFile) }
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

    /// A JSON file that did not decode: the key path of a value of the wrong
    /// type or missing, or the line of a syntax error.
    init(file: String, decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text
        }
        func expected(_ type: Any.Type) -> String {
            let name = String(describing: type)
            if name.hasPrefix("Dictionary") || name.hasPrefix("[String") { return "an object" }
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            if name.contains("Int") { return "an integer" }
            if name == "Double" || name == "Float" { return "a number" }
            if name == "Bool" { return "true or false" }
            if name == "String" { return "a string" }
            return "a \(name)"
        }
        switch error {
        case .typeMismatch(let type, let context) where context.codingPath.isEmpty:
            self.init(file: file, message: "expected a JSON object at the top level, found something else (\(expected(type)) was wanted)")
        case .typeMismatch(let type, let context):
            self.init(file: file, message: "\"\(path(context.codingPath))\" should be \(expected(type)): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            self.init(file: file, message: "\"\(path(context.codingPath))\" should be \(expected(type)), found null")
        case .keyNotFound(let key, let context):
            self.init(file: file, message: "\"\(path(context.codingPath + [key]))\" is missing")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let reason = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
            let line = reason.range(of: "line ").flatMap { Int(reason[$0.upperBound...].prefix { $0.isNumber }) }
            self.init(file: file, line: line, message: "not valid JSON: \(reason)")
        case .dataCorrupted(let context):
            self.init(file: file, message: "\"\(path(context.codingPath))\": \(context.debugDescription)")
        @unknown default:
            self.init(file: file, message: "\(error)")
        }
    }
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

/// One row of `summary.csv` read back: one transaction type or the `total`.
///
/// Each cell is typed by its `SummaryColumn`; columns other than the
/// required ones (`SummaryColumn.isRequired`) may be absent from the file,
/// and are then absent from `values` (`nil` below).
public struct SummaryLine: Sendable, Hashable {
    public static let requiredColumns = SummaryColumn.allCases.filter(\.isRequired).map(\.name)

    public var line: Int
    /// The row's cells by column, as the file records them.
    public var values: [SummaryColumn: SummaryValue]
    /// The unit-of-work counters of the file (`UnitColumn`), in column order;
    /// empty for version 1 files and workloads that count nothing.
    public var counterNames: [String] = []
    /// The unit-of-work cells by column name (`jobs`, `jobs_per_s`).
    public var unitValues: [String: SummaryValue] = [:]

    public init(line: Int, values: [SummaryColumn: SummaryValue], counterNames: [String] = [], unitValues: [String: SummaryValue] = [:]) {
        self.line = line
        self.values = values
        self.counterNames = counterNames
        self.unitValues = unitValues
    }

    /// Units of work per counter: the total and per second, as the file records them.
    public var units: [(name: String, total: Int, perSecond: Double)] {
        counterNames.map { name in
            guard case .count(let total)? = unitValues[name] else { return (name, 0, 0) }
            return (name, total, unitValues[UnitColumn.rateName(name)]?.number ?? 0)
        }
    }

    public func text(_ column: SummaryColumn) -> String? {
        guard case .text(let text)? = values[column] else { return nil }
        return text
    }

    public func count(_ column: SummaryColumn) -> Int? {
        guard case .count(let count)? = values[column] else { return nil }
        return count
    }

    public func number(_ column: SummaryColumn) -> Double? { values[column]?.number }

    public var workload: String? { text(.workload) }
    public var variant: String? { text(.variant) }
    public var transaction: String { text(.transaction) ?? "" }
    public var clients: Int? { count(.clients) }
    public var durationSeconds: Double? { number(.durationSeconds) }
    public var attempts: Int { count(.attempts) ?? 0 }
    public var committed: Int { count(.committed) ?? 0 }
    public var failed: Int { count(.failed) ?? 0 }
    /// The version 2 outcome columns; `nil` in version 1 files.
    public var committedInGrace: Int? { count(.committedInGrace) }
    public var rolledBack: Int? { count(.rolledBack) }
    public var endedEarly: Int? { count(.endedEarly) }
    public var expectedErrors: Int? { count(.expectedErrors) }
    public var unexpectedErrors: Int? { count(.unexpectedErrors) }
    public var retries: Int? { count(.retries) }
    /// Failed attempts per class; a class whose column is absent has no entry.
    public var errorCounts: [ErrorClass: Int] {
        var counts: [ErrorClass: Int] = [:]
        for errorClass in ErrorClass.allCases { counts[errorClass] = count(SummaryColumn(errorClass)) }
        return counts
    }
    public var tps: Double { number(.tps) ?? 0 }
    public var meanMilliseconds: Double? { number(.meanMilliseconds) }
    public var p50Milliseconds: Double? { number(.p50Milliseconds) }
    public var p90Milliseconds: Double? { number(.p90Milliseconds) }
    public var p95Milliseconds: Double? { number(.p95Milliseconds) }
    public var p99Milliseconds: Double? { number(.p99Milliseconds) }
    public var p999Milliseconds: Double? { number(.p999Milliseconds) }
    public var maxMilliseconds: Double? { number(.maxMilliseconds) }
    public var invariantFailures: Int? { count(.invariantFailures) }

    public var isTotal: Bool { transaction == "total" }

    static func parse(_ text: String, file: String) throws -> [SummaryLine] {
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        let counters = UnitColumn.counters(inHeader: table.header)
        return try table.rows.map { row in
            var units: [String: SummaryValue] = [:]
            for counter in counters {
                if let total = try row.int(counter) { units[counter] = .count(total) }
                if let rate = try row.double(UnitColumn.rateName(counter)) { units[UnitColumn.rateName(counter)] = .number(rate) }
            }
            var values: [SummaryColumn: SummaryValue] = [:]
            for column in SummaryColumn.allCases {
                let name = column.name
                switch column.kind {
                case .text:
                    let text = column.isRequired ? try row.requiredText(name) : row.text(name)
                    values[column] = text.map(SummaryValue.text)
                case .count:
                    values[column] = (column.isRequired ? try row.requiredInt(name) : try row.int(name)).map(SummaryValue.count)
                case .decimal:
                    values[column] = (column.isRequired ? try row.requiredDouble(name) : try row.double(name)).map(SummaryValue.number)
                }
            }
            return SummaryLine(line: row.line, values: values, counterNames: counters, unitValues: units)
        }
    }
}

/// One row of `timeseries.csv` (`TimeseriesRow.columns`): one interval of the run.
public struct IntervalLine: Sendable, Hashable {
    public static let requiredColumns = [TimeseriesRow.Column.startSeconds.rawValue, TimeseriesRow.Column.endSeconds.rawValue, SummaryColumn.tps.name]

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
    /// Version 2 columns (`nil` in version 1 files): outcomes, the longest
    /// statement and single-lock waits, and units per second by counter.
    public var rolledBack: Int? = nil
    public var endedEarly: Int? = nil
    public var unexpectedErrors: Int? = nil
    public var longestWaitMilliseconds: Double? = nil
    public var longestStatementWaitMilliseconds: Double? = nil
    public var unitsPerSecond: [String: Double] = [:]

    /// The interval's length in seconds (the last one may be shorter).
    public var length: Double { endSeconds - startSeconds }

    /// Errors of `errorClass` per second in this interval; `nil` for an empty interval.
    public func errorsPerSecond(_ errorClass: ErrorClass) -> Double? {
        guard length > 0 else { return nil }
        return Double(errorCounts[errorClass] ?? 0) / length
    }

    static func parse(_ text: String, file: String) throws -> [IntervalLine] {
        typealias Column = TimeseriesRow.Column
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            var counts: [ErrorClass: Int] = [:]
            for errorClass in ErrorClass.allCases {
                if let count = try row.int(errorClass.columnName) { counts[errorClass] = count }
            }
            var line = IntervalLine(
                line: row.line, interval: try row.int(Column.interval.rawValue), startSeconds: try row.requiredDouble(Column.startSeconds.rawValue),
                endSeconds: try row.requiredDouble(Column.endSeconds.rawValue), tps: try row.requiredDouble(SummaryColumn.tps.name),
                attempts: try row.int(SummaryColumn.attempts.name), committed: try row.int(SummaryColumn.committed.name),
                failed: try row.int(SummaryColumn.failed.name), retries: try row.int(SummaryColumn.retries.name),
                errorCounts: counts, p50Milliseconds: try row.double(SummaryColumn.p50Milliseconds.name),
                p99Milliseconds: try row.double(SummaryColumn.p99Milliseconds.name),
                waitingMean: try row.double(Column.waitingMean.rawValue), waitingMax: try row.int(Column.waitingMax.rawValue),
                longestChain: try row.int(Column.longestChain.rawValue))
            line.rolledBack = try row.int(SummaryColumn.rolledBack.name)
            line.endedEarly = try row.int(SummaryColumn.endedEarly.name)
            line.unexpectedErrors = try row.int(SummaryColumn.unexpectedErrors.name)
            line.longestWaitMilliseconds = try row.double(Column.longestWaitMilliseconds.rawValue)
            line.longestStatementWaitMilliseconds = try row.double(Column.longestStatementWaitMilliseconds.rawValue)
            for name in table.header where name.hasSuffix(UnitColumn.rateSuffix) {
                if let rate = try row.double(name) { line.unitsPerSecond[String(name.dropLast(UnitColumn.rateSuffix.count))] = rate }
            }
            return line
        }
    }
}

/// One row of `latency.csv` (`LatencySpectrum.columns`).
public struct LatencyPoint: Sendable, Hashable {
    public static let requiredColumns = [LatencySpectrum.Column.transaction, .percentile, .latencyMilliseconds].map(\.rawValue)

    public var line: Int
    public var transaction: String
    /// 0–100; 100 is the maximum.
    public var percentile: Double
    public var latencyMilliseconds: Double
    public var count: Int?

    static func parse(_ text: String, file: String) throws -> [LatencyPoint] {
        typealias Column = LatencySpectrum.Column
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            LatencyPoint(
                line: row.line, transaction: try row.requiredText(Column.transaction.rawValue), percentile: try row.requiredDouble(Column.percentile.rawValue),
                latencyMilliseconds: try row.requiredDouble(Column.latencyMilliseconds.rawValue), count: try row.int(Column.count.rawValue))
        }
    }
}

/// One row of `errors.csv` (`ErrorTable.columns`): one SQLSTATE seen.
public struct ErrorLine: Sendable, Hashable {
    public static let requiredColumns = [ErrorTable.Column.sqlState, .errorClass, .count].map(\.rawValue)

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
        typealias Column = ErrorTable.Column
        let table = try CSVTable.parse(text, file: file)
        for column in requiredColumns { _ = try table.requireColumn(column) }
        return try table.rows.map { row in
            ErrorLine(
                line: row.line, sqlState: try row.requiredText(Column.sqlState.rawValue), errorClassName: try row.requiredText(Column.errorClass.rawValue),
                count: try row.requiredInt(Column.count.rawValue), sampleMessage: row.text(Column.sampleMessage.rawValue) ?? "",
                sampleDetail: row.text(Column.sampleDetail.rawValue) ?? "")
        }
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
    /// The statement group and its reason (schema version 2; empty in a version 1 file).
    public var group: String = ""
    public var groupReason: String = ""
    /// Each participant's wanted lock and statement, and what it held (version 2).
    public var sampleWaits: String = ""
    public var sampleHolds: String = ""

    static func parse(_ text: String, file: String) throws -> [CycleLine] {
        typealias Column = DeadlockTable.Column
        let table = try CSVTable.parse(text, file: file)
        for column in [Column.signature, .count] { _ = try table.requireColumn(column.rawValue) }
        return try table.rows.map { row in
            CycleLine(
                line: row.line, signature: row.text(Column.signature.rawValue) ?? "", count: try row.int(Column.count.rawValue) ?? 0,
                cycleLength: try row.int(Column.cycleLength.rawValue), summary: row.text(Column.summary.rawValue) ?? "",
                sampleParticipants: row.text(Column.sampleParticipants.rawValue) ?? "", firstSeenSeconds: try row.double(Column.firstSeenSeconds.rawValue),
                group: row.text(Column.group.rawValue) ?? "", groupReason: row.text(Column.groupReason.rawValue) ?? "",
                sampleWaits: row.text(Column.sampleWaits.rawValue) ?? "", sampleHolds: row.text(Column.sampleHolds.rawValue) ?? "")
        }
    }
}
