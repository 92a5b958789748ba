import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LockstormCore
import Testing
@testable import Reports

/// An element of a parsed document, enough to query the report's structure.
final class HTMLNode {
    let name: String
    let attributes: [String: String]
    var children: [HTMLNode] = []
    /// Text directly inside this element and its descendants, in order.
    var text = ""
    weak var parent: HTMLNode?

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// Every descendant (and self) named `name`, in document order.
    func all(_ name: String) -> [HTMLNode] {
        var found: [HTMLNode] = self.name == name ? [self] : []
        for child in children { found += child.all(name) }
        return found
    }

    func element(id: String) -> HTMLNode? {
        if attributes["id"] == id { return self }
        for child in children { if let match = child.element(id: id) { return match } }
        return nil
    }

    func hasClass(_ name: String) -> Bool { (attributes["class"] ?? "").split(separator: " ").contains { $0 == name } }
}

/// Parses with Foundation's XMLParser: a report that is not well-formed XML fails here.
final class HTMLTreeBuilder: NSObject, XMLParserDelegate {
    var root: HTMLNode?
    var stack: [HTMLNode] = []
    var error: (any Error)?
    var line = 0

    static func parse(_ text: String) throws -> HTMLNode {
        let builder = HTMLTreeBuilder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        let ok = parser.parse()
        if let error = builder.error ?? parser.parserError { throw XMLFailure(message: "\(error) at line \(parser.lineNumber)") }
        guard ok, let root = builder.root else { throw XMLFailure(message: "XMLParser failed at line \(parser.lineNumber)") }
        return root
    }

    struct XMLFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        let node = HTMLNode(name: elementName, attributes: attributes)
        node.parent = stack.last
        stack.last?.children.append(node)
        if root == nil { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        for node in stack { node.text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        error = parseError
    }
}

@Suite struct HTMLReportTests {
    static let chartTitles = ["Throughput", "Latency p50 and p99 over time", "Errors per second by class", "Latency distribution by percentile"]

    static func fixture(
        summary: String = ResultFixtures.summary, timeseries: String? = ResultFixtures.timeseries, latency: String? = ResultFixtures.latency,
        errors: String? = ResultFixtures.errors, run: String? = ResultFixtures.run
    ) throws -> String {
        HTMLReport.render(try ResultFiles.parse(summary: summary, timeseries: timeseries, latency: latency, errors: errors, run: run))
    }

    /// The `<title>` child of each `<svg>`.
    static func chartTitles(_ document: HTMLNode) -> [String] {
        document.all("svg").map { svg in svg.children.first { $0.name == "title" }?.text ?? "" }
    }

    // MARK: The document

    @Test func theReportIsWellFormedXMLAndHTML() throws {
        let html = try Self.fixture()
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        let document = try HTMLTreeBuilder.parse(html)
        #expect(document.name == "html")
        #expect(document.children.map(\.name) == ["head", "body"])
        #expect(document.all("meta").first?.attributes["charset"] == "utf-8")
        #expect(document.all("title").first?.text == "lockstorm: transfers / unordered")
        #expect(document.all("h1").first?.text == "transfers / unordered")
    }

    @Test func thereAreExactlyFourChartsWithTheirTitles() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let svgs = document.all("svg")
        #expect(svgs.count == 4)
        #expect(Self.chartTitles(document) == Self.chartTitles)
        for svg in svgs {
            #expect(svg.attributes["viewBox"]?.hasPrefix("0 0 720 ") == true)
            #expect(svg.all("text").count > 5, "ticks and axis titles are drawn")
        }
    }

    @Test func nothingIsFetchedOrRun() throws {
        let html = try Self.fixture()
        for forbidden in ["http://", "https://", "<script", "<link", "src=", "href=", "url(", "@import", "<img", "<iframe"] {
            #expect(!html.lowercased().contains(forbidden), "report contains \(forbidden)")
        }
    }

