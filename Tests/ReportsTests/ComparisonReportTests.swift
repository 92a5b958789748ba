import Foundation
import LockstormCore
import Testing
@testable import Reports

/// compare's page and table: the rule's winners are what is bold, latency is
/// on a log axis, every variant's line can be told apart even where lines
/// coincide, and repeats draw range bars.
@Suite("ComparisonReport: winners, log latency, distinguishable lines, ranges")
struct ComparisonReportTests {
    static func run(tps: Double, p99: Double, failed: Double = 0) -> MetricSample {
        MetricSample(total: MetricRow(columns: [
            "tps": tps, "lat_p50_ms": p99 / 4, "lat_p99_ms": p99, "attempts": 1_000, "committed": 1_000 - failed, "failed": failed,
            "lock_not_available": failed, "retries": 0,
        ]), transactions: [])
    }

    static let clients = ["1", "4", "16", "64"]

    /// skip-locked scales; nowait and `copy` (an exact copy of nowait) fail more and more; blocking's p99 reaches 5.2 s.
    static func cells(repeats: Int) -> [ComparisonCell] {
        var cells: [ComparisonCell] = []
        for (index, clients) in Self.clients.enumerated() {
            let point = [SweepValue(name: "clients", value: clients)]
            let scale = Double(index + 1)
            func runs(_ make: (Double) -> MetricSample) -> [MetricSample] { (0..<repeats).map { make(1 + 0.04 * Double($0)) } }
            cells.append(ComparisonCell(variant: "skip-locked", point: point, runs: runs { run(tps: 300 * scale * $0, p99: 2 * $0) }, invariantsHeld: Array(repeating: true, count: repeats)))
            let failed = [10.0, 400, 800, 990][index]
            cells.append(ComparisonCell(variant: "nowait", point: point, runs: runs { run(tps: 300 / scale * $0, p99: 1.5 * $0, failed: failed) }, invariantsHeld: Array(repeating: true, count: repeats)))
            cells.append(ComparisonCell(variant: "copy", point: point, runs: runs { run(tps: 300 / scale * $0, p99: 1.5 * $0, failed: failed) }, invariantsHeld: Array(repeating: true, count: repeats)))
            cells.append(ComparisonCell(variant: "blocking", point: point, runs: runs { run(tps: 290 * $0, p99: [3, 80, 900, 5_242][index] * $0) }, invariantsHeld: Array(repeating: true, count: repeats)))
        }
        return cells
    }

    static func info(repeats: Int) -> ComparisonInfo {
        ComparisonInfo(
            workload: "queue", variants: ["skip-locked", "nowait", "copy", "blocking"], sweeps: [Sweep(name: "clients", values: clients)], repeats: repeats,
            length: "1.0 s", server: "17.0", commandLine: "lockstorm compare queue", partial: false)
    }

    static func page(repeats: Int) throws -> HTMLNode {
        try HTMLTreeBuilder.parse(ComparisonReport.html(cells(repeats: repeats), info: info(repeats: repeats)))
    }

    static func series(_ document: HTMLNode, _ chart: String) throws -> [HTMLNode] {
        try #require(document.element(id: chart)).all("g").filter { $0.hasClass("series") }
    }

    /// y of every marker of a series, from its shape's attributes.
    static func markerCount(_ series: HTMLNode) -> Int {
        (series.all("circle") + series.all("rect") + series.all("path")).filter { $0.hasClass("marker") }.count
    }

