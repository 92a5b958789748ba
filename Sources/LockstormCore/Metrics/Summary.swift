/// What the checks of an invariant during the run saw.
public struct DuringCheck: Sendable, Hashable {
    public var checks = 0
    public var failures = 0
    /// Seconds into the measured run of the first failure, and what it returned.
    public var firstFailureSeconds: Double?
    public var firstFailureValue: String?
    /// Checks that fell due on the invariant's grid (`checks` of them were
    /// made; see `Coverage` for the counting rule).
    public var due = 0
    /// Times the monitor's connection broke and was opened again.
    public var reconnects = 0

    public init(checks: Int = 0, failures: Int = 0, firstFailureSeconds: Double? = nil, firstFailureValue: String? = nil, due: Int? = nil, reconnects: Int = 0) {
        self.checks = checks
        self.failures = failures
        self.firstFailureSeconds = firstFailureSeconds
        self.firstFailureValue = firstFailureValue
        self.due = due ?? checks
        self.reconnects = reconnects
    }

    /// Checks made against checks due: a gap (`!coverage.isComplete`) means
    /// the invariant went unwatched for a while, so no failure seen is not a
    /// plain pass.
    public var coverage: Coverage { Coverage(made: checks, due: due, reconnects: reconnects) }

    public mutating func record(passed: Bool, actual: String, atSeconds seconds: Double) {
        checks += 1
        guard !passed else { return }
        failures += 1
        if firstFailureSeconds == nil {
            firstFailureSeconds = seconds
            firstFailureValue = actual
        }
    }

    /// "12 checks during the run, 0 failed" / "…, 3 failed (first at 1.2 s: 7)".
    public var description: String {
        var text = "\(checks) check\(checks == 1 ? "" : "s") during the run, \(failures) failed"
        if let seconds = firstFailureSeconds { text += " (first at \(Format.fixed(seconds, digits: 1)) s: \(firstFailureValue ?? "NULL"))" }
        if !coverage.isComplete { text += "; coverage gap: \(coverage.description)" }
        return text
    }
}

/// The result of one invariant after a run.
public struct InvariantResult: Sendable, Hashable {
    public var name: String
    public var expected: Value
    /// What the statement returned (first column of the first row), as text.
    public var actual: String?
    /// Set when the statement itself failed.
    public var error: String?
    /// Checks made while the load ran (`during:`), if any.
    public var during: DuringCheck?

    public init(name: String, expected: Value, actual: String?, error: String? = nil, during: DuringCheck? = nil) {
        self.name = name
        self.expected = expected
        self.actual = actual
        self.error = error
        self.during = during
    }

    /// The check after the run passed and no check during it failed.
    public var passed: Bool { passedAfterRun && (during?.failures ?? 0) == 0 }

    /// The value as people read it: PostgreSQL's `t`/`f` as true/false.
    public var actualDisplay: String {
        guard case .bool = expected, let actual else { return actual ?? "NULL" }
        switch actual {
        case "t": return "true"
        case "f": return "false"
        default: return actual
        }
    }

    /// Numbers compare by value (`100000` equals `100000.00`), booleans by
    /// value (PostgreSQL's `t` is `true`), anything else as text.
    public var passedAfterRun: Bool {
        guard error == nil else { return false }
        let actualValue = Value.parse(text: actual)
        if let expectedNumber = expected.number, let actualNumber = actualValue.number {
            return expectedNumber == actualNumber
        }
        if case .bool = expected { return actualValue == expected }
        return expected.bindText == actual
    }
}

/// One row of `summary.csv`: one transaction type, or the `total`.
///
/// The columns, their order, types, formats and docs are `SummaryColumn`'s;
/// `values` produces them, then the unit-of-work pairs (`UnitColumn`) of
/// `counterNames`. Latencies are in milliseconds, `tps` is committed
/// transactions per second of the measurement window, and the counting
/// rules are those of `TransactionStats`.
public struct SummaryRow: Sendable {
    public static let schemaVersion = 2

    /// The fixed columns (without the unit-of-work pairs).
    public static let columns = SummaryColumn.allCases.map(\.name)

    /// The header of a `summary.csv` whose plan counts `counterNames`.
    public static func columns(counterNames: [String]) -> [String] {
        columns + counterNames.flatMap(UnitColumn.names)
    }

    // The latency statistics and `values` are computed once, when the row is
    // made or a field changes: every report reads them, some several times.
    public var workload: String { didSet { values = makeValues() } }
    public var variant: String { didSet { values = makeValues() } }
    public var transaction: String { didSet { values = makeValues() } }
    public var clients: Int { didSet { values = makeValues() } }
    public var durationSeconds: Double { didSet { values = makeValues() } }
    public var stats: TransactionStats {
        didSet {
            latency = HistogramStatistics(stats.latency)
            values = makeValues()
        }
    }
    public var invariantFailures: Int { didSet { values = makeValues() } }
    /// The unit-of-work counters (`RunPlan.counterNames`): `stats.units` by index.
    public var counterNames: [String] = [] { didSet { values = makeValues() } }
    /// The statistics of `stats.latency` (µs), from one walk over it.
    public private(set) var latency: HistogramStatistics
    /// The row's values, in `columns` order, formatted for CSV.
    public private(set) var values: [String] = []

