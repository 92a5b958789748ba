import Foundation
import LockstormCore

/// JUnit XML for CI systems: one `<testsuite>` per run, one `<testcase>`
/// per check, regression gate and invariant; a failed one has a `<failure>`
/// whose message is what was measured.
///
/// The dialect is the common one (Jenkins, GitLab, GitHub test reporters):
/// `testsuites > testsuite > testcase > failure`, `classname` grouping the
/// cases by kind, times in seconds.
public enum JUnitReport {
    public static func render(_ reports: [GateReport]) -> String {
        let tests = reports.map(\.cases.count).reduce(0, +)
        let failures = reports.map(\.failures).reduce(0, +)
        let time = Format.fixed(reports.map(\.durationSeconds).reduce(0, +), digits: 3)
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"lockstorm\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" time=\"\(time)\">\n"
        for report in reports {
            let cases = report.cases
            let suite = "\(report.workload)/\(report.variant)"
            xml += "  <testsuite name=\"\(a(suite))\" tests=\"\(cases.count)\" failures=\"\(report.failures)\" errors=\"0\" skipped=\"0\" time=\"\(Format.fixed(report.durationSeconds, digits: 3))\">\n"
            xml += "    <properties>\n"
            var properties: [(String, String)] = [
                ("workload", report.workload), ("variant", report.variant), ("clients", String(report.summary.clients)),
                ("seed", String(report.summary.seed)), ("tps", Format.fixed(report.summary.rows.last?.tps ?? 0, digits: 2)),
                ("partial", String(report.partial)),
            ]
            if let directory = report.directory { properties.append(("results", directory)) }
            if let baseline = report.baselineSource { properties.append(("baseline", baseline)) }
            for (name, value) in properties { xml += "      <property name=\"\(a(name))\" value=\"\(a(value))\"/>\n" }
            xml += "    </properties>\n"
            for item in cases {
                let classname = "lockstorm.\(a(report.workload)).\(a(report.variant)).\(item.kind.rawValue)"
                xml += "    <testcase classname=\"\(a(classname))\" name=\"\(a(item.name))\" time=\"0\">"
                if item.passed {
                    xml += "\n      <system-out>\(t(item.measured))</system-out>\n    </testcase>\n"
                } else {
                    xml += "\n      <failure message=\"\(a(item.measured))\" type=\"\(item.kind.rawValue)\">\(t(item.kind.rawValue + " failed: " + item.name + "\n" + item.measured))</failure>\n    </testcase>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    /// Text for an attribute value.
    static func a(_ text: String) -> String {
        t(text).replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "\n", with: "&#10;").replacingOccurrences(of: "\t", with: "&#9;")
    }

    /// Text content: markup escaped, characters XML 1.0 forbids replaced by U+FFFD.
    static func t(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                let allowed = (0x20...0xD7FF).contains(value) || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}

/// A Markdown summary for a CI job page (`$GITHUB_STEP_SUMMARY`, a merge
/// request comment): per run, the verdict, the headline numbers, every
/// check, gate and invariant, and the baseline table.
public enum MarkdownSummary {
    public static func render(_ reports: [GateReport]) -> String {
        var md = ""
        for report in reports {
            let verdict = report.passed ? "✅ passed" : "❌ \(report.failures) failed"
            md += "### lockstorm: \(cell(report.workload)) / \(cell(report.variant)): \(verdict)\n\n"
            var facts = "\(report.summary.clients) clients, \(Format.fixed(report.durationSeconds, digits: 1)) s, seed \(report.summary.seed)"
            if report.partial { facts += ", **partial: stopped early**" }
            if let directory = report.directory { facts += ", results in `\(directory)`" }
            md += facts + "\n\n"

            md += "| transaction | committed | tps | p50 ms | p99 ms | deadlocks | lock n/a | serializ. | retries |\n"
            md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            for row in report.summary.rows {
                let stats = row.stats
                let name = row.transaction == "total" ? "**total**" : cell(row.transaction)
                let latency: (Double) -> String = { stats.committed > 0 ? Format.fixed(row.latencyMilliseconds($0), digits: 2) : "–" }
                md += "| \(name) | \(stats.committed) | \(Format.fixed(row.tps, digits: 1)) | \(latency(50)) | \(latency(99)) | \(stats.count(.deadlock)) | \(stats.count(.lockNotAvailable)) | \(stats.count(.serializationFailure)) | \(stats.retries) |\n"
            }
            md += "\n"

            let cases = report.cases
            if !cases.isEmpty {
                md += "| result | kind | what | measured |\n| --- | --- | --- | --- |\n"
                for item in cases {
                    md += "| \(item.passed ? "✅ PASS" : "❌ FAIL") | \(item.kind.rawValue) | `\(code(item.name))` | \(cell(item.measured)) |\n"
                }
                md += "\n"
            }
            if let note = report.baselineNote, report.baseline.isEmpty { md += "Baseline: \(cell(note)).\n\n" }
            if !report.mismatchWarning.isEmpty { md += "⚠️ \(cell(report.mismatchWarning))\n\n" }
            if !report.baseline.isEmpty {
                let runs = report.baselineRuns.count
                let of = runs > 1 ? " (\(runs) runs: median and range)" : ""
                md += "<details\(report.baseline.contains { $0.verdict == .fail } ? " open" : "")><summary>Against the baseline \(report.baselineSource.map { "`\(code($0))`" } ?? "")\(of)</summary>\n\n"
                md += runs > 1
                    ? "| metric | baseline | range | now | change | verdict |\n| --- | ---: | ---: | ---: | ---: | --- |\n"
                    : "| metric | baseline | now | change | verdict |\n| --- | ---: | ---: | ---: | --- |\n"
                for delta in report.baseline {
                    let metric = delta.reference.metric
                    let range = runs > 1 ? " \(metric.format(delta.baselineLow)) – \(metric.format(delta.baselineHigh)) |" : ""
                    md += "| `\(code(delta.reference.description))` | \(metric.format(delta.baseline)) |\(range) \(metric.format(delta.current)) | \(delta.relativeText) | \(delta.verdict.rawValue) |\n"
                }
                md += "\n</details>\n\n"
            }
        }
        return md
    }

    /// Text safe in a table cell.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// Text safe in inline code inside a table cell.
    static func code(_ text: String) -> String {
        text.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// The baseline side of `--baseline`: a result directory read back as metrics.
public enum BaselineFiles {
    /// The metrics of a result directory read back (its `summary.csv`), typed as the run's own (`MetricSample(summary)`).
    public static func sample(_ files: ResultFiles) -> MetricSample {
        func row(_ line: SummaryLine) -> MetricRow { MetricRow(line.values, units: line.unitValues) }
        let total = files.summary.last(where: \.isTotal).map(row) ?? MetricRow(columns: [:])
        let transactions = files.summary.filter { !$0.isTotal }.map { (name: $0.transaction, row: row($0)) }
        return MetricSample(total: total, transactions: transactions)
    }

    /// The result directories `path` names for `workload`/`variant`, newest
    /// first: the directory itself when it holds `summary.csv`, else every
    /// `<workload>-<variant>-*` directory inside it (a `results/` folder, or
    /// a folder of repeats). Throws when there is none.
    public static func candidates(_ path: String, workload: String, variant: String) throws -> [URL] {
        let url = URL(fileURLWithPath: path)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: url.appendingPathComponent(ResultFiles.summaryFile).path) { return [url] }
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ResultFilesError(file: path, message: "no such directory; give a result directory of an earlier run (results/<workload>-<variant>-<timestamp>/) or a folder of them")
        }
        let prefix = "\(ResultWriter.safe(workload))-\(ResultWriter.safe(variant))-"
        // Names end in a UTC timestamp (then -2, -3 for the same second): sorting by name is by time.
        let candidates = ((try? fileManager.contentsOfDirectory(atPath: url.path)) ?? [])
            .filter { $0.hasPrefix(prefix) && fileManager.fileExists(atPath: url.appendingPathComponent($0).appendingPathComponent(ResultFiles.summaryFile).path) }
            .sorted { ResultNameOrder.precedes($1, $0) }
        guard !candidates.isEmpty else {
            throw ResultFilesError(file: path, message: "no summary.csv here and no \(prefix)* result directory inside; give the result directory of an earlier run of \(workload)/\(variant)")
        }
        return candidates.map { url.appendingPathComponent($0) }
    }

    /// The newest result directory `path` names for `workload`/`variant` (see ``candidates(_:workload:variant:)``).
    public static func resolve(_ path: String, workload: String, variant: String) throws -> URL {
        try candidates(path, workload: workload, variant: variant)[0]
    }
}

/// Orders result folder names by time: `…-20261123T184512Z` before
/// `…-20261123T184512Z-2` before `…-20261123T184513Z`.
enum ResultNameOrder {
    static func precedes(_ a: String, _ b: String) -> Bool {
        let (baseA, attemptA) = split(a)
        let (baseB, attemptB) = split(b)
        return baseA != baseB ? baseA < baseB : attemptA < attemptB
    }

    /// The name without a `-N` attempt suffix, and N (1 without one).
    static func split(_ name: String) -> (String, Int) {
        guard let dash = name.lastIndex(of: "-"), let attempt = Int(name[name.index(after: dash)...]), name[..<dash].hasSuffix("Z") else { return (name, 1) }
        return (String(name[..<dash]), attempt)
    }
}