    @Test("every chart has one series per variant, each with its own colour, dash, marker shape and a marker on every point, even where two coincide")
    func everySeriesDistinct() throws {
        let document = try Self.page(repeats: 1)
        for chart in ["chart-tps", "chart-p50", "chart-p99", "chart-failed"] {
            let series = try Self.series(document, chart)
            #expect(series.map { $0.attributes["data-series"] } == ["skip-locked", "nowait", "copy", "blocking"], "\(chart)")
            let styles = series.map { [$0.attributes["stroke"] ?? "", $0.all("polyline").first?.attributes["stroke-dasharray"] ?? "solid", $0.attributes["data-marker"] ?? ""] }
            for part in 0..<3 { #expect(Set(styles.map { $0[part] }).count == 4, "\(chart): \(styles)") }
            for item in series {
                #expect(item.all("polyline").count == 1, "\(chart) \(item.attributes["data-series"] ?? ""): one line")
                #expect(Self.markerCount(item) == 4, "\(chart) \(item.attributes["data-series"] ?? ""): a marker per client count")
            }
            // nowait and its copy coincide: the one drawn first is wider, so the second on top leaves it visible.
            let widths = series.map { Double($0.all("polyline").first?.attributes["stroke-width"] ?? "") ?? 0 }
            #expect(widths[1] > widths[2], "\(chart): \(widths)")
            #expect(series[1].all("polyline").first?.attributes["points"] == series[2].all("polyline").first?.attributes["points"])
        }
    }

    @Test("latency is on a log axis with 1 ms … 10 s ticks; 5,242 ms does not flatten 2 ms")
    func latencyLogAxis() throws {
        let document = try Self.page(repeats: 1)
        let chart = try #require(document.element(id: "chart-p99"))
        let ticks = try #require(chart.all("g").first { $0.hasClass("y-ticks") }).all("text").map(\.text)
        #expect(ticks == ["1 ms", "10 ms", "100 ms", "1 s", "10 s"])
        let series = try Self.series(document, "chart-p99")
        func ys(_ node: HTMLNode) -> [Double] {
            (node.all("polyline").first?.attributes["points"] ?? "").split(separator: " ").compactMap { Double($0.split(separator: ",").last ?? "") }
        }
        let skip = ys(series[0]), blocking = ys(series[3])
        // On a linear axis to 6 s, 2 ms and 80 ms would be within 2 px of each other; on the log axis they are far apart.
        #expect(abs(skip[1] - blocking[1]) > 40, "skip \(skip), blocking \(blocking)")
        #expect(blocking == blocking.sorted(by: >), "blocking's p99 rises (y falls) with clients: \(blocking)")
    }

    @Test("with --repeat each cell has a range bar (min–max); single runs have none")
    func rangeBars() throws {
        let repeated = try Self.series(Self.page(repeats: 3), "chart-p99")
        for item in repeated {
            let bars = item.all("g").filter { $0.hasClass("ranges") }.flatMap { $0.all("path") }
            #expect(bars.count == 4, "\(item.attributes["data-series"] ?? ""): one bar per point")
        }
        let single = try Self.series(Self.page(repeats: 1), "chart-p99")
        #expect(single.allSatisfy { $0.all("g").filter { $0.hasClass("ranges") }.isEmpty })
    }

    @Test("bold is the rule's winner: never a latency of a variant that failed most attempts")
    func boldFollowsTheRule() throws {
        let cells = Self.cells(repeats: 1)
        let document = try HTMLTreeBuilder.parse(ComparisonReport.html(cells, info: Self.info(repeats: 1)))
        let failedRate = try #require(MetricCatalogue.metric(named: "failed_rate"))
        let table = try #require(document.element(id: "comparison-table"))
        let header = table.all("th").filter { $0.attributes["scope"] == "col" }.map(\.text)
        let p99Column = try #require(header.firstIndex(of: "p99 ms"))
        let tpsColumn = try #require(header.firstIndex(of: "tps"))
        let rows = table.all("tbody").first?.all("tr") ?? []
        #expect(rows.count == 16)
        for (index, row) in rows.enumerated() {
            let cell = cells[index]
            // Cells in column order: the sweep value (td), the variant (th), then the metrics (td).
            let columns = row.children
            let p99Bold = !columns[p99Column].all("strong").isEmpty
            let tpsBold = !columns[tpsColumn].all("strong").isEmpty
            if cell.variant == "nowait" || cell.variant == "copy" {
                let failed = try #require(cell.spread(failedRate)?.median)
                if failed > 0.5 { #expect(!p99Bold, "\(cell.variant) at \(cell.point): failed \(failed), its p99 is bold") }
            }
            // skip-locked's throughput leads clearly from 4 clients on; at 1 client 300 vs 290 is noise.
            if cell.variant == "skip-locked" { #expect(tpsBold == (cell.point[0].value != "1"), "skip-locked tps at \(cell.point)") }
        }
        let excluded = try #require(document.element(id: "excluded")).all("li").map(\.text)
        #expect(excluded.contains { $0.hasPrefix("nowait, clients=64: failed 99.0 %") }, "\(excluded)")
    }

    @Test("the terminal table fits 100 columns by default and marks winners; --ranges adds min–max")
    func narrowTable() throws {
        let cells = Self.cells(repeats: 3)
        let table = ComparisonReport.table(cells, info: Self.info(repeats: 3))
        let rows = table.split(separator: "\n").filter { $0.contains("skip-locked") || $0.hasPrefix("clients") }
        #expect(!rows.isEmpty)
        for row in rows { #expect(row.count <= 100, "\(row.count) columns: \(row)") }
        #expect(table.contains("--ranges shows"))
        let wide = ComparisonReport.table(cells, info: Self.info(repeats: 3), ranges: true)
        #expect(wide.contains("–"), "ranges: \(wide)")
        let skipAt64 = try #require(table.split(separator: "\n").first { $0.hasPrefix("64") && $0.contains("skip-locked") })
        #expect(skipAt64.contains("*"), "\(skipAt64)")
    }

    @Test("latency ticks read as milliseconds and seconds")
    func tickLabels() {
        #expect(ComparisonReport.latencyTick(0.5) == "0.5 ms")
        #expect(ComparisonReport.latencyTick(100) == "100 ms")
        #expect(ComparisonReport.latencyTick(1_000) == "1 s")
        #expect(ComparisonReport.latencyTick(20_000) == "20 s")
    }
}

@Suite("NiceScale.logarithmic: log-axis ticks")
struct LogScaleTests {
    @Test("a span of more than two decades is ticked at powers of ten only")
    func decades() {
        let scale = NiceScale.logarithmic(lower: 1.5, upper: 5_242)
        #expect(scale.lower == 1 && scale.upper == 10_000)
        #expect(scale.ticks == [1, 10, 100, 1_000, 10_000])
    }

    @Test("a span of one or two decades adds 2 and 5 between; one value still gets a whole decade")
    func narrowSpans() {
        #expect(NiceScale.logarithmic(lower: 12, upper: 800).ticks == [10, 20, 50, 100, 200, 500, 1_000])
        #expect(NiceScale.logarithmic(lower: 3, upper: 3).ticks == [1, 2, 5, 10])
        // An exact power of ten is its own bound, not the next decade's.
        #expect(NiceScale.logarithmic(lower: 10, upper: 1_000).ticks.first == 10)
        #expect(NiceScale.logarithmic(lower: 10, upper: 1_000).upper == 1_000)
    }

    @Test("values that are not positive cannot be drawn on a log axis and fall back to 1…10")
    func nonPositive() {
        #expect(NiceScale.logarithmic(lower: 0, upper: 0).ticks == [1, 2, 5, 10])
    }
}
