import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import LockstormCore
import Testing
@testable import Reports

/// Collects the JUnit structure as an XML parser sees it.
final class JUnitCollector: NSObject, XMLParserDelegate {
    var suites: [[String: String]] = []
    var cases: [[String: String]] = []
    var failures: [[String: String]] = []
    var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch name {
        case "testsuite": suites.append(attributes)
        case "testcase": cases.append(attributes)
        case "failure": failures.append(attributes)
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    static func parse(_ xml: String) -> JUnitCollector? {
        let collector = JUnitCollector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        return parser.parse() ? collector : nil
    }
}

@Suite struct GateOutputsTests {
    static func report() throws -> GateReport {
        var stats = TransactionStats()
        for _ in 0..<8 { stats.recordCommit(latencyNanoseconds: 4_000_000) }
        stats.recordFailure(.deadlock)
        var runStats = RunStats(transactionCount: 1)
        runStats.transactions[0] = stats
        let summary = RunSummary(
            workload: "transfers", variant: "un<ordered>", clients: 4, threads: 2, durationSeconds: 2, seed: 7, transactionNames: ["transfer"], stats: runStats,
            invariants: [InvariantResult(name: "money & \"balance\"", expected: .int(100), actual: "99")], partial: false)
        let parser = CheckParser(transactions: ["transfer"])
        let checks = try ["deadlocks == 0", "transfer.p99_ms < 50 && tps >= 1"].map { try parser.parse($0).evaluate(MetricSample(summary)) }
        let baseline = MetricSample(total: MetricRow(columns: ["tps": 8, "attempts": 9, "committed": 9, "deadlocks": 0, "lat_p99_ms": 4]), transactions: [])
        let deltas = BaselineComparison.compare(baseline: baseline, current: MetricSample(summary), limits: try RegressionLimit.parseList("tps=10%", transactions: []))
        return GateReport(summary: summary, checks: checks, baseline: deltas, baselineSource: "results/old", directory: "results/new")
    }

    @Test("JUnit XML parses, with one test case per check, gate and invariant and a failure for each that failed")
    func junitParses() throws {
        let report = try Self.report()
        let xml = JUnitReport.render([report])
        let parsed = try #require(JUnitCollector.parse(xml), "not well-formed XML:\n\(xml)")
        #expect(parsed.suites.count == 1)
        #expect(parsed.suites[0]["name"] == "transfers/un<ordered>")
        #expect(parsed.suites[0]["tests"] == "4")
        #expect(parsed.suites[0]["failures"] == "3")
        #expect(parsed.cases.map { $0["name"] ?? "" } == ["deadlocks == 0", "transfer.p99_ms < 50 && tps >= 1", "tps=10%", "money & \"balance\""])
        #expect(parsed.cases.map { $0["classname"] ?? "" }.map { $0.split(separator: ".").last.map(String.init) ?? "" } == ["check", "check", "regression", "invariant"])
        #expect(parsed.failures.map { $0["message"] ?? "" } == [
            "deadlocks = 1",
            "tps: baseline 8.00 tx/s, now 4.00 tx/s (-50.0%); allowed: at most 10% lower",
            "expected 100, got 99",
        ])
    }

    @Test("JUnit text escapes markup and drops characters XML forbids")
    func escaping() {
        #expect(JUnitReport.a("a<b & \"c\"\n") == "a&lt;b &amp; &quot;c&quot;&#10;")
        #expect(JUnitReport.t("x\u{1}y") == "x\u{FFFD}y")
    }

    @Test("the Markdown summary has the verdict, the numbers, each case and the baseline")
    func markdown() throws {
        let md = MarkdownSummary.render([try Self.report()])
        #expect(md.hasPrefix("### lockstorm: transfers / un<ordered>: ❌ 3 failed\n"))
        #expect(md.contains("| transfer | 8 | 4.0 | 4.00 | 4.00 | 1 | 0 | 0 | 0 |"))
        #expect(md.contains("| ❌ FAIL | check | `deadlocks == 0` | deadlocks = 1 |"))
        #expect(md.contains("| ✅ PASS | check | `transfer.p99_ms < 50 && tps >= 1` |"))
        #expect(md.contains("<details open><summary>Against the baseline `results/old`</summary>"))
        #expect(md.contains("| `tps` | 8.00 tx/s | 4.00 tx/s | -50.0% | fail |"))
    }

    @Test("a baseline read back from summary.csv gives the same metrics as the run")
    func baselineRoundTrip() throws {
        let report = try Self.report()
        let files = try ResultFiles.parse(summary: SummaryReport.csv(report.summary))
        let sample = BaselineFiles.sample(files)
        #expect(sample == MetricSample(report.summary))
    }
}

/// The Markdown summary of a baseline made of repeats, of a missing one, and of a forced one.
@Suite struct GateOutputsBaselineTests {
    @Test("several baseline runs add a range column; a missing baseline and a forced mismatch are said")
    func markdownBaselineForms() throws {
        var report = try GateOutputsTests.report()
        let runs = [8.0, 10, 12].map { MetricSample(total: MetricRow(columns: ["tps": $0, "attempts": 9, "committed": 9, "deadlocks": 0, "lat_p99_ms": 4]), transactions: []) }
        report.baseline = BaselineComparison.compare(baselines: runs, current: MetricSample(report.summary), limits: try RegressionLimit.parseList("tps=10%", transactions: []))
        report.baselineRuns = ["results/a", "results/b", "results/c"]
        let repeats = MarkdownSummary.render([report])
        #expect(repeats.contains("(3 runs: median and range)</summary>"))
        #expect(repeats.contains("| metric | baseline | range | now | change | verdict |"))
        #expect(repeats.contains("| `tps` | 10.00 tx/s | 8.00 tx/s – 12.00 tx/s |"))

        var missing = try GateOutputsTests.report()
        missing.baseline = []
        missing.baselineNote = "no baseline yet in results"
        #expect(MarkdownSummary.render([missing]).contains("Baseline: no baseline yet in results.\n"))

        var forced = try GateOutputsTests.report()
        forced.baselineMismatches = ["clients (-c): baseline 16, this run 4"]
        #expect(MarkdownSummary.render([forced]).contains("⚠️ compared with a baseline made with other settings (--force-baseline): clients (-c): baseline 16, this run 4"))
    }
}
