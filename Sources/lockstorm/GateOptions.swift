import ArgumentParser
import Foundation
import LockstormCore
import Reports

/// The CI gate's flags: checks, a baseline with regression limits, and the
/// JUnit and Markdown outputs.
struct GateOptions: ParsableArguments {
    @Option(name: .customLong("check"), help: ArgumentHelp("A condition the run must meet, e.g. 'deadlocks == 0' or 'transfer.p99_ms < 50' (repeatable; adds to the workload's checks). Metrics: see docs/ci.md.", valueName: "expr"))
    var checks: [String] = []

    @Option(name: .long, help: ArgumentHelp("Compare with an earlier run: its result directory, or a folder of them (the newest of the same workload and variant is used).", valueName: "dir"))
    var baseline: String?

    @Option(name: .customLong("max-regression"), help: ArgumentHelp("With --baseline: fail when a metric gets worse than this, e.g. tps=10%,p99_ms=20%,deadlocks_per_1k=0 (N% relative, N in the metric's unit).", valueName: "limits"))
    var maxRegression: String?

    @Option(name: .long, help: ArgumentHelp("Write JUnit XML here: one test case per check, regression gate and invariant.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Write a Markdown summary here (e.g. \"$GITHUB_STEP_SUMMARY\"; appended to when the file exists).", valueName: "file"))
    var markdown: String?

    func validate() throws {
        if maxRegression != nil && baseline == nil { throw ValidationError("--max-regression needs --baseline: the limits are relative to an earlier run") }
    }

    /// Everything parsed and loaded before the run starts, so a mistake is
    /// reported (exit 2) before anything touches the database.
    struct Prepared {
        var checks: [Check]
        var limits: [RegressionLimit]
        /// Per variant label: the baseline's metrics and where they came from.
        var baselines: [String: (sample: MetricSample, source: String)]
    }

    func prepare(workload: Workload, plans: [RunPlan]) throws -> Prepared {
        let parser = CheckParser(transactions: workload.transactions.map(\.name))
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
                limits = try RegressionLimit.parseList(maxRegression, transactions: workload.transactions.map(\.name))
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
                        Console.note("the baseline \(directory.path) is a run of '\(name)', not '\(plan.workloadName)'; comparing anyway")
                    } else if let variant = files.run?.variant ?? files.summary.first?.variant, variant != plan.variantLabel {
                        Console.note("the baseline \(directory.path) ran variant '\(variant)', this run '\(plan.variantLabel)'; comparing anyway")
                    }
                    baselines[plan.variantLabel] = (BaselineFiles.sample(files), Self.relative(directory.path))
                } catch let error as ResultFilesError {
                    throw Failure(.usage, "lockstorm: --baseline: \(error.description)")
                }
            }
        }
        return Prepared(checks: parsed, limits: limits, baselines: baselines)
    }

    /// Writes the JUnit and Markdown files asked for; a write failure is reported, not fatal.
    func writeOutputs(_ reports: [GateReport]) {
        if let junit {
            do {
                try Data(JUnitReport.render(reports).utf8).write(to: URL(fileURLWithPath: junit))
            } catch {
                Console.note("could not write --junit \(junit): \(error.localizedDescription)")
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
                Console.note("could not write --markdown \(markdown)")
            }
        }
    }

    static func relative(_ path: String) -> String {
        let current = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(current) ? String(path.dropFirst(current.count)) : path
    }
}

extension GateOptions.Prepared {
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
