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
public enum ComparisonReport {
    /// The aligned table: one row per sweep point × variant, medians with the
    /// range (min–max) when cells were repeated.
    public static func table(_ cells: [ComparisonCell], info: ComparisonInfo) -> String {
        let header = info.sweeps.map(\.name) + ["variant"] + info.counters.map { "\($0)/s" } + ["tps", "p50 ms", "p99 ms", "failed %", "deadlock %", "lock n/a %", "serializ. %", "retries/1k", "invariants"]
        func value(_ cell: ComparisonCell, _ name: String, digits: Int, scale: Double = 1) -> String {
            guard let metric = MetricCatalogue.metric(named: name, counters: info.counters), let spread = cell.spread(metric) else { return "–" }
            let median = Format.fixed(spread.median * scale, digits: digits)
            guard spread.count > 1 else { return median }
            return "\(median) (\(Format.fixed(spread.min * scale, digits: digits))–\(Format.fixed(spread.max * scale, digits: digits)))"
        }
        let rows = cells.map { cell -> [String] in
            cell.point.map(\.value) + [cell.variant + (cell.partial ? " (partial)" : "")]
                + info.counters.map { value(cell, UnitColumn.rateName($0), digits: 1) } + [
                value(cell, "tps", digits: 1), value(cell, "p50_ms", digits: 2), value(cell, "p99_ms", digits: 2),
                value(cell, "failed_rate", digits: 2, scale: 100), value(cell, "deadlocks_rate", digits: 2, scale: 100),
                value(cell, "lock_not_available_rate", digits: 2, scale: 100), value(cell, "serialization_failures_rate", digits: 2, scale: 100),
                value(cell, "retries_per_1k", digits: 1), cell.invariantsHeld.isEmpty ? "–" : cell.invariantsText,
            ]
        }
        var title = "\(info.workload): \(info.variants.count) variant(s)"
        if !info.sweeps.isEmpty { title += " × " + info.sweeps.map { "\($0.name) \($0.values.joined(separator: ","))" }.joined(separator: " × ") }
        title += ", \(info.length) per cell"
        if info.repeats > 1 { title += ", \(info.repeats) runs each (median, min–max)" }
        if let server = info.server { title += ", PostgreSQL \(server)" }
        if info.partial { title += "  [PARTIAL: stopped early]" }
        let firstVariantColumn = info.sweeps.count
        return title + "\n\n" + TextTable.render(header: header, rows: rows, rightAlignFrom: firstVariantColumn + 1, rightAlignTo: header.count - 2)
    }

    public static func csv(_ cells: [ComparisonCell], sweeps: [Sweep], counters: [String] = []) -> String {
        CSV.document(
            header: ComparisonTable.columns(sweeps: sweeps.map(\.name), counters: counters),
            rows: ComparisonTable.rows(cells, sweeps: sweeps.map(\.name), counters: counters))
    }

    // MARK: HTML

    private static func e(_ text: String) -> String { HTMLText.escape(text) }