    @Test func theSummaryTableHasOneRowPerSummaryLineWithItsValues() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let table = try #require(document.element(id: "summary"))
        let headerRow = try #require(table.all("tr").first { $0.hasClass("columns") })
        let headers = headerRow.children.map(\.text)
        #expect(headers.first == "transaction")
        #expect(table.all("th").contains { $0.text == "latency (ms)" })
        #expect(table.all("th").contains { $0.text == "throughput" })
        #expect(headers.contains("tx/s"))
        // Only the failure classes that occurred get a column; the others are named below the table.
        #expect(headers.contains("deadlock") && headers.contains("lock n/a"))
        #expect(!headers.contains("serializ.") && !headers.contains("timeout") && !headers.contains("other"))
        let quiet = try #require(document.element(id: "quiet-classes")).text
        #expect(quiet == "No failures of class: serialization failure, statement timeout / canceled, connection, other.")

        let rows = try #require(table.all("tbody").first).children
        #expect(rows.count == 3)
        #expect(rows.map { $0.children.first?.text } == ["transfer", "audit_read", "total"])
        #expect(rows.map { $0.hasClass("total") } == [false, false, true])
        func cell(_ row: Int, _ header: String) throws -> String {
            let index = try #require(headers.firstIndex(of: header), "no column \(header)")
            return rows[row].children[index].text
        }
        let g = "\u{202F}"
        #expect(try cell(0, "attempts") == "9\(g)077")
        #expect(try cell(0, "committed") == "9\(g)020")
        #expect(try cell(0, "deadlock") == "57")
        #expect(try cell(0, "lock n/a") == "0")
        #expect(try cell(1, "lock n/a") == "12")
        #expect(try cell(2, "committed") == "11\(g)564")
        #expect(try cell(2, "failed") == "69")
        #expect(try cell(2, "tx/s") == "1\(g)217.3")
        #expect(try cell(0, "tx/s") == "949.5")
        #expect(try cell(2, "p50") == "5.20")
        #expect(try cell(2, "p99") == "76.00")
        #expect(try cell(2, "max") == "502.3")
        #expect(try cell(1, "p99.9") == "121.0")
        for row in rows {
            for cell in row.children.dropFirst() { #expect(cell.hasClass("num"), "numbers are right-aligned") }
        }
    }

    @Test func missingSummaryColumnsShowADash() throws {
        let text = "transaction,attempts,committed,failed,tps\ntotal,10,8,2,4\n"
        let document = try HTMLTreeBuilder.parse(HTMLReport.render(try ResultFiles.parse(summary: text)))
        let row = try #require(document.element(id: "summary")?.all("tbody").first?.children.first)
        // retries and the seven latencies; failure classes absent from the file count as none and are left out.
        #expect(row.children.filter { $0.hasClass("na") }.count == 8)
        #expect(document.element(id: "quiet-classes")?.text == "No attempt failed.")
        #expect(row.children.allSatisfy { $0.text != "" })
    }

