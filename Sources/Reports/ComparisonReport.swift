import Foundation
import LockstormCore

/// What `lockstorm compare` ran, for the table header and the HTML page.
public struct ComparisonInfo: Sendable {
    public var workload: String
    public var variants: [String]
    public var sweeps: [Sweep]
    public var repeats: Int
    /// `3.0 s per cell` or `100 transactions per client`.
    public var length: String
    public var server: String?
    public var commandLine: String
    public var partial: Bool
    /// The workload's unit-of-work counters (`count: N`): their `N_per_s` leads the table.
    public var counters: [String]

    public init(
        workload: String, variants: [String], sweeps: [Sweep], repeats: Int, length: String, server: String?, commandLine: String, partial: Bool,
        counters: [String] = []
    ) {
        self.counters = counters
        self.workload = workload
        self.variants = variants
        self.sweeps = sweeps
        self.repeats = repeats
        self.length = length
        self.server = server
        self.commandLine = commandLine
        self.partial = partial
    }
}

/// `lockstorm compare`'s outputs: the terminal table, `comparison.csv` and `report.html`.
///
/// The best value of each metric at each sweep point is marked (bold in the
/// page, `*` in the terminal) by ``WinnerRule``: never a latency of a cell
/// that failed most attempts or whose throughput collapsed, never a lead
/// inside the noise or the repeat ranges.
public enum ComparisonReport {
    /// A column of the table and the page: its header, metric, decimals and scale (100 for percentages).
    struct Column {
        var header: String
        var metric: String
        var digits: Int
        var scale: Double
        /// An error-class rate, shown only when some cell has one.
        var optional = false
    }

    static func columns(counters: [String]) -> [Column] {
        counters.map { Column(header: "\($0)/s", metric: UnitColumn.rateName($0), digits: 1, scale: 1) } + [
            Column(header: "tps", metric: "tps", digits: 1, scale: 1), Column(header: "p50 ms", metric: "p50_ms", digits: 2, scale: 1),
            Column(header: "p99 ms", metric: "p99_ms", digits: 2, scale: 1), Column(header: "failed %", metric: "failed_rate", digits: 1, scale: 100),
            Column(header: "deadlock %", metric: "deadlocks_rate", digits: 1, scale: 100, optional: true),
            Column(header: "lock n/a %", metric: "lock_not_available_rate", digits: 1, scale: 100, optional: true),
            Column(header: "serializ. %", metric: "serialization_failures_rate", digits: 1, scale: 100, optional: true),
            Column(header: "retries/1k", metric: "retries_per_1k", digits: 1, scale: 1),
        ]
    }

    /// The columns worth showing: an error class that no cell met is a column of zeros.
    static func shownColumns(_ cells: [ComparisonCell], counters: [String]) -> [Column] {
        columns(counters: counters).filter { column in
            guard column.optional, let metric = MetricCatalogue.metric(named: column.metric, counters: counters) else { return true }
            return cells.contains { ($0.spread(metric)?.max ?? 0) > 0 }
        }
    }

    /// Every verdict of `rule` for the shown columns.
    public static func verdicts(_ cells: [ComparisonCell], counters: [String], rule: WinnerRule = WinnerRule()) -> [WinnerRule.Verdict] {
        columns(counters: counters).flatMap { column -> [WinnerRule.Verdict] in
            guard let metric = MetricCatalogue.metric(named: column.metric, counters: counters) else { return [] }
            return rule.verdicts(cells, metric: metric)
        }
    }

    /// Winning cell indices by metric name.
    static func winners(_ verdicts: [WinnerRule.Verdict]) -> [String: Set<Int>] {
        var winners: [String: Set<Int>] = [:]
        for verdict in verdicts { if let winner = verdict.winner { winners[verdict.metric, default: []].insert(winner) } }
        return winners
    }

