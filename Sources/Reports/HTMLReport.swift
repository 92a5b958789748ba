import Foundation
import LockstormCore

/// `report.html`: one self-contained page per run, rendered from the result files.
///
/// Inline CSS and SVG only: no scripts, fonts, images or links to fetch, so
/// the file opens anywhere, offline, and can be mailed or archived as is.
/// The markup is written XHTML-style (every element closed, void elements
/// self-closed, only XML's own entities), so it is well-formed XML as well
/// as HTML5. Nothing in it depends on the time it was rendered: the same
/// files always give the same page.
public enum HTMLReport {
    public static let fileName = "report.html"

    /// Reads `directory` and writes `directory/report.html` atomically (temporary name, then rename).
    @discardableResult
    public static func write(directory: URL) throws -> URL {
        let files = try ResultFiles.load(directory: directory)
        // Temporary file, then rename; on a failed write nothing is left and the error names the path.
        return try ResultWriter(directory: directory).write(fileName, render(files))
    }

    /// The whole document.
    public static func render(_ files: ResultFiles) -> String {
        let run = files.run
        let total = files.summary.first(where: \.isTotal)
        let workload = run?.workloadName ?? files.summary.first?.workload ?? files.directory?.lastPathComponent ?? "run"
        let variant = run?.variant ?? files.summary.first?.variant ?? ""
        let name = variant.isEmpty ? workload : "\(workload) / \(variant)"

        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        html += "<meta name=\"generator\" content=\"lockstorm report\"/>\n"
        html += "<title>\(e("lockstorm: " + name))</title>\n<style>\n\(stylesheet)</style>\n</head>\n<body>\n<main>\n"
        html += header(files, workload: workload, variant: variant, total: total)
        html += summarySection(files.summary)
        html += checksSection(run, total: total, timeseries: files.timeseries)
        html += deadlockSection(files.deadlocks)
        html += timeSection(files.timeseries, meanTPS: total?.tps)
        html += distributionSection(files.latency, order: files.summary.map(\.transaction))
        html += errorsSection(files.errors)
        html += detailsSection(run)
        html += footer(files)
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    private static func e(_ text: String) -> String { HTMLText.escape(text) }

    // MARK: Header

    private static func header(_ files: ResultFiles, workload: String, variant: String, total: SummaryLine?) -> String {
        let run = files.run
        var html = "<header class=\"run\">\n<p class=\"kicker\">lockstorm run report</p>\n"
        html += "<h1><span class=\"workload\">\(e(workload))</span>"
        if !variant.isEmpty { html += " <span class=\"sep\">/</span> <span class=\"variant\">\(e(variant))</span>" }
        html += "</h1>\n"
        if run?.partial == true {
            html += "<p class=\"banner partial\" id=\"partial\"><strong>PARTIAL</strong> The run was stopped early (interrupted, or the server was lost): every figure covers only what ran before it stopped.</p>\n"
        }

        var facts: [(String, String)] = []
        if let clients = run?.clients ?? total?.clients { facts.append(("clients", HTMLText.count(clients))) }
        if let threads = run?.threads { facts.append(("threads", HTMLText.count(threads))) }
        if let measured = run?.measuredDurationSeconds ?? total?.durationSeconds { facts.append(("measured duration", HTMLText.seconds(measured))) }
        if let requested = run?.requestedDurationSeconds {
            facts.append(("requested", HTMLText.seconds(requested)))
        } else if let perClient = run?.transactionsPerClient {
            facts.append(("requested", "\(HTMLText.count(perClient)) transactions per client"))
        }
        if let warmup = run?.warmupSeconds, warmup > 0 { facts.append(("warmup", HTMLText.seconds(warmup))) }
        if let seed = run?.seed { facts.append(("seed", String(seed))) }
        if run?.begin == RunRecord.beginSeparate { facts.append(("BEGIN", "a round trip of its own (--separate-begin)")) }
        if let mode = run?.protocolMode { facts.append(("protocol", "-M \(mode)")) }
        if let server = run?.server?.version {
            facts.append(("server", server.first?.isNumber == true ? "PostgreSQL \(server)" : server))
        }
        for (term, value) in [("started", run?.startedAt), ("ended", run?.endedAt)] {
            guard let value else { continue }
            // The zone goes in the label so the value fits on one line.
            if let utc = HTMLText.utcTimestamp(value) { facts.append(("\(term) (UTC)", utc)) } else { facts.append((term, value)) }
        }
        if let interval = run?.intervalSeconds { facts.append(("interval", HTMLText.decimal(interval, digits: interval == interval.rounded() ? 0 : 3) + " s")) }
        if let rss = run?.peakRSSBytes { facts.append(("peak memory (RSS)", HTMLText.bytes(rss))) }
        if !facts.isEmpty {
            html += "<dl class=\"facts\">\n"
            for (term, value) in facts { html += "<div><dt>\(e(term))</dt><dd>\(e(value))</dd></div>\n" }
            html += "</dl>\n"
        }
        if let command = run?.commandLine, !command.isEmpty {
            html += "<pre class=\"cmd\" aria-label=\"command line\"><code>$ \(e(command))</code></pre>\n"
        }
        if run == nil {
            html += "<p class=\"note\">No run.json in this result directory: threads, seed, server and timing details are unknown.</p>\n"
        }
        html += "</header>\n"
        return html
    }

    // MARK: Summary

    /// A summary-table column: the `summary.csv` column it shows, its group and header.
    private struct Column: Sendable {
        var column: SummaryColumn
        var group: String
        var header: String

        /// Set for the failure-class columns, which are left out when zero in every row.
        var errorClass: ErrorClass? { column.errorClass }

        /// The cell as people read it; `nil` when the file lacks the column.
        func value(_ line: SummaryLine) -> String? {
            switch line.values[column] {
            case .count(let count)?: HTMLText.count(count)
            case .number(let number)?: column == .tps ? HTMLText.decimal(number, digits: 1) : HTMLText.milliseconds(number)
            case .text(let text)?: text
            case nil: nil
            }
        }
    }

    private static let summaryColumns: [Column] = {
        let shortNames: [ErrorClass: String] = [
            .deadlock: "deadlock", .lockNotAvailable: "lock n/a", .serializationFailure: "serializ.",
            .statementTimeout: "timeout", .connection: "connection", .other: "other",
        ]
        var columns = [SummaryColumn.attempts, .committed, .rolledBack, .endedEarly, .failed, .unexpectedErrors, .retries].map {
            Column(column: $0, group: "attempts", header: $0.name.replacingOccurrences(of: "_", with: " "))
        }
        for errorClass in ErrorClass.allCases {
            columns.append(Column(column: SummaryColumn(errorClass), group: "failed attempts by class", header: shortNames[errorClass] ?? errorClass.columnName))
        }
        columns.append(Column(column: .tps, group: "throughput", header: "tx/s"))
        for column in SummaryColumn.latencies {
            let header = column.percentile.map { "p" + Format.number($0) } ?? (column == .meanMilliseconds ? "mean" : "max")
            columns.append(Column(column: column, group: "latency (ms)", header: header))
        }
        return columns
    }()

    private static func summarySection(_ rows: [SummaryLine]) -> String {
        var html = "<section id=\"summary-section\">\n<h2>Summary</h2>\n"
        guard !rows.isEmpty else {
            return html + "<p class=\"note\">summary.csv has no rows: nothing was measured.</p>\n</section>\n"
        }
        // A failure class nobody hit is a column of zeros: leave it out and say so, so the table fits.
        let quiet = ErrorClass.allCases.filter { errorClass in rows.allSatisfy { ($0.errorCounts[errorClass] ?? 0) == 0 } }
        // The version 2 outcome columns show only when some row has one (never for version 1 files).
        let outcomes: Set<SummaryColumn> = [.rolledBack, .endedEarly, .unexpectedErrors]
        let columns = summaryColumns.filter { column in
            if outcomes.contains(column.column) { return rows.contains { ($0.count(column.column) ?? 0) > 0 } }
            return column.errorClass.map { !quiet.contains($0) } ?? true
        }
        let counters = rows.first?.counterNames ?? []
        html += "<div class=\"scroll\">\n<table class=\"summary\" id=\"summary\">\n<thead>\n<tr class=\"groups\"><th scope=\"col\"></th>"
        var groups: [(String, Int)] = []
        for column in columns {
            if groups.last?.0 == column.group { groups[groups.count - 1].1 += 1 } else { groups.append((column.group, 1)) }
        }
        for (group, span) in groups { html += "<th scope=\"colgroup\" colspan=\"\(span)\">\(e(group))</th>" }
        if !counters.isEmpty { html += "<th scope=\"colgroup\" colspan=\"\(counters.count * 2)\">units of work</th>" }
        html += "</tr>\n<tr class=\"columns\"><th scope=\"col\">transaction</th>"
        for column in columns { html += "<th scope=\"col\" class=\"num\">\(e(column.header))</th>" }
        for counter in counters { html += "<th scope=\"col\" class=\"num\">\(e(counter))</th><th scope=\"col\" class=\"num\">\(e(counter))/s</th>" }
        html += "</tr>\n</thead>\n<tbody>\n"
        for row in rows {
            html += row.isTotal ? "<tr class=\"total\">" : "<tr>"
            html += "<th scope=\"row\">\(e(row.transaction))</th>"
            for column in columns {
                if let value = column.value(row) {
                    let zero = value == "0" ? " zero" : ""
                    html += "<td class=\"num\(zero)\">\(e(value))</td>"
                } else {
                    html += "<td class=\"num na\" title=\"not in summary.csv\">\u{2013}</td>"
                }
            }
            for unit in row.units {
                html += "<td class=\"num\(unit.total == 0 ? " zero" : "")\">\(e(HTMLText.count(unit.total)))</td><td class=\"num\">\(e(HTMLText.decimal(unit.perSecond, digits: 1)))</td>"
            }
            html += "</tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n"
        if quiet.count == ErrorClass.allCases.count {
            html += "<p class=\"hint\" id=\"quiet-classes\">No attempt failed.</p>\n"
        } else if !quiet.isEmpty {
            html += "<p class=\"hint\" id=\"quiet-classes\">No failures of class: \(e(quiet.map(\.description).joined(separator: ", "))).</p>\n"
        }
        let rule = rows.first?.rolledBack == nil ? "attempts = committed + failed" : "attempts = committed + rolled back + ended early + failed"
        html += "<p class=\"hint\">\(rule); retries counts failed attempts that were tried again; latency is from the first attempt to COMMIT, retries included.</p>\n"
        html += "</section>\n"
        return html
    }

    // MARK: Checks

    private static func checksSection(_ run: RunRecord?, total: SummaryLine?, timeseries: [IntervalLine]?) -> String {
        var html = "<section id=\"checks\">\n<h2>Checks</h2>\n"
        let invariants = run?.invariants ?? []
        if invariants.isEmpty {
            if let failures = total?.invariantFailures, failures > 0 {
                html += "<p class=\"check\"><span class=\"badge fail\">FAIL</span> \(failures) invariant(s) failed (see run.json for which).</p>\n"
            } else {
                html += "<p class=\"note\">No invariants were recorded for this run.</p>\n"
            }
        } else {
            html += "<ul class=\"invariants\">\n"
            for invariant in invariants {
                let passed = invariant.passed
                // A pass with a gap in its `during:` checks is marked PASS*, as in the terminal summary.
                let gap = invariant.during.flatMap { SummaryReport.coverageGapLine($0.coverage, looks: "checks", monitor: "its monitor") }
                html += "<li class=\"check\"><span class=\"badge \(passed ? (gap == nil ? "pass" : "neutral") : "fail")\">\(passed ? (gap == nil ? "PASS" : "PASS*") : "FAIL")</span> "
                html += "<span class=\"name\">\(e(invariant.name))</span>"
                if let error = invariant.error, !error.isEmpty {
                    html += ": the check itself failed: <span class=\"message\">\(e(error))</span>"
                } else {
                    html += ": expected <code>\(e(invariant.expected ?? "NULL"))</code>, got <code>\(e(invariant.actual ?? "NULL"))</code>"
                }
                if let gap { html += " <span class=\"coverage\">* during the run: \(e(gap)): not watched the whole run</span>" }
                html += "</li>\n"
            }
            html += "</ul>\n"
        }
        if let deadlocks = run?.deadlocks {
            let client = deadlocks.client
            html += "<p class=\"check\" id=\"deadlock-check\">"
            switch deadlocks.agree {
            case true?: html += "<span class=\"badge pass\">AGREE</span> "
            case false?: html += "<span class=\"badge fail\">DISAGREE</span> "
            case nil: html += "<span class=\"badge neutral\">UNCHECKED</span> "
            }
            html += "Deadlocks: lockstorm's clients saw \(HTMLText.count(client)) (SQLSTATE 40P01); "
            if let delta = deadlocks.serverDelta {
                html += "the server's pg_stat_database.deadlocks rose by \(HTMLText.count(delta))."
            } else {
                html += "the server's count was not available."
            }
            html += "</p>\n"
        }
        // The same lines as the terminal summary prints.
        if let schedule = run?.schedule { html += "<p class=\"check\" id=\"schedule\">\(e(schedule.line))</p>\n" }
        if let line = run?.connections?.line { html += "<p class=\"check\" id=\"connections\">\(e(line))</p>\n" }
        html += outcomesLines(run, timeseries: timeseries)
        html += "</section>\n"
        return html
    }

    /// The version 2 figures, each only when its run recorded it: how the
    /// attempts ended, the units of work, the longest waits and the lock
    /// sampler's coverage.
    private static func outcomesLines(_ run: RunRecord?, timeseries: [IntervalLine]?) -> String {
        var html = ""
        if let outcomes = run?.outcomes {
            var parts = ["\(HTMLText.count(outcomes.committed)) committed"]
            if outcomes.committedInGrace > 0 { parts[0] += " (\(HTMLText.count(outcomes.committedInGrace)) in the grace period after the window)" }
            parts += ["\(HTMLText.count(outcomes.rolledBack)) rolled back", "\(HTMLText.count(outcomes.endedEarly)) ended early", "\(HTMLText.count(outcomes.failed)) failed"]
            var line = "Attempts: \(HTMLText.count(outcomes.attempts)) = " + parts.joined(separator: " + ")
            if outcomes.failed > 0 { line += "; of the failures \(HTMLText.count(outcomes.expectedErrors)) expected, \(HTMLText.count(outcomes.unexpectedErrors)) not declared by the workload" }
            html += "<p class=\"check\" id=\"outcomes\">\(e(line)).</p>\n"
        }
        if let units = run?.orderedUnits, !units.isEmpty {
            let line = "units of work: " + units.map { "\($0.name) \(HTMLText.count($0.units.total)) (\(HTMLText.decimal($0.units.perSecond, digits: 1))/s)" }.joined(separator: ", ")
            html += "<p class=\"check\" id=\"units\">\(e(line))</p>\n"
        }
        let statement = timeseries?.compactMap(\.longestStatementWaitMilliseconds).max()
        if let statement {
            let single = timeseries?.compactMap(\.longestWaitMilliseconds).max() ?? 0
            html += "<p class=\"check\" id=\"longest-wait\">Longest wait on locks: \(e(HTMLText.decimal(statement, digits: 1))) ms (one statement, across every lock it queued behind); longest single lock wait \(e(HTMLText.decimal(single, digits: 1))) ms.</p>\n"
        }
        if let coverage = run?.lockSampling?.coverage {
            let text = SummaryReport.coverageGapLine(coverage, looks: "samples", monitor: "the sampler").map { "Lock-wait sampling: \($0): the lock-wait figures miss part of the run." }
                ?? "Lock-wait sampling: \(coverage.made) of \(coverage.due) samples, none missed."
            html += "<p class=\"check\" id=\"lock-sampling\">\(e(text))</p>\n"
        }
        return html
    }

    // MARK: Charts

    /// Colour and dash per error class, the same in every report.
    private static func errorStyle(_ errorClass: ErrorClass) -> (String, String?) {
        switch errorClass {
        case .deadlock: ("#D55E00", nil)
        case .lockNotAvailable: ("#0072B2", "6 3")
        case .serializationFailure: ("#009E73", "2 3")
        case .statementTimeout: ("#CC79A7", "8 3 2 3")
        case .connection: ("#E69F00", nil)
        case .other: ("#7F7F7F", "6 3")
        }
    }

    private static func figure(_ chart: SVGChart, caption: String) -> String {
        "<figure class=\"chart\">\n\(chart.render())\n<figcaption>\(e(caption))</figcaption>\n</figure>\n"
    }

    private static func timeSection(_ allIntervals: [IntervalLine]?, meanTPS: Double?) -> String {
        var html = "<section id=\"over-time\">\n<h2>Over time</h2>\n"
        guard var intervals = allIntervals else {
            return html + "<p class=\"note\" id=\"no-timeseries\">No timeseries.csv in this result directory, so throughput, latency and errors over time cannot be drawn.</p>\n</section>\n"
        }
        // The last interval holds only the transactions that finished after the
        // deadline; a sliver of it would plot as a crash in throughput and a spike
        // in error rates. It stays in timeseries.csv; the charts leave it out.
        if intervals.count > 1, let last = intervals.last, let first = intervals.first, last.length < 0.5 * first.length {
            intervals.removeLast()
            html += "<p class=\"note\">The last interval (\(e(HTMLText.decimal(last.length, digits: 3))) s, transactions that finished after the deadline) is in timeseries.csv but not drawn.</p>\n"
        }
        let lengths = intervals.map(\.length).filter { $0 > 0 }
        let typical = lengths.sorted().last.map { HTMLText.decimal($0, digits: $0 == $0.rounded() ? 0 : 2) + " s" } ?? "interval"
        let axis = SVGChart.XAxis.linear(unit: "s", fromZero: true)
        let xTitle = "elapsed time (s)"

        let throughput = SVGChart(
            id: "chart-throughput", title: "Throughput", xTitle: xTitle, yTitle: "throughput (tx/s)", xAxis: axis,
            series: [SVGChart.Series(name: "committed tx/s", points: intervals.map { .init(x: $0.endSeconds, y: $0.tps) }, color: SVGChart.palette[0])])
        var caption = "Committed transactions per second in each \(typical) interval, plotted at the interval's end"
        if let meanTPS { caption += "; run mean \(HTMLText.decimal(meanTPS, digits: 1)) tx/s" }
        html += figure(throughput, caption: caption + ".")

        // An interval where nothing committed has no latency: a gap, not a drop to zero.
        func latency(_ value: KeyPath<IntervalLine, Double?>) -> [SVGChart.Point] {
            intervals.map { interval in
                let y = interval.committed == 0 ? Double.nan : (interval[keyPath: value] ?? .nan)
                return SVGChart.Point(x: interval.endSeconds, y: y)
            }
        }
        let latencyChart = SVGChart(
            id: "chart-latency-time", title: "Latency p50 and p99 over time", xTitle: xTitle, yTitle: "latency (ms)", xAxis: axis,
            series: [
                SVGChart.Series(name: "p50", points: latency(\.p50Milliseconds), color: SVGChart.palette[0]),
                SVGChart.Series(name: "p99", points: latency(\.p99Milliseconds), color: SVGChart.palette[1], dash: "6 3"),
            ])
        html += figure(latencyChart, caption: "Latency of the transactions that committed in each interval, first attempt to COMMIT, retries included.")

        let classes = ErrorClass.allCases.filter { errorClass in intervals.contains { ($0.errorCounts[errorClass] ?? 0) > 0 } }
        let errorSeries = classes.map { errorClass in
            let (color, dash) = errorStyle(errorClass)
            return SVGChart.Series(
                name: errorClass.description,
                points: intervals.map { .init(x: $0.endSeconds, y: $0.errorsPerSecond(errorClass) ?? .nan) }, color: color, dash: dash)
        }
        var errorsChart = SVGChart(
            id: "chart-errors", title: "Errors per second by class", xTitle: xTitle, yTitle: "errors/s", xAxis: axis, series: errorSeries)
        errorsChart.emptyMessage = "no errors"
        let errorCaption = classes.isEmpty
            ? "No transaction failed in any interval: no errors."
            : "Failed attempts per second in each interval, one line per error class that occurred."
        html += figure(errorsChart, caption: errorCaption)
        if intervals.contains(where: { $0.waitingMax != nil }) {
            let waiting = SVGChart(
                id: "chart-lock-waits", title: "Sessions waiting on locks", xTitle: xTitle, yTitle: "sessions", xAxis: axis,
                series: [
                    SVGChart.Series(name: "mean waiting", points: intervals.map { .init(x: $0.endSeconds, y: $0.waitingMean ?? .nan) }, color: SVGChart.palette[0]),
                    SVGChart.Series(name: "most at once", points: intervals.map { .init(x: $0.endSeconds, y: Double($0.waitingMax ?? 0)) }, color: SVGChart.palette[1], dash: "6 3"),
                    SVGChart.Series(name: "longest blocking chain", points: intervals.map { .init(x: $0.endSeconds, y: Double($0.longestChain ?? 0)) }, color: SVGChart.palette[2], dash: "2 3"),
                ])
            html += figure(waiting, caption: "The run's sessions waiting on a lock, sampled from pg_stat_activity and pg_locks, and the longest chain of sessions each blocked by the next (pg_blocking_pids).")
        }
        html += "</section>\n"
        return html
    }

    /// The deadlocks grouped by statement first (what a person reads first:
    /// `UPDATE inventory ↔ UPDATE inventory: rows taken in different orders`),
    /// then every exact shape with its sample: values, locks and what each
    /// participant held. A version 1 deadlocks.csv has no groups: then only the shapes.
    private static func deadlockSection(_ cycles: [CycleLine]?) -> String {
        guard let cycles, !cycles.isEmpty else { return "" }
        let total = cycles.map(\.count).reduce(0, +)
        var order: [String] = []
        var groups: [String: (reason: String, count: Int, shapes: Int)] = [:]
        for cycle in cycles where !cycle.group.isEmpty {
            if groups[cycle.group] == nil { order.append(cycle.group) }
            groups[cycle.group, default: (cycle.groupReason, 0, 0)].count += cycle.count
            groups[cycle.group]?.shapes += 1
        }
        var html = "<section id=\"deadlocks\">\n<h2>Deadlock cycles</h2>\n"
        if groups.isEmpty {
            html += "<p class=\"note\">\(e(HTMLText.count(total))) deadlocks in \(e(HTMLText.count(cycles.count))) distinct shapes, "
        } else {
            html += "<p class=\"note\">\(e(HTMLText.count(total))) deadlocks in \(e(HTMLText.count(groups.count))) group\(groups.count == 1 ? "" : "s") of like statements, "
            html += "\(e(HTMLText.count(cycles.count))) exact shapes, "
        }
        html += "reconstructed from each victim's DETAIL: which transactions at which steps waited for which locks.</p>\n"
        if !groups.isEmpty {
            let sorted = order.sorted { (groups[$0]?.count ?? 0, $1) > (groups[$1]?.count ?? 0, $0) }
            html += "<div class=\"scroll\">\n<table class=\"errors\" id=\"deadlock-groups-table\">\n<thead>\n<tr><th scope=\"col\" class=\"num\">count</th><th scope=\"col\" class=\"num\">share</th><th scope=\"col\">statements</th><th scope=\"col\">why</th><th scope=\"col\" class=\"num\">shapes</th></tr>\n</thead>\n<tbody>\n"
            for key in sorted.prefix(20) {
                guard let group = groups[key] else { continue }
                let share = Format.fixed(100 * Double(group.count) / Double(max(total, 1)), digits: 0)
                html += "<tr><td class=\"num\">\(e(HTMLText.count(group.count)))</td><td class=\"num\">\(e(share)) %</td>"
                html += "<td class=\"message\">\(e(key))</td><td class=\"message\">\(e(group.reason))</td><td class=\"num\">\(e(HTMLText.count(group.shapes)))</td></tr>\n"
            }
            html += "</tbody>\n</table>\n</div>\n"
        }
        html += "<div class=\"scroll\">\n<table class=\"errors\" id=\"deadlocks-table\">\n<thead>\n<tr><th scope=\"col\" class=\"num\">count</th><th scope=\"col\" class=\"num\">sessions</th>"
        if !groups.isEmpty { html += "<th scope=\"col\">group</th>" }
        html += "<th scope=\"col\">cycle</th><th scope=\"col\">first example</th></tr>\n</thead>\n<tbody>\n"
        for cycle in cycles.prefix(20) {
            html += "<tr><td class=\"num\">\(e(HTMLText.count(cycle.count)))</td><td class=\"num\">\(e(cycle.cycleLength.map(String.init) ?? ""))</td>"
            if !groups.isEmpty { html += "<td class=\"message\">\(e(cycle.group))</td>" }
            html += "<td class=\"message\">\(e(cycle.summary))</td><td class=\"message\">\(e(cycle.sampleParticipants))"
            if !cycle.sampleWaits.isEmpty { html += "<br>wants: \(e(cycle.sampleWaits))" }
            if !cycle.sampleHolds.isEmpty { html += "<br>holds: \(e(cycle.sampleHolds))" }
            html += "</td></tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n</section>\n"
        return html
    }

    /// Percentile positions on the HdrHistogram axis: x = −log10(1 − p/100), so 90, 99, 99.9 and 99.99 are evenly spaced.
    static let percentileTicks: [(percentile: String, position: Double)] = [("0%", 0), ("90%", 1), ("99%", 2), ("99.9%", 3), ("99.99%", 4)]

    /// Where percentile `p` sits on the axis; 100 (the maximum) is clamped to the last tick.
    static func percentilePosition(_ p: Double) -> Double {
        let last = percentileTicks.last?.position ?? 4
        guard p.isFinite else { return .nan }
        if p <= 0 { return 0 }
        if p >= 100 { return last }
        return min(-log10(1 - p / 100), last)
    }

    private static func distributionSection(_ points: [LatencyPoint]?, order: [String]) -> String {
        var html = "<section id=\"distribution\">\n<h2>Latency distribution</h2>\n"
        guard let points else {
            return html + "<p class=\"note\" id=\"no-latency\">No latency.csv in this result directory, so the latency distribution cannot be drawn.</p>\n</section>\n"
        }
        // Transactions in summary order, then any others, with `total` last.
        var names: [String] = []
        for name in order + points.map(\.transaction) where !names.contains(name) && points.contains(where: { $0.transaction == name }) {
            names.append(name)
        }
        if let index = names.firstIndex(of: "total") { names.append(names.remove(at: index)) }
        var series: [SVGChart.Series] = []
        for (index, name) in names.enumerated() {
            let rows = points.filter { $0.transaction == name }.sorted { $0.percentile < $1.percentile }
            let chartPoints = rows.map { SVGChart.Point(x: percentilePosition($0.percentile), y: $0.latencyMilliseconds) }
            if name == "total" {
                series.append(SVGChart.Series(name: name, points: chartPoints, color: "#1f2933", dash: nil, lineWidth: 2.5))
            } else {
                let (color, dash) = SVGChart.style(index)
                series.append(SVGChart.Series(name: name, points: chartPoints, color: color, dash: dash))
            }
        }
        var chart = SVGChart(
            id: "chart-distribution", title: "Latency distribution by percentile", xTitle: "percentile (log scale)", yTitle: "latency (ms)",
            xAxis: .fixed(lower: 0, upper: percentileTicks.last?.position ?? 4, ticks: percentileTicks.map { SVGChart.Tick(value: $0.position, label: $0.percentile) }),
            series: series)
        // Twelve of the nineteen percentiles sit left of 90%: dots there would be a smudge.
        chart.markers = false
        html += figure(chart, caption: "Latency at each percentile of committed transactions, per transaction type and in total; the maximum is drawn at 99.99%.")
        html += "</section>\n"
        return html
    }

    // MARK: Errors

    private static func errorsSection(_ errors: [ErrorLine]?) -> String {
        var html = "<section id=\"errors\">\n<h2>Errors by SQLSTATE</h2>\n"
        guard let errors else {
            return html + "<p class=\"note\">No errors.csv in this result directory.</p>\n</section>\n"
        }
        guard !errors.isEmpty else {
            return html + "<p class=\"note\">No errors: every attempt committed.</p>\n</section>\n"
        }
        html += "<div class=\"scroll\">\n<table class=\"errors\" id=\"errors-table\">\n<thead>\n<tr><th scope=\"col\">SQLSTATE</th><th scope=\"col\">class</th><th scope=\"col\" class=\"num\">count</th><th scope=\"col\">sample message</th></tr>\n</thead>\n<tbody>\n"
        for error in errors {
            html += "<tr><td><code>\(e(error.sqlState))</code></td><td>\(e(error.errorClass?.description ?? error.errorClassName))</td>"
            html += "<td class=\"num\">\(e(HTMLText.count(error.count)))</td><td class=\"message\">\(e(error.sampleMessage))"
            if !error.sampleDetail.isEmpty { html += "<span class=\"detail\">\(e(error.sampleDetail))</span>" }
            html += "</td></tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n</section>\n"
        return html
    }

    // MARK: Reproduction details

    private static func detailsSection(_ run: RunRecord?) -> String {
        guard let run else { return "" }
        var html = "<section id=\"details\">\n<h2>Reproduce</h2>\n<div class=\"details\">\n"
        var workload: [(String, String)] = []
        if let file = run.workload?.file { workload.append(("workload file", file)) }
        if let hash = run.workload?.sha256 { workload.append(("sha256", hash)) }
        if let seed = run.seed { workload.append(("seed", String(seed))) }
        if let tool = run.tool ?? (run.version == nil ? nil : "lockstorm") {
            workload.append(("tool", [tool, run.version].compactMap { $0 }.joined(separator: " ")))
        }
        if let schema = run.schemaVersion { workload.append(("run.json schema", String(schema))) }
        html += keyValueTable("Run", workload.map { ($0.0, $0.1) }, id: "run-table")
        let parameters = (run.parameters ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value.description) }
        html += keyValueTable("Parameters", parameters, id: "parameters-table")
        html += keyValueTable("Server settings", (run.server?.settings ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, id: "settings-table")
        html += "</div>\n</section>\n"
        return html
    }

    private static func keyValueTable(_ title: String, _ rows: [(String, String)], id: String) -> String {
        var html = "<div class=\"kv\">\n<h3>\(e(title))</h3>\n"
        if rows.isEmpty { return html + "<p class=\"note\">none recorded</p>\n</div>\n" }
        html += "<table id=\"\(e(id))\">\n<tbody>\n"
        for (key, value) in rows { html += "<tr><th scope=\"row\">\(e(key))</th><td><code>\(e(value))</code></td></tr>\n" }
        return html + "</tbody>\n</table>\n</div>\n"
    }

    private static func footer(_ files: ResultFiles) -> String {
        var present = [ResultFiles.summaryFile]
        if files.timeseries != nil { present.append(ResultFiles.timeseriesFile) }
        if files.latency != nil { present.append(ResultFiles.latencyFile) }
        if files.errors != nil { present.append(ResultFiles.errorsFile) }
        if files.run != nil { present.append(ResultFiles.runFile) }
        var text = "Rendered by lockstorm report from \(present.joined(separator: ", "))"
        if let directory = files.directory { text += " in \(directory.lastPathComponent)" }
        return "<footer>\(e(text)). Self-contained: no scripts, fonts or network access.</footer>\n"
    }

    // MARK: Style

    static let stylesheet = """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f5f6f8; color: #1f2933;
          font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1160px; margin: 0 auto; padding: 28px 24px 48px; }
        header.run { background: #ffffff; border: 1px solid #e1e4e8; border-radius: 10px; padding: 20px 24px; }
        .kicker { margin: 0; font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #616e7c; }
        h1 { margin: 2px 0 12px; font-size: 28px; line-height: 1.2; font-weight: 700; overflow-wrap: anywhere; }
        h1 .sep { color: #9aa5b1; font-weight: 400; }
        h1 .variant { color: #0b5394; }
        h2 { margin: 36px 0 12px; font-size: 19px; padding-bottom: 6px; border-bottom: 1px solid #d9dde3; }
        h3 { margin: 0 0 8px; font-size: 15px; }
        .banner.partial { margin: 0 0 14px; padding: 10px 14px; border-radius: 8px; background: #fff4e0;
          border: 1px solid #e69f00; border-left-width: 6px; color: #5c3b00; }
        .banner.partial strong { margin-right: 8px; letter-spacing: .06em; }
        dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px 24px; margin: 0 0 16px; }
        dl.facts div { min-width: 0; }
        dt { font-size: 12px; color: #616e7c; }
        dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
        pre.cmd { margin: 0; padding: 10px 14px; border-radius: 8px; background: #1f2933; color: #f5f7fa;
          font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
          white-space: pre-wrap; overflow-wrap: anywhere; }
        code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .92em; }
        .scroll { overflow-x: auto; background: #ffffff; border: 1px solid #e1e4e8; border-radius: 10px; }
        table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
        .scroll table { width: 100%; }
        th, td { padding: 5px 7px; text-align: left; white-space: nowrap; border-bottom: 1px solid #eef0f3; }
        thead th { background: #f0f2f5; font-weight: 600; color: #323f4b; }
        tr.groups th { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #616e7c;
          text-align: center; white-space: normal; border-left: 1px solid #e1e4e8; border-bottom: 1px solid #d9dde3; }
        tr.groups th:first-child { border-left: 0; }
        .num { text-align: right; }
        td.zero, td.na { color: #9aa5b1; }
        tbody th { font-weight: 600; }
        tr.total th, tr.total td { font-weight: 700; border-top: 2px solid #9aa5b1; background: #fafbfc; }
        tbody tr:last-child th, tbody tr:last-child td { border-bottom: 0; }
        .hint, figcaption { font-size: 13px; color: #616e7c; }
        .hint { margin: 8px 2px 0; }
        .note { padding: 10px 14px; background: #ffffff; border: 1px dashed #c4cad1; border-radius: 8px; color: #52606d; }
        ul.invariants { list-style: none; margin: 0; padding: 0; }
        .check { margin: 6px 0; }
        .check .name { font-weight: 600; }
        .badge { display: inline-block; min-width: 4.2em; margin-right: 6px; padding: 1px 6px; border-radius: 4px;
          font-size: 12px; font-weight: 700; letter-spacing: .04em; text-align: center; }
        .badge.pass { background: #dff3ea; color: #0b5d3f; border: 1px solid #9fd8bf; }
        .badge.fail { background: #fde7e4; color: #8f1d12; border: 1px solid #f2aaa1; }
        .badge.neutral { background: #eef0f3; color: #3e4c59; border: 1px solid #cbd2d9; }
        figure.chart { margin: 0 0 18px; padding: 10px 12px 10px; background: #ffffff; border: 1px solid #e1e4e8; border-radius: 10px; }
        figure.chart svg { display: block; width: 100%; height: auto; max-width: 960px; margin: 0 auto; }
        figcaption { margin: 4px 4px 0; }
        td.message { white-space: normal; min-width: 280px; overflow-wrap: anywhere; }
        .detail { display: block; margin-top: 2px; color: #616e7c; font-size: 12px; white-space: pre-wrap; }
        .details { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
        .kv { background: #ffffff; border: 1px solid #e1e4e8; border-radius: 10px; padding: 12px 14px; min-width: 0; }
        .kv table { width: 100%; }
        .kv th { width: 1%; color: #52606d; font-weight: 500; }
        .kv td { white-space: normal; word-break: break-all; }
        .kv .note { margin: 0; }
        footer { margin-top: 36px; font-size: 12px; color: #7b8794; }
        @media print { body { background: #ffffff; } figure.chart, .scroll, header.run, .kv { break-inside: avoid; } }

        """
}