    @Test func theHeaderShowsTheRun() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let facts = Dictionary(uniqueKeysWithValues: document.all("dl").first?.children.map { ($0.children[0].text, $0.children[1].text) } ?? [])
        #expect(facts["clients"] == "16")
        #expect(facts["threads"] == "2")
        #expect(facts["measured duration"] == "9.5 s")
        #expect(facts["seed"] == "42")
        #expect(facts["server"] == "PostgreSQL 17.2")
        #expect(facts["started (UTC)"] == "2026-11-23 18:45:12")
        #expect(facts["ended (UTC)"] == "2026-11-23 18:45:22")
        #expect(facts["peak memory (RSS)"] == "48.3 MiB")
        let command = try #require(document.all("pre").first)
        #expect(command.text.hasPrefix("$ lockstorm run transfers --variant unordered"))
        #expect(document.element(id: "partial") == nil)
    }

    @Test func invariantsAndTheDeadlockCrossCheckAreShown() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let checks = try #require(document.element(id: "checks"))
        let items = checks.all("li")
        #expect(items.map { $0.children.first?.text } == ["PASS", "PASS"])
        #expect(items[0].text == "PASS total balance is conserved: expected 1000000, got 1000000")
        let deadlocks = try #require(document.element(id: "deadlock-check"))
        #expect(deadlocks.text.contains("AGREE"))
        #expect(deadlocks.text.contains("saw 57"))
        #expect(deadlocks.text.contains("rose by 57"))
    }

    @Test func failedInvariantsAndDisagreementAreFlagged() throws {
        let run = #"""
            {"invariants": [{"name": "sum", "expected": "100", "actual": "99", "passed": false},
                            {"name": "broken", "expected": "1", "passed": false, "error": "relation \"t\" does not exist"}],
             "deadlocks": {"client": 5, "server_delta": 7, "agree": false}}
            """#
        let document = try HTMLTreeBuilder.parse(try Self.fixture(run: run))
        let items = try #require(document.element(id: "checks")).all("li")
        #expect(items.map { $0.children.first?.text } == ["FAIL", "FAIL"])
        #expect(items[0].text.contains("expected 100, got 99"))
        #expect(items[1].text.contains("relation \"t\" does not exist"))
        let deadlocks = try #require(document.element(id: "deadlock-check"))
        #expect(deadlocks.text.contains("DISAGREE"))
        #expect(deadlocks.text.contains("rose by 7"))
    }

    @Test func theErrorsTableListsEachSQLSTATE() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let rows = try #require(document.element(id: "errors-table")?.all("tbody").first).children
        #expect(rows.map { $0.children[0].text } == ["40P01", "55P03"])
        #expect(rows.map { $0.children[1].text } == ["deadlock", "lock not available"])
        #expect(rows.map { $0.children[2].text } == ["57", "12"])
        #expect(rows[1].children[3].text == "could not obtain lock on row in relation \"accounts\"")
        #expect(rows[0].children[3].text.contains("blocked by process 48220.\nProcess 48220"))
    }

    // MARK: Escaping

    @Test func userTextIsEscapedAndReadsBackUnchanged() throws {
        let hostile = "<img src=x onerror=\"alert(1)\">&amp; 'q'"
        let summary = CSV.document(
            header: SummaryRow.columns,
            rows: [["a&b <c>", "v\"1\"", hostile, "1", "1.000", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1.00", "1", "1", "1", "1", "1", "1", "1", "0"]])
        let errors = CSV.document(
            header: ErrorTable.columns, rows: [["XX000", "other_errors", "3", "<script>alert('x')</script> & more", "bell\u{07} null\u{0}"]])
        let run = #"{"command_line": "lockstorm run 'a&b' -D x=\"<y>\" --note https://example.com/x", "workload": {"name": "a&b <c>"}}"#
        let html = try Self.fixture(summary: summary, timeseries: nil, latency: nil, errors: errors, run: run)

        #expect(!html.contains("<img"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("https://"))
        #expect(html.contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp; &#39;q&#39;"))
        let document = try HTMLTreeBuilder.parse(html)
        #expect(document.all("h1").first?.text == "a&b <c> / v\"1\"")
        #expect(document.element(id: "summary")?.all("tbody").first?.children.first?.children.first?.text == hostile)
        #expect(document.all("pre").first?.text == "$ lockstorm run 'a&b' -D x=\"<y>\" --note https://example.com/x")
        let message = try #require(document.element(id: "errors-table")?.all("td").last)
        #expect(message.text.hasPrefix("<script>alert('x')</script> & more"))
        #expect(message.text.hasSuffix("bell\u{FFFD} null\u{FFFD}"), "characters XML forbids are replaced")
    }

    @Test func escapeReturnsPlainTextAsIsAndAgreesWithTheFullPath() {
        var samples = (0..<128).map { "a" + String(UnicodeScalar(UInt8($0))) + "b" }
        samples += ["", "12.345", "transfer", "p99 (ms)", "caf\u{E9}", "\u{202F}1\u{202F}000", "\u{FEFF}bom", "x\u{FFFE}y", "\u{FFFF}", "\u{FFFD}", "\u{1F600}", "http://a", "https:", "\u{7F}", "\u{85}"]
        for text in samples {
            #expect(HTMLText.escape(text) == HTMLText.escapeScalars(text), "\(text.unicodeScalars.map(\.value))")
        }
        #expect(HTMLText.escape("transfer 12.5") == "transfer 12.5")
    }

    @Test func escapeCoversEveryMarkupCharacter() {
        #expect(HTMLText.escape("a<b>c&d\"e'f") == "a&lt;b&gt;c&amp;d&quot;e&#39;f")
        #expect(HTMLText.escape("see HTTPS://x and http:/y, not postgres://z") == "see HTTPS&#58;//x and http&#58;/y, not postgres://z")
        #expect(HTMLText.escape("tab\there\nline") == "tab\there\nline")
        #expect(HTMLText.escape("\u{1B}[31m") == "\u{FFFD}[31m")
    }

    // MARK: Partial runs and missing files

    @Test func aPartialRunHasABanner() throws {
        let run = ResultFixtures.run.replacingOccurrences(of: "\"partial\" : false", with: "\"partial\" : true")
        #expect(run != ResultFixtures.run)
        let document = try HTMLTreeBuilder.parse(try Self.fixture(run: run))
        let banner = try #require(document.element(id: "partial"))
        #expect(banner.text.hasPrefix("PARTIAL"))
        #expect(document.all("header").first?.all("p").contains { $0 === banner } == true, "the banner is in the header")
    }

    @Test func withoutTimeseriesANoteReplacesTheTimeCharts() throws {
        let html = try Self.fixture(timeseries: nil)
        let document = try HTMLTreeBuilder.parse(html)
        #expect(document.element(id: "no-timeseries")?.text.contains("No timeseries.csv") == true)
        #expect(Self.chartTitles(document) == ["Latency distribution by percentile"])
        #expect(document.element(id: "summary") != nil)
    }

    @Test func onlyASummaryStillRenders() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture(timeseries: nil, latency: nil, errors: nil, run: nil))
        #expect(document.all("svg").isEmpty)
        #expect(document.element(id: "no-timeseries") != nil)
        #expect(document.element(id: "no-latency") != nil)
        #expect(document.all("h1").first?.text == "transfers / unordered", "names come from summary.csv")
        #expect(document.element(id: "summary")?.all("tbody").first?.children.count == 3)
    }

    // MARK: Charts

    /// The `<g class="series">` groups of the chart with `id`.
    static func series(_ document: HTMLNode, chart id: String) throws -> [HTMLNode] {
        try #require(document.element(id: id)).all("g").filter { $0.hasClass("series") }
    }

    @Test func errorChartHasOneLinePerClassThatOccurred() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let series = try Self.series(document, chart: "chart-errors")
        #expect(series.map { $0.children.first?.text } == ["deadlock", "lock not available"])
        let legend = try #require(document.element(id: "chart-errors")?.all("g").first { $0.hasClass("legend") })
        #expect(legend.all("text").map(\.text) == ["deadlock", "lock not available"])
        // 20 deadlocks in the 1 s interval ending at 5 s is the highest point: the y axis reaches 20/s.
        let yTicks = try #require(document.element(id: "chart-errors")?.all("g").first { $0.hasClass("y-ticks") }).all("text").map(\.text)
        #expect(yTicks.last == "20")
    }

    @Test func errorChartSaysNoErrorsWhenThereWereNone() throws {
        var lines = ResultFixtures.timeseries.split(separator: "\n").map(String.init)
        lines = [lines[0]] + lines.dropFirst().map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for index in 6...13 { fields[index] = "0" }
            return fields.joined(separator: ",")
        }
        let document = try HTMLTreeBuilder.parse(try Self.fixture(timeseries: lines.joined(separator: "\n") + "\n"))
        let chart = try #require(document.element(id: "chart-errors"))
        #expect(try Self.series(document, chart: "chart-errors").isEmpty)
        #expect(chart.all("text").contains { $0.text == "no errors" })
        #expect(document.all("svg").count == 4)
    }

    @Test func throughputAndLatencyChartsPlotEveryInterval() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let throughput = try Self.series(document, chart: "chart-throughput")
        #expect(throughput.count == 1)
        #expect(throughput[0].all("circle").count == 10)
        let points = try #require(throughput[0].all("polyline").first?.attributes["points"]).split(separator: " ")
        #expect(points.count == 10)
        let latency = try Self.series(document, chart: "chart-latency-time")
        #expect(latency.map { $0.children.first?.text } == ["p50", "p99"])
        // No legend for one series, a legend for two.
        #expect(try #require(document.element(id: "chart-throughput")).all("g").allSatisfy { !$0.hasClass("legend") })
        #expect(try #require(document.element(id: "chart-latency-time")).all("g").contains { $0.hasClass("legend") })
        let xTicks = try #require(document.element(id: "chart-throughput")?.all("g").first { $0.hasClass("x-ticks") }).all("text").map(\.text)
        #expect(xTicks.first == "0 s")
        #expect(xTicks.last == "8 s")
    }

    @Test func latencyDistributionUsesThePercentileLogScale() throws {
        let document = try HTMLTreeBuilder.parse(try Self.fixture())
        let series = try Self.series(document, chart: "chart-distribution")
        #expect(series.map { $0.children.first?.text } == ["transfer", "audit_read", "total"])
        let xTicks = try #require(document.element(id: "chart-distribution")?.all("g").first { $0.hasClass("x-ticks") }).all("text").map(\.text)
        #expect(xTicks == ["0%", "90%", "99%", "99.9%", "99.99%"])
        // Every point lies within the plot: p = 100 is clamped to the 99.99% position.
        let tickX = try #require(document.element(id: "chart-distribution")?.all("g").first { $0.hasClass("x-ticks") }).all("text").compactMap { $0.attributes["x"].flatMap(Double.init) }
        let maxX = try #require(tickX.last)
        let xs = series.flatMap { $0.all("polyline") }.flatMap { ($0.attributes["points"] ?? "").split(separator: " ") }.compactMap { Double($0.split(separator: ",")[0]) }
        #expect(xs.count == 3 * LatencySpectrum.percentiles.count)
        #expect(xs.allSatisfy { $0 >= tickX[0] && $0 <= maxX })
        #expect(xs.filter { $0 == maxX }.count == 6, "p99.99 and the maximum (p100) share the last position")
        let totalPoints = try #require(series[2].all("polyline").first?.attributes["points"]).split(separator: " ")
        #expect(totalPoints.count == LatencySpectrum.percentiles.count)
        #expect(series.allSatisfy { $0.all("circle").isEmpty }, "no dots: they would pile up left of 90%")
    }

    @Test func percentilePositions() {
        #expect(HTMLReport.percentilePosition(0) == 0)
        #expect(HTMLReport.percentilePosition(-1) == 0)
        #expect(abs(HTMLReport.percentilePosition(90) - 1) < 1e-9)
        #expect(abs(HTMLReport.percentilePosition(99) - 2) < 1e-9)
        #expect(abs(HTMLReport.percentilePosition(99.9) - 3) < 1e-9)
        #expect(abs(HTMLReport.percentilePosition(99.99) - 4) < 1e-9)
        #expect(HTMLReport.percentilePosition(99.999) == 4)
        #expect(HTMLReport.percentilePosition(100) == 4)
        #expect(HTMLReport.percentilePosition(.nan).isNaN)
    }

    @Test func niceScalesUseStepsOfOneTwoOrFive() {
        let throughput = NiceScale(lower: 0, upper: 1345, target: 5, extend: true)
        #expect(throughput.ticks == [0, 500, 1000, 1500])
        #expect(throughput.upper == 1500)
        #expect(throughput.decimals == 0)

        let small = NiceScale(lower: 0, upper: 0.37, target: 5, extend: true)
        #expect(small.step == 0.1)
        #expect(small.ticks.count == 5)
        #expect(small.decimals == 1)

        let zero = NiceScale(lower: 0, upper: 0, target: 5, extend: true)
        #expect(zero.lower == 0 && zero.upper == 1)
        #expect(zero.ticks.first == 0 && zero.ticks.last == 1)

        let time = NiceScale(lower: 0, upper: 9.5, target: 6, extend: false)
        #expect(time.upper == 9.5)
        #expect(time.ticks == [0, 2, 4, 6, 8])

        let broken = NiceScale(lower: .nan, upper: .infinity, target: 5, extend: true)
        #expect(broken.ticks.allSatisfy { $0.isFinite })
        #expect(!broken.ticks.isEmpty)

        for upper in [0.003, 0.7, 1, 3, 7.5, 19, 42, 99, 101, 999, 12_345, 8e9] {
            let scale = NiceScale(lower: 0, upper: upper, target: 5, extend: true)
            let mantissa = scale.step / pow(10, log10(scale.step).rounded(.down))
            #expect([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 }, "step \(scale.step) for \(upper)")
            #expect(scale.upper >= upper && scale.ticks.count >= 2 && scale.ticks.count <= 11)
        }
    }

    @Test func chartsSurviveEmptySinglePointZeroAndNonFiniteData() throws {
        func chart(_ points: [SVGChart.Point], _ more: [SVGChart.Point]? = nil) throws -> (String, HTMLNode) {
            var series = [SVGChart.Series(name: "a", points: points, color: "#0072B2")]
            if let more { series.append(SVGChart.Series(name: "b", points: more, color: "#D55E00")) }
            let svg = SVGChart(id: "c", title: "T", xTitle: "x", yTitle: "y", xAxis: .linear(unit: "s", fromZero: true), series: series).render()
            return (svg, try HTMLTreeBuilder.parse(svg))
        }
        func attributeValues(_ node: HTMLNode) -> [String] {
            node.attributes.values + node.children.flatMap(attributeValues)
        }
        let cases: [[SVGChart.Point]] = [
            [],
            [.init(x: 3, y: 7)],
            [.init(x: 0, y: 0), .init(x: 1, y: 0), .init(x: 2, y: 0)],
            [.init(x: 1, y: .nan), .init(x: 2, y: 5), .init(x: .infinity, y: 1), .init(x: 3, y: -.infinity), .init(x: 4, y: 6), .init(x: 5, y: 7)],
        ]
        for points in cases {
            let (svg, node) = try chart(points, [.init(x: 1, y: 1)])
            for value in attributeValues(node) {
                #expect(!value.lowercased().contains("nan") && !value.lowercased().contains("inf"), "\(value) in \(svg)")
            }
            #expect(node.all("text").count >= 4)
        }
        let (_, empty) = try chart([])
        #expect(empty.all("text").contains { $0.text == "no data" })
        #expect(empty.all("polyline").isEmpty)
        let (_, single) = try chart([.init(x: 3, y: 7)])
        #expect(single.all("circle").count == 1, "a single point is drawn as a dot")
        let (_, gappy) = try chart(cases[3])
        #expect(gappy.all("polyline").count == 1, "the run 4…5 is a line; 2 stands alone")
        #expect(gappy.all("circle").count == 3)
    }

    // MARK: Writing

    @Test func writeCreatesReportHTMLAtomically() throws {
        let directory = try ResultFixtures.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try HTMLReport.write(directory: directory)
        #expect(url == directory.appendingPathComponent("report.html"))
        let written = try String(contentsOf: url, encoding: .utf8)
        #expect(written == HTMLReport.render(try ResultFiles.load(directory: directory)))
        #expect(written.contains("in \(directory.lastPathComponent)"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["errors.csv", "latency.csv", "report.html", "run.json", "summary.csv", "timeseries.csv"], "no temporary file is left")
        // Rendering again replaces the file.
        try HTMLReport.write(directory: directory)
        #expect(try String(contentsOf: url, encoding: .utf8) == written)
    }

    @Test func writeReportsAMissingSummary() throws {
        let directory = try ResultFixtures.directory(summary: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: ResultFilesError.self) { try HTMLReport.write(directory: directory) }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("report.html").path))
    }
}