    /// The page: header, the table with variants side by side, and sweep curves.
    public static func html(_ cells: [ComparisonCell], info: ComparisonInfo) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<meta name=\"generator\" content=\"lockstorm compare\"/>\n"
        html += "<title>\(e("lockstorm compare: " + info.workload))</title>\n<style>\n\(HTMLReport.stylesheet)</style>\n</head>\n<body>\n<main>\n"
        html += "<header class=\"run\">\n<p class=\"kicker\">lockstorm comparison</p>\n<h1><span class=\"workload\">\(e(info.workload))</span> <span class=\"sep\">/</span> <span class=\"variant\">\(e(info.variants.joined(separator: " · ")))</span></h1>\n"
        if info.partial {
            html += "<p class=\"banner partial\" id=\"partial\"><strong>PARTIAL</strong> The comparison was stopped early: only the cells that ran are shown.</p>\n"
        }
        var facts: [(String, String)] = [("variants", String(info.variants.count)), ("per cell", info.length), ("runs per cell", String(info.repeats))]
        for sweep in info.sweeps { facts.append(("sweep \(sweep.name)", sweep.values.joined(separator: ", "))) }
        if let server = info.server { facts.append(("server", "PostgreSQL \(server)")) }
        html += "<dl class=\"facts\">\n" + facts.map { "<div><dt>\(e($0.0))</dt><dd>\(e($0.1))</dd></div>\n" }.joined() + "</dl>\n"
        html += "<pre class=\"cmd\" aria-label=\"command line\"><code>$ \(e(info.commandLine))</code></pre>\n</header>\n"
        html += tableSection(cells, info: info)
        html += curvesSection(cells, info: info)
        html += "<footer>Rendered by lockstorm compare from \(e(String(cells.count))) cells (comparison.csv holds the same numbers). Self-contained: no scripts, fonts or network access.</footer>\n"
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    private static func tableSection(_ cells: [ComparisonCell], info: ComparisonInfo) -> String {
        let columns: [(String, String, Int, Double)] = info.counters.map { ("\($0)/s", UnitColumn.rateName($0), 1, 1) } + [
            ("tps", "tps", 1, 1), ("p50 ms", "p50_ms", 2, 1), ("p99 ms", "p99_ms", 2, 1), ("failed %", "failed_rate", 2, 100),
            ("deadlock %", "deadlocks_rate", 2, 100), ("lock n/a %", "lock_not_available_rate", 2, 100),
            ("serializ. %", "serialization_failures_rate", 2, 100), ("retries/1k", "retries_per_1k", 1, 1),
        ]
        var html = "<section id=\"comparison\">\n<h2>Side by side</h2>\n<div class=\"scroll\">\n<table id=\"comparison-table\">\n<thead>\n<tr>"
        for sweep in info.sweeps { html += "<th scope=\"col\" class=\"num\">\(e(sweep.name))</th>" }
        html += "<th scope=\"col\">variant</th>"
        for column in columns { html += "<th scope=\"col\" class=\"num\">\(e(column.0))</th>" }
        html += "<th scope=\"col\">invariants</th></tr>\n</thead>\n<tbody>\n"
        // The best value of each column at each sweep point is bold: the answer at a glance.
        let points = Dictionary(grouping: cells.indices, by: { cells[$0].point })
        for cell in cells {
            html += "<tr>"
            for value in cell.point { html += "<td class=\"num\">\(e(value.value))</td>" }
            html += "<th scope=\"row\">\(e(cell.variant))\(cell.partial ? " (partial)" : "")</th>"
            for (_, name, digits, scale) in columns {
                guard let metric = MetricCatalogue.metric(named: name, counters: info.counters), let spread = cell.spread(metric) else {
                    html += "<td class=\"num na\">–</td>"
                    continue
                }
                let peers = (points[cell.point] ?? []).compactMap { cells[$0].spread(metric)?.median }
                let best = metric.better == .higher ? peers.max() : peers.min()
                var text = Format.fixed(spread.median * scale, digits: digits)
                if spread.count > 1 { text += " (\(Format.fixed(spread.min * scale, digits: digits))–\(Format.fixed(spread.max * scale, digits: digits)))" }
                let isBest = peers.count > 1 && spread.median == best && Set(peers).count > 1
                let classes = spread.median == 0 && metric.better == .lower ? "num zero" : "num"
                html += "<td class=\"\(classes)\">\(isBest ? "<strong>\(e(text))</strong>" : e(text))</td>"
            }
            let invariants = cell.invariantsHeld.isEmpty ? "–" : cell.invariantsText
            let badge = cell.invariantsHeld.allSatisfy { $0 } ? "pass" : "fail"
            html += "<td><span class=\"badge \(cell.invariantsHeld.isEmpty ? "neutral" : badge)\">\(e(invariants))</span></td></tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n"
        html += "<p class=\"hint\">Medians over the runs of each cell\(info.repeats > 1 ? ", with the range (min–max) in brackets" : ""). Rates are per attempt; the best value at each sweep point is in bold. comparison.csv has every figure.</p>\n</section>\n"
        return html
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
        func series(_ metricName: String, scale: Double) -> [SVGChart.Series] {
            guard let metric = MetricCatalogue.metric(named: metricName, counters: info.counters) else { return [] }
            return groups.enumerated().map { index, group in
                let style = SVGChart.style(index)
                let points = group.1.compactMap { cell -> SVGChart.Point? in
                    guard let value = cell.point.first?.value, let x = sweep.values.firstIndex(of: value) else { return nil }
                    return SVGChart.Point(x: Double(x), y: (cell.spread(metric)?.median).map { $0 * scale } ?? .nan)
                }
                return SVGChart.Series(name: group.0, points: points, color: style.color, dash: style.dash)
            }
        }
        let xTitle = sweep.isClients ? "clients" : sweep.name
        var html = "<section id=\"curves\">\n<h2>Against \(e(xTitle))</h2>\n"
        func figure(_ id: String, _ title: String, _ yTitle: String, _ metric: String, scale: Double, caption: String) {
            var chart = SVGChart(id: id, title: title, xTitle: xTitle, yTitle: yTitle, xAxis: axis, series: series(metric, scale: scale))
            chart.markers = true
            html += "<figure class=\"chart\">\n\(chart.render())\n<figcaption>\(e(caption))</figcaption>\n</figure>\n"
        }
        for counter in info.counters {
            figure("chart-\(counter)-per-s", "\(counter) per second", "\(counter)/s", UnitColumn.rateName(counter), scale: 1, caption: "Units of work counted as \(counter) per second of the measurement window (median of each cell's runs), one line per variant.")
        }
        figure("chart-tps", "Throughput", "throughput (tx/s)", "tps", scale: 1, caption: "Committed transactions per second (median of each cell's runs), one line per variant.")
        figure("chart-p99", "p99 latency", "latency (ms)", "p99_ms", scale: 1, caption: "99th-percentile latency of committed transactions, first attempt to COMMIT, retries included. A gap: nothing committed.")
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
