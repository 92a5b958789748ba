import Engine
import Foundation
import LockstormCore
import Reports

/// The CI gate as the flags gave it: checks, a baseline with regression
/// limits, and where the JUnit and Markdown outputs go.
public struct GateSettings: Sendable {
    public var checks: [String] = []
    /// `--baseline DIR` or `--baseline-if-exists DIR`.
    public var baseline: String?
    /// `--baseline-if-exists`: no baseline there yet is a note, not an error.
    public var baselineOptional = false
    /// `--force-baseline`: compare with a baseline made with other settings (warned about).
    public var forceBaseline = false
    public var maxRegression: String?
    public var junit: String?
    public var markdown: String?

    /// The most baseline runs a folder of repeats contributes (the newest).
    public static let maximumBaselineRuns = 5

    public init() {}

    /// Parses the checks and limits and loads the baselines, so a mistake
    /// is reported (exit 2) before anything touches the database.
    func prepare(workload: Workload, runs: [(plan: RunPlan, options: LoadOptions)], sha256: String, output: any OutputSink) throws -> PreparedGate {
        let parser = CheckParser(transactions: workload.transactions.map(\.name), counters: workload.counterNames)
        var parsed: [Check] = []
        do {
            parsed = try workload.parsedChecks()
        } catch {
            throw Failure(.usage, "lockstorm: the workload's check '\(error.source)': \(error.message)\n\(error.pointer())")
        }
        for text in checks {
            do {
                parsed.append(try parser.parse(text))
            } catch {
                throw Failure(.usage, "lockstorm: --check '\(text)': \(error.message)\n\(error.pointer())")
            }
        }
        var limits: [RegressionLimit] = []
        if let maxRegression {
            do {
                limits = try RegressionLimit.parseList(maxRegression, transactions: workload.transactions.map(\.name), counters: workload.counterNames)
            } catch {
                throw Failure(.usage, "lockstorm: --max-regression: \(error.message)\n\(error.pointer())")
            }
        }
        var baselines: [String: LoadedBaseline] = [:]
        if let baseline {
            let flag = baselineOptional ? "--baseline-if-exists" : "--baseline"
            for (plan, options) in runs {
                let wanted = BaselineSettings(plan: plan, options: options, sha256: sha256)
                let candidates: [URL]
                do {
                    candidates = try BaselineFiles.candidates(baseline, workload: plan.workloadName, variant: plan.variantLabel)
                } catch let error as ResultFilesError {
                    guard baselineOptional else { throw Failure(.usage, "lockstorm: \(flag): \(error.description)") }
                    let note = "no baseline yet in \(DisplayPath.relative(baseline)) for \(plan.workloadName)/\(plan.variantLabel): nothing to compare with; this run's results can be the next baseline"
                    output.note(note)
                    baselines[plan.variantLabel] = LoadedBaseline(source: DisplayPath.relative(baseline), note: note)
                    continue
                }
                var matching: [(URL, ResultFiles)] = []
                var differing: [(URL, [String])] = []
                var incomplete: [URL] = []
                for directory in candidates {
                    // A run whose results were not all written (a full disk) is no baseline.
                    if ResultWriter.isIncomplete(directory) {
                        incomplete.append(directory)
                        continue
                    }
                    let files: ResultFiles
                    do {
                        files = try ResultFiles.load(directory: directory)
                    } catch let error as ResultFilesError {
                        throw Failure(.usage, "lockstorm: \(flag): \(error.description)")
                    }
                    let differences = wanted.differences(from: files)
                    if differences.isEmpty { matching.append((directory, files)) } else { differing.append((directory, differences)) }
                }
                if !incomplete.isEmpty {
                    let names = incomplete.map { DisplayPath.relative($0.path) }.joined(separator: ", ")
                    if matching.isEmpty && differing.isEmpty {
                        throw Failure(.usage, "lockstorm: \(flag): \(names) is marked \(ResultWriter.incompleteMarker): its results were not all written, so it cannot be a baseline (see the reason in that file)")
                    }
                    output.note("\(flag): left out \(names), marked \(ResultWriter.incompleteMarker) (its results were not all written)")
                }
                var chosen = matching
                var mismatches: [String] = []
                if chosen.isEmpty, let (newest, differences) = differing.first {
                    let list = differences.map { "  \($0)" }.joined(separator: "\n")
                    guard forceBaseline else {
                        throw Failure(.usage, "lockstorm: \(flag): the baseline \(DisplayPath.relative(newest.path)) was made with other settings than this run, so its numbers do not compare:\n\(list)\n"
                            + "  run with the baseline's settings, start a new baseline (another folder, or remove the old runs), or pass --force-baseline to compare anyway")
                    }
                    output.note("WARNING: --force-baseline: comparing with \(DisplayPath.relative(newest.path)), made with other settings; its deltas mean little:\n\(list)")
                    chosen = try differing.map { directory, _ in (directory, try ResultFiles.load(directory: directory)) }
                    mismatches = differences
                } else if !differing.isEmpty {
                    output.note("\(flag): left out \(differing.count) earlier run\(differing.count == 1 ? "" : "s") of \(plan.workloadName)/\(plan.variantLabel) in \(DisplayPath.relative(baseline)) made with other settings (\(differing[0].1.joined(separator: "; ")))")
                }
                chosen = Array(chosen.prefix(Self.maximumBaselineRuns))
                // One run: name it; several: the folder they are in.
                let source = chosen.count == 1 ? DisplayPath.relative(chosen[0].0.path) : DisplayPath.relative(baseline)
                baselines[plan.variantLabel] = LoadedBaseline(
                    source: source, runs: chosen.map { DisplayPath.relative($0.0.path) }, samples: chosen.map { BaselineFiles.sample($0.1) },
                    serverVersions: chosen.compactMap { $0.1.run?.server?.version }, mismatches: mismatches)
            }
        }
        return PreparedGate(checks: parsed, limits: limits, baselines: baselines, force: forceBaseline)
    }

