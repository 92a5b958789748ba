/// A deadlock as the server's own log reports it: the cycle from the DETAIL,
/// and the query each backend in it was running.
///
/// PostgreSQL writes a deadlock to its log (stderr format) as one message of
/// several lines, each field behind the `log_line_prefix`, the lines inside a
/// field continued with a tab:
///
///     2026-12-03 18:57:25.795 UTC [20714] ERROR:  deadlock detected
///     2026-12-03 18:57:25.795 UTC [20714] DETAIL:  Process 20714 waits for ShareLock on transaction 726; blocked by process 20715.
///     	Process 20715 waits for ShareLock on transaction 725; blocked by process 20714.
///     	Process 20714: UPDATE t
///     	  SET v = v + 1
///     	  WHERE id = 2;
///     	Process 20715: UPDATE t SET v = v + 1 WHERE id = 1;
///     2026-12-03 18:57:25.795 UTC [20714] HINT:  See server log for query details.
///     2026-12-03 18:57:25.795 UTC [20714] CONTEXT:  while updating tuple (0,2) in relation "t"
///     2026-12-03 18:57:25.795 UTC [20714] STATEMENT:  UPDATE t …
///
/// The DETAIL the client gets holds only the edge lines; the log's adds a
/// `Process N: query` line per backend (the query as the backend's activity
/// shows it: the text the client sent, `$n` placeholders and all; PostgreSQL
/// shows a query it may not reveal as `<insufficient privilege>`). A query's
/// own line breaks are continued with a tab like any other line.
///
/// Any `log_line_prefix` works: the prefix is whatever precedes `ERROR:  `
/// on the message's first line, and the message's other fields carry the same
/// prefix. An English server is assumed (`lc_messages`); csvlog and jsonlog
/// are not read.
public struct ServerLogDeadlock: Sendable, Hashable {
    /// The cycle, from the DETAIL's edge lines.
    public var report: DeadlockReport
    /// The query text per backend, from the DETAIL's `Process N: query`
    /// lines; a backend whose query the server did not show is absent.
    public var queries: [Int32: String]
    /// The log line prefix of the message (time, PID…, as configured).
    public var prefix: String
    /// 1-based line of the `ERROR:  deadlock detected` line in the text read.
    public var line: Int
    /// The STATEMENT field (the victim's query), when logged.
    public var statement: String?

    public init(report: DeadlockReport, queries: [Int32: String], prefix: String, line: Int, statement: String? = nil) {
        self.report = report
        self.queries = queries
        self.prefix = prefix
        self.line = line
        self.statement = statement
    }

    /// The backend that detected the deadlock and got the error.
    public var victim: Int32? { report.victim }
}

/// Reads the deadlock reports out of PostgreSQL's stderr log text.
public enum ServerLogReader {
    static let errorMarker = "ERROR:  deadlock detected"
    /// The log line prefix of a deadlock's ERROR line, or nil for any other
    /// line. A deadlock found while a statement opens its relations carries
    /// the statement's cursor position: `deadlock detected at character 13`.
    static func prefix(ofErrorLine line: String) -> String? {
        if line.hasSuffix(errorMarker) { return String(line.dropLast(errorMarker.count)) }
        guard let range = line.range(of: errorMarker + " at character ", options: .backwards) else { return nil }
        let position = line[range.upperBound...]
        guard !position.isEmpty, position.allSatisfy(\.isASCII), position.allSatisfy(\.isNumber) else { return nil }
        return String(line[..<range.lowerBound])
    }

    static let fields = ["DETAIL:  ", "HINT:  ", "CONTEXT:  ", "STATEMENT:  "]

    /// Every deadlock report in `text`, in order. Pure and total: text of
    /// any other kind is skipped.
    public static func deadlocks(in text: String) -> [ServerLogDeadlock] {
        read(text, final: true).reports
    }

