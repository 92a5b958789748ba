import Foundation
import LockstormCore
import Reports

/// The CI gate as the flags gave it: checks, a baseline with regression
/// limits, and where the JUnit and Markdown outputs go.
public struct GateSettings: Sendable {
    public var checks: [String] = []
    public var baseline: String?
    public var maxRegression: String?
    public var junit: String?
    public var markdown: String?

    public init() {}

    /// Parses the checks and limits and loads the baselines, so a mistake
    /// is reported (exit 2) before anything touches the database.
    func prepare(workload: Workload, plans: [RunPlan], output: any OutputSink) throws -> PreparedGate {
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
        var baselines: [String: (MetricSample, String)] = [:]
        if let baseline {
            for plan in plans {
                do {
                    let directory = try BaselineFiles.resolve(baseline, workload: plan.workloadName, variant: plan.variantLabel)
                    let files = try ResultFiles.load(directory: directory)
                    if let name = files.run?.workloadName ?? files.summary.first?.workload, name != plan.workloadName {
                        output.note("the baseline \(directory.path) is a run of '\(name)', not '\(plan.workloadName)'; comparing anyway")
                    } else if let variant = files.run?.variant ?? files.summary.first?.variant, variant != plan.variantLabel {
                        output.note("the baseline \(directory.path) ran variant '\(variant)', this run '\(plan.variantLabel)'; comparing anyway")
                    }
                    baselines[plan.variantLabel] = (BaselineFiles.sample(files), DisplayPath.relative(directory.path))
                } catch let error as ResultFilesError {
                    throw Failure(.usage, "lockstorm: --baseline: \(error.description)")
                }
            }
        }
        return PreparedGate(checks: parsed, limits: limits, baselines: baselines)
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

/// The gate with everything parsed and loaded, ready to judge runs.
struct PreparedGate {
    var checks: [Check]
    var limits: [RegressionLimit]
    /// Per variant label: the baseline's metrics and where they came from.
    var baselines: [String: (sample: MetricSample, source: String)]

    /// The gate's verdict on one run.
    func report(for summary: RunSummary, directory: String?) -> GateReport {
        let sample = MetricSample(summary)
        let results = checks.map { $0.evaluate(sample) }
        var deltas: [BaselineDelta] = []
        var source: String?
        if let baseline = baselines[summary.variant] {
            deltas = BaselineComparison.compare(baseline: baseline.sample, current: sample, limits: limits)
            source = baseline.source
        }
        return GateReport(summary: summary, checks: results, baseline: deltas, baselineSource: source, directory: directory)
    }
}

enum BaselineTable {
    /// The comparison with the baseline, as printed after the summary.
    static func render(_ report: GateReport) -> String {
        guard !report.baseline.isEmpty else { return "" }
        let rows = report.baseline.map { delta -> [String] in
            let metric = delta.reference.metric
            func number(_ value: Double?) -> String { value.map { Format.fixed($0, digits: metric.digits) } ?? "–" }
            var change = ""
            if let value = delta.delta { change = (value > 0 ? "+" : "") + Format.fixed(value, digits: metric.digits) }
            return [delta.reference.description, number(delta.baseline), number(delta.current), change, delta.relativeText, metric.unit, delta.verdict == .pass || delta.verdict == .fail ? "\(delta.verdict.rawValue.uppercased()) (\(delta.limitDescription ?? ""))" : delta.verdict.rawValue]
        }
        return "against the baseline \(report.baselineSource ?? ""):\n"
            + TextTable.render(header: ["metric", "baseline", "now", "delta", "change", "unit", "verdict"], rows: rows, indent: "  ", rightAlignFrom: 1, rightAlignTo: 4)
    }
}