    /// Writes the JUnit and Markdown files asked for; a write failure is reported, not fatal.
    func writeOutputs(_ reports: [GateReport], output: any OutputSink) {
        if let junit {
            do {
                try Data(JUnitReport.render(reports).utf8).write(to: URL(fileURLWithPath: junit))
            } catch {
                output.note("could not write --junit \(junit): \(error.localizedDescription)")
            }
        }
        if let markdown {
            let text = MarkdownSummary.render(reports)
            // Append, as CI step summaries expect: several steps may write to one file.
            if let handle = FileHandle(forWritingAtPath: markdown) {
                handle.seekToEndOfFile()
                handle.write(Data(text.utf8))
                try? handle.close()
            } else if FileManager.default.createFile(atPath: markdown, contents: Data(text.utf8)) == false {
                output.note("could not write --markdown \(markdown)")
            }
        }
    }
}

/// A baseline as loaded for one variant: the runs it is made of, or why there is none.
struct LoadedBaseline {
    /// As given (`--baseline DIR`), or the one result directory.
    var source: String
    /// The result directories used, newest first.
    var runs: [String] = []
    var samples: [MetricSample] = []
    /// Each run's `server.version` from run.json.
    var serverVersions: [String] = []
    /// Settings that differ, when forced.
    var mismatches: [String] = []
    /// `--baseline-if-exists` found none: what was said.
    var note: String?
}

/// The settings that make two runs comparable, as run.json records them.
struct BaselineSettings {
    var workload: String
    var sha256: String
    var variant: String
    var clients: Int
    var durationSeconds: Double?
    var transactionsPerClient: Int?
    var rate: Double?

    init(plan: RunPlan, options: LoadOptions, sha256: String) {
        workload = plan.workloadName
        self.sha256 = sha256
        variant = plan.variantLabel
        clients = options.clients
        durationSeconds = options.durationSeconds
        transactionsPerClient = options.transactionsPerClient
        rate = options.rate
    }

    /// Each setting in which `files` differs, in words: `clients: baseline 16, this run 4`.
    func differences(from files: ResultFiles) -> [String] {
        var differences: [String] = []
        func text(_ value: Double?) -> String { value.map { Format.number($0) } ?? "none" }
        let record = files.run
        let name = record?.workloadName ?? files.summary.first?.workload
        if let name, name != workload { differences.append("workload: baseline '\(name)', this run '\(workload)'") }
        if let hash = record?.workload?.sha256, hash != sha256 {
            differences.append("workload file (sha256): baseline \(hash.prefix(12))…, this run \(sha256.prefix(12))… (the file changed)")
        }
        if let baseline = record?.variant ?? files.summary.first?.variant, baseline != variant { differences.append("variant: baseline '\(baseline)', this run '\(variant)'") }
        if let baseline = record?.clients ?? files.summary.first?.count(.clients), baseline != clients { differences.append("clients (-c): baseline \(baseline), this run \(clients)") }
        if let record {
            if record.requestedDurationSeconds != durationSeconds || record.transactionsPerClient != transactionsPerClient {
                func length(_ seconds: Double?, _ count: Int?) -> String { seconds.map { "-T \(Format.number($0))" } ?? count.map { "-t \($0)" } ?? "none" }
                differences.append("duration (-T/-t): baseline \(length(record.requestedDurationSeconds, record.transactionsPerClient)), this run \(length(durationSeconds, transactionsPerClient))")
            }
            if record.schedule?.rate != rate { differences.append("rate (-R): baseline \(text(record.schedule?.rate)), this run \(text(rate))") }
        }
        return differences
    }