    /// Why each excluded cell is never best at latencies and rates, by cell index.
    static func exclusions(_ verdicts: [WinnerRule.Verdict]) -> [Int: String] {
        var reasons: [Int: String] = [:]
        for verdict in verdicts { for exclusion in verdict.excluded where reasons[exclusion.cell] == nil { reasons[exclusion.cell] = exclusion.reason } }
        return reasons
    }

    /// `2000.0`, or `2000.0 (1900.0–2100.0)` with `ranges` when the cell was repeated.
    static func cellText(_ spread: Spread, _ column: Column, ranges: Bool) -> String {
        let median = Format.fixed(spread.median * column.scale, digits: column.digits)
        guard ranges, spread.count > 1 else { return median }
        return "\(median) (\(Format.fixed(spread.min * column.scale, digits: column.digits))–\(Format.fixed(spread.max * column.scale, digits: column.digits)))"
    }

    /// The aligned table: one row per sweep point × variant, medians (with
    /// the range min–max when `ranges` and the cells were repeated); the best
    /// value at each point is marked `*`.
    public static func table(_ cells: [ComparisonCell], info: ComparisonInfo, ranges: Bool = false) -> String {
        let columns = shownColumns(cells, counters: info.counters)
        let verdicts = Self.verdicts(cells, counters: info.counters)
        let winners = Self.winners(verdicts)
        let header = info.sweeps.map(\.name) + ["variant"] + columns.map(\.header) + ["invariants"]
        var rows: [[String]] = []
        for (index, cell) in cells.enumerated() {
            var row: [String] = cell.point.map(\.value)
            row.append(cell.variant + (cell.partial ? " (partial)" : ""))
            for column in columns {
                guard let metric = MetricCatalogue.metric(named: column.metric, counters: info.counters), let spread = cell.spread(metric) else {
                    row.append("– ")
                    continue
                }
                // A trailing mark or space keeps the decimals aligned.
                let best = winners[column.metric]?.contains(index) == true
                row.append(cellText(spread, column, ranges: ranges) + (best ? "*" : " "))
            }
            row.append(cell.invariantsHeld.isEmpty ? "–" : cell.invariantsText)
            rows.append(row)
        }
        var title = "\(info.workload): \(info.variants.count) variant(s)"
        if !info.sweeps.isEmpty { title += " × " + info.sweeps.map { "\($0.name) \($0.values.joined(separator: ","))" }.joined(separator: " × ") }
        title += ", \(info.length) per cell"
        if info.repeats > 1 { title += ", \(info.repeats) runs each (median\(ranges ? ", min–max" : ""))" }
        if let server = info.server { title += ", PostgreSQL \(server)" }
        if info.partial { title += "  [PARTIAL: stopped early]" }
        let firstVariantColumn = info.sweeps.count
        var text = title + "\n\n" + TextTable.render(header: header, rows: rows, rightAlignFrom: firstVariantColumn + 1, rightAlignTo: header.count - 2)
        text += "* best at its sweep point, clear of the noise" + (info.repeats > 1 ? " and of the other cells' ranges" : " (more than \(Format.number(WinnerRule().noise * 100)) % ahead)") + "; no mark: no clear best."
        if info.repeats > 1 && !ranges { text += " --ranges shows each cell's min–max." }
        text += "\n"
        let excluded = Self.exclusions(verdicts).sorted { $0.key < $1.key }
        if !excluded.isEmpty {
            text += "Never best at latencies and rates (most attempts failed, or throughput under half the best):\n"
            for (index, reason) in excluded {
                let cell = cells[index]
                text += "  \(([cell.variant] + cell.point.map(\.description)).joined(separator: ", ")): \(reason)\n"
            }
        }
        return text
    }

    public static func csv(_ cells: [ComparisonCell], sweeps: [Sweep], counters: [String] = []) -> String {
        CSV.document(
            header: ComparisonTable.columns(sweeps: sweeps.map(\.name), counters: counters),
            rows: ComparisonTable.rows(cells, sweeps: sweeps.map(\.name), counters: counters))
    }