    /// For reading a log as it grows: the reports in `text`, and how many of
    /// its UTF-8 bytes they account for. Unless `final`, a report at the end
    /// of `text` that may still be growing (nothing after it yet, or a line
    /// without its newline) is left unread, its bytes not counted: the caller
    /// keeps them and reads them again with what follows.
    public static func read(_ text: String, final: Bool) -> (reports: [ServerLogDeadlock], consumed: Int) {
        // Whole lines only, unless final.
        var lines: [Substring] = []
        var offsets: [Int] = []  // UTF-8 offset of each line's start
        var offset = 0
        var rest = Substring(text)
        while !rest.isEmpty {
            guard let newline = rest.firstIndex(of: "\n") else {
                if final {
                    lines.append(rest)
                    offsets.append(offset)
                    offset += rest.utf8.count
                }
                break
            }
            var line = rest[..<newline]
            if line.last == "\r" { line = line.dropLast() }
            lines.append(line)
            offsets.append(offset)
            offset += rest[...newline].utf8.count
            rest = rest[rest.index(after: newline)...]
        }
        var reports: [ServerLogDeadlock] = []
        var consumed = offset
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard !line.hasPrefix("\t"), let prefix = Self.prefix(ofErrorLine: String(line)) else {
                index += 1
                continue
            }
            let start = index
            // The message's fields: lines with the same prefix and a known
            // field, each with its tab-continued lines.
            var fieldTexts: [String: String] = [:]
            var afterDetail = false
            var next = index + 1
            while next < lines.count {
                let fieldLine = lines[next]
                guard fieldLine.hasPrefix(prefix), let field = fields.first(where: { fieldLine.dropFirst(prefix.count).hasPrefix($0) }) else { break }
                var body = String(fieldLine.dropFirst(prefix.count + field.count))
                next += 1
                while next < lines.count, lines[next].hasPrefix("\t") {
                    body += "\n" + lines[next].dropFirst()
                    next += 1
                }
                if fieldTexts[field] == nil { fieldTexts[field] = body }
                if field != "DETAIL:  ", fieldTexts["DETAIL:  "] != nil { afterDetail = true }
            }
            // At the end of the text the message may still be growing; its
            // DETAIL is whole once a later field (the HINT) is there, as the
            // server writes a message in one piece.
            if !final, next == lines.count, !afterDetail {
                consumed = offsets[start]
                break
            }
            if let detail = fieldTexts["DETAIL:  "], let parsed = parseDetail(detail) {
                var report = parsed
                report.line = start + 1
                report.prefix = prefix
                report.statement = fieldTexts["STATEMENT:  "]
                reports.append(report)
            }
            index = next
        }
        return (reports, consumed)
    }

    /// The log's DETAIL: edge lines, then `Process N: query` per backend,
    /// a query's own further lines following it.
    public static func parseDetail(_ detail: String) -> ServerLogDeadlock? {
        let lines = detail.split(separator: "\n", omittingEmptySubsequences: false)
        var edgeLines: [Substring] = []
        var index = 0
        while index < lines.count, DeadlockEdge(postgresLine: MessageScanner.trimmed(lines[index])) != nil {
            edgeLines.append(lines[index])
            index += 1
        }
        guard let report = DeadlockReport.parse(detail: edgeLines.joined(separator: "\n"), context: nil) else { return nil }
        let pids = Set(report.cycle)
        var queries: [Int32: String] = [:]
        var current: Int32?
        while index < lines.count {
            let line = lines[index]
            index += 1
            if let (pid, query) = queryLine(line), pids.contains(pid), queries[pid] == nil {
                queries[pid] = query
                current = pid
            } else if let pid = current {
                queries[pid, default: ""] += "\n" + String(line)
            }
        }
        // Placeholders PostgreSQL writes instead of a query it will not show.
        for (pid, query) in queries where query.hasPrefix("<") && query.hasSuffix(">") && !query.contains("\n") {
            queries[pid] = nil
        }
        return ServerLogDeadlock(report: report, queries: queries, prefix: "", line: 0)
    }

    /// `Process 123: query`.
    private static func queryLine(_ line: Substring) -> (Int32, String)? {
        var scanner = MessageScanner(line)
        guard scanner.skip("Process "), let pid = scanner.unsigned(UInt32.self), pid <= UInt32(Int32.max), scanner.skip(": ") else { return nil }
        return (Int32(pid), String(scanner.remainder()))
    }
}