    /// The major version of a `server_version` text: 16 for `16.4 (Debian …)`, 9.6 for `9.6.24`.
    static func majorVersion(_ text: String) -> String? {
        let parts = text.prefix { $0.isNumber || $0 == "." }.split(separator: ".").map(String.init)
        guard let first = parts.first, let major = Int(first) else { return nil }
        return major >= 10 || parts.count < 2 ? String(major) : "\(major).\(parts[1])"
    }
}

/// The gate with everything parsed and loaded, ready to judge runs.
struct PreparedGate {
    var checks: [Check]
    var limits: [RegressionLimit]
    /// Per variant label: the baseline, or why there is none.
    var baselines: [String: LoadedBaseline]
    /// `--force-baseline`.
    var force = false

    /// Refuses (exit 2) a baseline made on another major version of the server
    /// than `serverVersion`, the one this run is about to use.
    func checkServerVersion(_ serverVersion: String, output: any OutputSink) throws -> PreparedGate {
        guard let current = BaselineSettings.majorVersion(serverVersion) else { return self }
        var checked = self
        for (variant, baseline) in baselines {
            guard let other = baseline.serverVersions.compactMap(BaselineSettings.majorVersion).first(where: { $0 != current }) else { continue }
            let difference = "server version: baseline PostgreSQL \(other), this run \(current)"
            guard force else {
                throw Failure(.usage, "lockstorm: the baseline \(baseline.runs.first ?? baseline.source) was made with other settings than this run, so its numbers do not compare:\n  \(difference)\n"
                    + "  run on the baseline's server version, start a new baseline, or pass --force-baseline to compare anyway")
            }
            output.note("WARNING: --force-baseline: comparing with a baseline made on another server:\n  \(difference)")
            checked.baselines[variant]?.mismatches.append(difference)
        }
        return checked
    }

    /// The gate's verdict on one run.
    func report(for summary: RunSummary, directory: String?) -> GateReport {
        let sample = MetricSample(summary)
        let results = checks.map { $0.evaluate(sample) }
        var report = GateReport(summary: summary, checks: results, directory: directory)
        if let baseline = baselines[summary.variant] {
            report.baselineSource = baseline.source
            report.baselineNote = baseline.note
            report.baselineRuns = baseline.runs
            report.baselineMismatches = baseline.mismatches
            if !baseline.samples.isEmpty {
                report.baseline = BaselineComparison.compare(baselines: baseline.samples, current: sample, limits: limits)
            }
        }
        return report
    }
}

enum BaselineTable {
    /// The comparison with the baseline, as printed after the summary.
    static func render(_ report: GateReport) -> String {
        guard !report.baseline.isEmpty else { return report.baselineNote.map { "baseline: \($0)\n" } ?? "" }
        let warning = report.mismatchWarning.isEmpty ? "" : "WARNING: \(report.mismatchWarning)\n"
        let rows = report.baseline.map { delta -> [String] in
            let metric = delta.reference.metric
            func number(_ value: Double?) -> String { value.map { Format.fixed($0, digits: metric.digits) } ?? "–" }
            var change = ""
            if let value = delta.delta { change = (value > 0 ? "+" : "") + Format.fixed(value, digits: metric.digits) }
            return [delta.reference.description, number(delta.baseline), number(delta.current), change, delta.relativeText, metric.unit, delta.verdict == .pass || delta.verdict == .fail ? "\(delta.verdict.rawValue.uppercased()) (\(delta.limitDescription ?? ""))" : delta.verdict.rawValue]
        }
        let runs = report.baselineRuns.count
        let title = runs > 1
            ? "against the baseline \(report.baselineSource ?? "") (\(runs) runs: the median, and the range a gate starts from):\n"
            : "against the baseline \(report.baselineSource ?? ""):\n"
        var header = ["metric", "baseline", "now", "delta", "change", "unit", "verdict"]
        var table = rows
        if runs > 1 {
            // The range goes after the median, so the delta still reads as "now − baseline".
            header.insert("range", at: 2)
            for (index, delta) in report.baseline.enumerated() {
                let digits = delta.reference.metric.digits
                let range = delta.baselineLow.flatMap { low in delta.baselineHigh.map { "\(Format.fixed(low, digits: digits))–\(Format.fixed($0, digits: digits))" } } ?? "–"
                table[index].insert(range, at: 2)
            }
        }
        return warning + title + TextTable.render(header: header, rows: table, indent: "  ", rightAlignFrom: 1, rightAlignTo: runs > 1 ? 5 : 4)
    }
}