    // MARK: HTML

    private static func e(_ text: String) -> String { HTMLText.escape(text) }

    /// The page: header, the table with variants side by side, and sweep curves.
    /// `cellDirectories` are the cells' result folders relative to the page, linked from the table.
    public static func html(_ cells: [ComparisonCell], info: ComparisonInfo, cellDirectories: [[String]] = []) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<meta name=\"generator\" content=\"lockstorm compare\"/>\n"
        html += "<title>\(e("lockstorm compare: " + info.workload))</title>\n<style>\n\(HTMLReport.stylesheet)\(extraStyle)</style>\n</head>\n<body>\n<main>\n"
        html += "<header class=\"run\">\n<p class=\"kicker\">lockstorm comparison</p>\n<h1><span class=\"workload\">\(e(info.workload))</span> <span class=\"sep\">/</span> <span class=\"variant\">\(e(info.variants.joined(separator: " · ")))</span></h1>\n"
        if info.partial {
            html += "<p class=\"banner partial\" id=\"partial\"><strong>PARTIAL</strong> The comparison was stopped early: only the cells that ran are shown.</p>\n"
        }
        var facts: [(String, String)] = [("variants", String(info.variants.count)), ("per cell", info.length), ("runs per cell", String(info.repeats))]
        for sweep in info.sweeps { facts.append(("sweep \(sweep.name)", sweep.values.joined(separator: ", "))) }
        if let server = info.server { facts.append(("server", "PostgreSQL \(server)")) }
        html += "<dl class=\"facts\">\n" + facts.map { "<div><dt>\(e($0.0))</dt><dd>\(e($0.1))</dd></div>\n" }.joined() + "</dl>\n"
        html += "<pre class=\"cmd\" aria-label=\"command line\"><code>$ \(e(info.commandLine))</code></pre>\n</header>\n"
        html += tableSection(cells, info: info, cellDirectories: cellDirectories)
        html += curvesSection(cells, info: info)
        html += "<footer>Rendered by lockstorm compare from comparison.json and the \(e(String(cells.count))) cells' result folders (comparison.csv holds the same numbers). Self-contained: no scripts, fonts or network access.</footer>\n"
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    static let extraStyle = """
        td.excluded { color: #7b8794; }
        td.excluded::after { content: " \\2020"; }
        th a { color: inherit; }

        """