    public init(
        workload: String, variant: String, transaction: String, clients: Int, durationSeconds: Double, stats: TransactionStats, invariantFailures: Int,
        counterNames: [String] = []
    ) {
        self.counterNames = counterNames
        self.workload = workload
        self.variant = variant
        self.transaction = transaction
        self.clients = clients
        self.durationSeconds = durationSeconds
        self.stats = stats
        self.invariantFailures = invariantFailures
        latency = HistogramStatistics(stats.latency)
        values = makeValues()
    }

    public var tps: Double { durationSeconds > 0 ? Double(stats.committed) / durationSeconds : 0 }

    /// Units of work per counter: the total and per second of the window.
    public var units: [(name: String, total: Int, perSecond: Double)] {
        counterNames.enumerated().map { index, name in
            let total = stats.units(index)
            return (name, total, durationSeconds > 0 ? Double(total) / durationSeconds : 0)
        }
    }

    /// Latency at `percentile` (0–100) in milliseconds; 0 when nothing committed.
    public func latencyMilliseconds(_ percentile: Double) -> Double {
        guard latency.totalCount > 0 else { return 0 }
        return Double(latency.valueAtPercentile(percentile)) / 1_000
    }

    public var meanMilliseconds: Double { latency.totalCount > 0 ? latency.mean / 1_000 : 0 }
    public var maxMilliseconds: Double { latency.totalCount > 0 ? Double(latency.max) / 1_000 : 0 }

    private func makeValues() -> [String] {
        SummaryColumn.allCases.map { $0.format($0.value(in: self)) }
            + units.flatMap { [String($0.total), Format.fixed($0.perSecond, digits: UnitColumn.rateDigits)] }
    }
}

/// The outcome of a whole run, ready for reports.
public struct RunSummary: Sendable {
    // `rows` is made once, when the summary is made or a field it shows
    // changes: the reports, checks and baseline all read it.
    public var workload: String { didSet { rows = makeRows() } }
    public var variant: String { didSet { rows = makeRows() } }
    public var clients: Int { didSet { rows = makeRows() } }
    public var threads: Int
    public var durationSeconds: Double { didSet { rows = makeRows() } }
    public var seed: UInt64
    /// Names in `RunPlan.transactions` order.
    public var transactionNames: [String] { didSet { rows = makeRows() } }
    public var stats: RunStats { didSet { rows = makeRows() } }
    public var invariants: [InvariantResult] { didSet { rows = makeRows() } }
    /// The run was stopped early (Ctrl-C, lost server) and covers only what ran.
    public var partial: Bool
    /// BEGIN went out in a round trip of its own (`--separate-begin`), not
    /// with each transaction's first statement.
    public var separateBegin = false
    /// How statements went out (`-M`).
    public var protocolMode = ProtocolMode.extended
    /// The unit-of-work counters (`RunPlan.counterNames`), in order.
    public var counterNames: [String] = [] { didSet { rows = makeRows() } }
    /// One row per transaction type, then `total`.
    public private(set) var rows: [SummaryRow] = []

    public init(
        workload: String, variant: String, clients: Int, threads: Int, durationSeconds: Double, seed: UInt64,
        transactionNames: [String], stats: RunStats, invariants: [InvariantResult], partial: Bool, counterNames: [String] = []
    ) {
        self.counterNames = counterNames
        self.workload = workload
        self.variant = variant
        self.clients = clients
        self.threads = threads
        self.durationSeconds = durationSeconds
        self.seed = seed
        self.transactionNames = transactionNames
        self.stats = stats
        self.invariants = invariants
        self.partial = partial
        rows = makeRows()
    }

    public var invariantFailures: Int { invariants.filter { !$0.passed }.count }

    /// The `summary.csv` header of this run (fixed columns, then the unit pairs).
    public var columns: [String] { SummaryRow.columns(counterNames: counterNames) }

    private func makeRows() -> [SummaryRow] {
        let invariantFailures = invariantFailures
        var rows = zip(transactionNames, stats.transactions).map { name, stats in
            SummaryRow(workload: workload, variant: variant, transaction: name, clients: clients, durationSeconds: durationSeconds, stats: stats, invariantFailures: invariantFailures, counterNames: counterNames)
        }
        rows.append(SummaryRow(workload: workload, variant: variant, transaction: "total", clients: clients, durationSeconds: durationSeconds, stats: stats.total, invariantFailures: invariantFailures, counterNames: counterNames))
        return rows
    }

    /// Errors by SQLSTATE, most frequent first.
    public var errorsByFrequency: [ErrorRecord] {
        stats.errors.values.sorted { ($0.count, $1.sqlState) > ($1.count, $0.sqlState) }
    }
}

/// Number formatting that does not depend on the locale.
public enum Format {
    /// `value` with exactly `digits` decimals.
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let negative = value < 0 && rounded > 0
        guard rounded < 9e18 else { return String(value) }
        let integer = UInt64(rounded)
        let whole = integer / UInt64(scale)
        var text = (negative ? "-" : "") + String(whole)
        if digits > 0 {
            let fraction = String(integer % UInt64(scale))
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return text
    }

    /// `value` rounded to `digits` decimals as `fixed` rounds it: the number
    /// that reading `fixed(value, digits:)` back gives, without the text.
    public static func rounded(_ value: Double, digits: Int) -> Double {
        guard value.isFinite else { return value }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        guard rounded < 9e18 else { return value }
        // An integer below 2^63 divided by an exact power of ten: the
        // correctly rounded quotient is the double nearest the decimal text.
        let magnitude = rounded / scale
        return value < 0 && rounded > 0 ? -magnitude : magnitude
    }

    /// A number as short as it reads: `50`, `99.9`.
    public static func number(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
