/// Everything that decides whether one run passes the CI gate: the checks,
/// the regression gates against a baseline, and the workload's invariants.
/// JUnit XML, the Markdown summary and the terminal lines all render this.
public struct GateReport: Sendable {
    /// One pass/fail item, a JUnit test case.
    public struct Case: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            case check, regression, invariant
        }

        public var kind: Kind
        /// What was asserted: the check as written, `tps=10%`, the invariant's name.
        public var name: String
        public var passed: Bool
        /// What was measured, for people: `tps = 812.40 tx/s`.
        public var measured: String

        public init(kind: Kind, name: String, passed: Bool, measured: String) {
            self.kind = kind
            self.name = name
            self.passed = passed
            self.measured = measured
        }
    }

    public var workload: String
    public var variant: String
    public var durationSeconds: Double
    public var partial: Bool
    public var summary: RunSummary
    public var checks: [CheckResult]
    /// Empty without `--baseline`.
    public var baseline: [BaselineDelta]
    /// The baseline's result directory, as given (its folder when several runs make it).
    public var baselineSource: String?
    /// Every result directory the baseline was made of (one, or the repeats).
    public var baselineRuns: [String] = []
    /// Settings in which the baseline differs from this run, compared anyway
    /// (`--force-baseline`); empty when they match.
    public var baselineMismatches: [String] = []
    /// Why there is no baseline comparison although one was asked for
    /// (`--baseline-if-exists` found none); `nil` otherwise.
    public var baselineNote: String?
    /// The run's result directory, when it was written.
    public var directory: String?

    public init(summary: RunSummary, checks: [CheckResult], baseline: [BaselineDelta] = [], baselineSource: String? = nil, directory: String? = nil) {
        workload = summary.workload
        variant = summary.variant
        durationSeconds = summary.durationSeconds
        partial = summary.partial
        self.summary = summary
        self.checks = checks
        self.baseline = baseline
        self.baselineSource = baselineSource
        self.directory = directory
    }

    /// Checks, then regression gates, then invariants.
    public var cases: [Case] {
        var cases = checks.map { Case(kind: .check, name: $0.check.source, passed: $0.passed, measured: $0.measured) }
        for delta in baseline where delta.limit != nil {
            let metric = delta.reference.metric
            var baselineText = "baseline \(metric.format(delta.baseline))"
            if delta.baselineRuns > 1 {
                baselineText = "baseline median \(metric.format(delta.baseline)) (\(delta.baselineRuns) runs, \(metric.format(delta.baselineLow)) to \(metric.format(delta.baselineHigh)))"
            }
            let measured = "\(delta.reference): \(baselineText), now \(delta.reference.metric.format(delta.current)) (\(delta.relativeText.isEmpty ? "no change measurable" : delta.relativeText)); allowed: \(delta.limitDescription ?? "")"
            cases.append(Case(kind: .regression, name: delta.limit?.description ?? delta.reference.description, passed: delta.verdict == .pass, measured: measured))
        }
        for invariant in summary.invariants {
            let measured = invariant.error.map { "the invariant's query failed: \($0)" } ?? "expected \(invariant.expected.bindText ?? "NULL"), got \(invariant.actual ?? "NULL")"
            cases.append(Case(kind: .invariant, name: invariant.name, passed: invariant.passed, measured: measured))
        }
        return cases
    }

    /// The warning that the baseline was made with other settings (`--force-baseline`); empty when it was not.
    public var mismatchWarning: String {
        baselineMismatches.isEmpty ? "" : "compared with a baseline made with other settings (--force-baseline): " + baselineMismatches.joined(separator: "; ")
    }

    public var failures: Int { cases.filter { !$0.passed }.count }
    public var passed: Bool { failures == 0 }

    /// The PASS/FAIL lines printed after the summary (empty when there is nothing to gate on).
    public var lines: String {
        let gated = cases.filter { $0.kind != .invariant }
        guard !gated.isEmpty else { return "" }
        var out = ""
        let checkCases = gated.filter { $0.kind == .check }
        let width = gated.map(\.name.count).max() ?? 0
        func line(_ item: Case) -> String {
            "  \(item.passed ? "PASS" : "FAIL")  \(item.name)\(String(repeating: " ", count: max(0, width - item.name.count)))   \(item.measured)\n"
        }
        if !checkCases.isEmpty {
            out += "checks:\n"
            for item in checkCases { out += line(item) }
        }
        let regressions = gated.filter { $0.kind == .regression }
        if !regressions.isEmpty {
            out += "regression gates (--max-regression):\n"
            for item in regressions { out += line(item) }
        }
        return out
    }
}