    private static func tableSection(_ cells: [ComparisonCell], info: ComparisonInfo, cellDirectories: [[String]]) -> String {
        let columns = shownColumns(cells, counters: info.counters)
        let verdicts = Self.verdicts(cells, counters: info.counters)
        let winners = Self.winners(verdicts)
        let excluded = Self.exclusions(verdicts)
        var html = "<section id=\"comparison\">\n<h2>Side by side</h2>\n<div class=\"scroll\">\n<table id=\"comparison-table\">\n<thead>\n<tr>"
        for sweep in info.sweeps { html += "<th scope=\"col\" class=\"num\">\(e(sweep.name))</th>" }
        html += "<th scope=\"col\">variant</th>"
        for column in columns { html += "<th scope=\"col\" class=\"num\">\(e(column.header))</th>" }
        html += "<th scope=\"col\">invariants</th></tr>\n</thead>\n<tbody>\n"
        for (index, cell) in cells.enumerated() {
            html += "<tr>"
            for value in cell.point { html += "<td class=\"num\">\(e(value.value))</td>" }
            var name = e(cell.variant)
            if let first = cellDirectories.indices.contains(index) ? cellDirectories[index].first : nil {
                name = "<a href=\"\(e(first))/report.html\">\(name)</a>"
            }
            html += "<th scope=\"row\">\(name)\(cell.partial ? " (partial)" : "")</th>"
            for column in columns {
                guard let metric = MetricCatalogue.metric(named: column.metric, counters: info.counters), let spread = cell.spread(metric) else {
                    html += "<td class=\"num na\">–</td>"
                    continue
                }
                let text = cellText(spread, column, ranges: true)
                let isBest = winners[column.metric]?.contains(index) == true
                var classes = spread.median == 0 && metric.better == .lower ? "num zero" : "num"
                var title = ""
                if let reason = excluded[index], WinnerRule.needsEligibility(metric) {
                    classes += " excluded"
                    title = " title=\"\(e("never best: " + reason))\""
                }
                html += "<td class=\"\(classes)\"\(title)>\(isBest ? "<strong>\(e(text))</strong>" : e(text))</td>"
            }
            let invariants = cell.invariantsHeld.isEmpty ? "–" : cell.invariantsText
            let badge = cell.invariantsHeld.allSatisfy { $0 } ? "pass" : "fail"
            html += "<td><span class=\"badge \(cell.invariantsHeld.isEmpty ? "neutral" : badge)\">\(e(invariants))</span></td></tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n"
        let rule = WinnerRule()
        html += "<p class=\"hint\">Medians over the runs of each cell\(info.repeats > 1 ? ", with the range (min–max) in brackets" : ""). Rates are per attempt. "
        html += "Bold: the best value at its sweep point, only when clear of the runner-up by more than \(e(Format.number(rule.noise * 100))) % (single runs) or, with repeats, when the two ranges do not overlap; no bold means no clear best. "
        html += "Latencies and error rates of a cell that failed more than \(e(Format.number(rule.maxFailedRate * 100))) % of its attempts, or whose throughput was under \(e(Format.number(rule.minThroughputShare * 100))) % of the best at its point, are never best (greyed, marked \u{2020}; hover for the reason). comparison.json lists every verdict.</p>\n"
        if !excluded.isEmpty {
            html += "<ul class=\"hint\" id=\"excluded\">\n"
            for (index, reason) in excluded.sorted(by: { $0.key < $1.key }) {
                let cell = cells[index]
                html += "<li>\(e(([cell.variant] + cell.point.map(\.description)).joined(separator: ", "))): \(e(reason))</li>\n"
            }
            html += "</ul>\n"
        }
        html += "</section>\n"
        return html
    }

    /// `0.5 ms`, `20 ms`, `1 s`: a latency tick on a log axis.
    static func latencyTick(_ milliseconds: Double) -> String {
        if milliseconds >= 1_000 { return Format.number(milliseconds / 1_000) + " s" }
        return Format.number(milliseconds) + " ms"
    }

    private static func curvesSection(_ cells: [ComparisonCell], info: ComparisonInfo) -> String {
        guard let sweep = info.sweeps.first else {
            return "<section id=\"curves\">\n<h2>Sweep curves</h2>\n<p class=\"note\">No --sweep: one point per variant, so there are no curves; the table above is the comparison.</p>\n</section>\n"
        }
        // x: the first sweep's values, evenly spaced (1, 4, 16, 64 read best that way);
        // one series per variant and, with a second sweep, per value of the others.
        let ticks = sweep.values.enumerated().map { SVGChart.Tick(value: Double($0.offset), label: $0.element) }
        let axis = SVGChart.XAxis.fixed(lower: -0.3, upper: Double(max(sweep.values.count - 1, 1)) + 0.3, ticks: ticks)
        var groups: [(String, [ComparisonCell])] = []
        for cell in cells {
            let rest = cell.point.dropFirst().map(\.description).joined(separator: ", ")
            let label = rest.isEmpty ? cell.variant : "\(cell.variant), \(rest)"
            if let index = groups.firstIndex(where: { $0.0 == label }) { groups[index].1.append(cell) } else { groups.append((label, [cell])) }
        }
        let repeated = cells.contains { $0.runs.count > 1 }
        func series(_ metricName: String, scale: Double) -> [SVGChart.Series] {
            guard let metric = MetricCatalogue.metric(named: metricName, counters: info.counters) else { return [] }
            return groups.enumerated().map { index, group in
                let style = SVGChart.distinctStyle(index)
                var points: [SVGChart.Point] = []
                var ranges: [SVGChart.RangeBar] = []
                for cell in group.1 {
                    guard let value = cell.point.first?.value, let x = sweep.values.firstIndex(of: value) else { continue }
                    let spread = cell.spread(metric)
                    points.append(SVGChart.Point(x: Double(x), y: (spread?.median).map { $0 * scale } ?? .nan))
                    // Bars of coinciding cells sit side by side, a little off the point, rather than on top of one another.
                    let offset = (Double(index) - Double(groups.count - 1) / 2) * 0.05
                    if let spread, spread.count > 1 { ranges.append(SVGChart.RangeBar(x: Double(x) + offset, low: spread.min * scale, high: spread.max * scale)) }
                }
                return SVGChart.Series(name: group.0, points: points, color: style.color, dash: style.dash, lineWidth: style.lineWidth, marker: style.marker, ranges: ranges)
            }
        }
        let xTitle = sweep.isClients ? "clients" : sweep.name
        var html = "<section id=\"curves\">\n<h2>Against \(e(xTitle))</h2>\n"
        html += "<p class=\"hint\" id=\"curves-note\">Each variant has its own colour, dash and marker shape; earlier variants are drawn wider with larger markers, so lines that coincide stay visible as nested shapes."
        html += repeated ? " Bars show the range (min–max) of each cell's \(e(String(info.repeats))) runs, set slightly apart sideways so that they do not hide one another; the line joins the medians.</p>\n" : "</p>\n"
        func figure(_ id: String, _ title: String, _ yTitle: String, _ metric: String, scale: Double, log: Bool = false, caption: String) {
            var chart = SVGChart(id: id, title: title, xTitle: xTitle, yTitle: yTitle, xAxis: axis, series: series(metric, scale: scale))
            chart.markers = true
            if log { chart.yAxis = .log(label: latencyTick) }
            html += "<figure class=\"chart\">\n\(chart.render())\n<figcaption>\(e(caption))</figcaption>\n</figure>\n"
        }
        for counter in info.counters {
            figure("chart-\(counter)-per-s", "\(counter) per second", "\(counter)/s", UnitColumn.rateName(counter), scale: 1, caption: "Units of work counted as \(counter) per second of the measurement window (median of each cell's runs), one line per variant.")
        }
        figure("chart-tps", "Throughput", "throughput (tx/s)", "tps", scale: 1, caption: "Committed transactions per second (median of each cell's runs), one line per variant.")
        figure("chart-p50", "p50 latency (log scale)", "latency (log)", "p50_ms", scale: 1, log: true, caption: "Median latency of committed transactions, first attempt to COMMIT, retries included, on a log axis. A gap: nothing committed.")
        figure("chart-p99", "p99 latency (log scale)", "latency (log)", "p99_ms", scale: 1, log: true, caption: "99th-percentile latency of committed transactions, first attempt to COMMIT, retries included, on a log axis: a variant in seconds does not flatten the others. A gap: nothing committed.")
        figure("chart-failed", "Failed attempts", "% of attempts", "failed_rate", scale: 100, caption: "Attempts that ended in an error, whatever the class, as a share of all attempts.")
        for errorClass in ErrorClass.allCases {
            let name = "\(errorClass.columnName)_rate"
            guard let metric = MetricCatalogue.metric(named: name), cells.contains(where: { ($0.spread(metric)?.max ?? 0) > 0 }) else { continue }
            figure("chart-\(errorClass.columnName)", "\(errorClass.description.prefix(1).uppercased() + errorClass.description.dropFirst()) rate", "% of attempts", name, scale: 100, caption: "Attempts that failed with \(errorClass.description) (\(errorClass.columnName)), as a share of all attempts.")
        }
        html += "</section>\n"
        return html
    }
}
