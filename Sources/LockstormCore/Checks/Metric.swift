/// One number a check, a regression gate or a comparison can name: `tps`,
/// `p99_ms`, `deadlocks_per_1k`, ….
///
/// Every metric is computed from the typed values of one `summary.csv` row
/// (`SummaryColumn`), as the file records them (rounded to the column's
/// decimals), so a check sees exactly the numbers the result directory
/// records, and a baseline read back from disk yields the same metrics as the
/// run that wrote it. The rules, defined once here:
///
/// - counts (`deadlocks`, `retries`, …) and `tps` are the summary columns,
///   under the metric names `SummaryColumn.metric` gives;
/// - `<class>_rate` is that count divided by **attempts** (0–1; 0 when there
///   were no attempts): the chance that one attempt failed that way;
/// - `<class>_per_1k` is the same per 1,000 attempts (`1000 × rate`);
/// - latencies (`p50_ms` … `max_ms`, `mean_ms`) are of committed transactions
///   and are *not measured* when nothing committed, so a latency check fails
///   rather than passing on a run that did nothing;
/// - `invariant_failures` belongs to the whole run only;
/// - each unit-of-work counter `N` of the workload (`count: N`) gives `N`,
///   the units done, and `N_per_s`, units per second of the measurement
///   window: both higher-is-better, and named only for workloads that count `N`.
public struct Metric: Sendable, Hashable {
    /// Which way is better, for regression gates and comparisons.
    public enum Better: Sendable, Hashable {
        case higher, lower
        /// Neither (e.g. `attempts`): no regression gate on it.
        case neither
    }

    public var name: String
    /// Unit for people: `tx/s`, `ms`, `` (a count), `/1k` or `` for rates.
    public var unit: String
    public var better: Better
    /// Decimals when printed.
    public var digits: Int
    /// False for metrics of the whole run only (`invariant_failures`).
    public var perTransaction: Bool
    /// One line for `--help`-style lists and docs.
    public var summary: String

    private let compute: @Sendable (MetricRow) -> Double?

    init(_ name: String, unit: String, better: Better, digits: Int, perTransaction: Bool = true, _ summary: String, compute: @escaping @Sendable (MetricRow) -> Double?) {
        self.name = name
        self.unit = unit
        self.better = better
        self.digits = digits
        self.perTransaction = perTransaction
        self.summary = summary
        self.compute = compute
    }

    /// The metric's value in `row`; `nil` when not measured (a column is
    /// missing, or a latency of a transaction that never committed).
    public func value(in row: MetricRow) -> Double? { compute(row) }

    /// `value` with the metric's decimals and unit: `812.40 tx/s`, `0.0125`.
    public func format(_ value: Double?) -> String {
        guard let value else { return "not measured" }
        let number = Format.fixed(value, digits: digits)
        return unit.isEmpty ? number : "\(number) \(unit)"
    }

    public static func == (lhs: Metric, rhs: Metric) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// The columns of one `summary.csv` row by name, as numbers.
public struct MetricRow: Sendable, Hashable {
    public var columns: [String: Double]

    public init(columns: [String: Double]) {
        self.columns = columns
    }

    /// The numeric columns of typed `summary.csv` values (a row's
    /// `recordedValues`, or a row read back from the file).
    /// `units` are the unit-of-work columns by name (`jobs`, `jobs_per_s`).
    public init(_ values: [SummaryColumn: SummaryValue], units: [String: SummaryValue] = [:]) {
        var columns: [String: Double] = [:]
        for (name, value) in units {
            if let number = value.number { columns[name] = number }
        }
        for (column, value) in values {
            if let number = value.number { columns[column.name] = number }
        }
        self.init(columns: columns)
    }

    public subscript(_ column: String) -> Double? { columns[column] }

    public subscript(_ column: SummaryColumn) -> Double? { columns[column.name] }
}

/// The metrics of one run: the `total` row and one row per transaction type.
public struct MetricSample: Sendable, Hashable {
    public var total: MetricRow
    /// In the workload's order.
    public var transactions: [(name: String, row: MetricRow)]

    public init(total: MetricRow, transactions: [(name: String, row: MetricRow)]) {
        self.total = total
        self.transactions = transactions
    }

    /// The rows of `summary.csv` as the checks see them: every numeric
    /// column, as the file records it.
    public init(_ summary: RunSummary) {
        // `rows` is the transaction types in order, then `total`.
        var rows = summary.rows.map { row in (name: row.transaction, row: MetricRow(row.recordedValues, units: row.recordedUnitValues)) }
        let total = rows.removeLast().row
        let transactions = rows
        self.init(total: total, transactions: transactions)
    }

    public func row(_ transaction: String?) -> MetricRow? {
        guard let transaction else { return total }
        return transactions.first { $0.name == transaction }?.row
    }

    /// The value of `reference`; `nil` when not measured or the transaction is absent.
    public func value(_ reference: MetricReference) -> Double? {
        row(reference.transaction).flatMap { reference.metric.value(in: $0) }
    }

    public static func == (lhs: MetricSample, rhs: MetricSample) -> Bool {
        lhs.total == rhs.total && lhs.transactions.map(\.name) == rhs.transactions.map(\.name) && lhs.transactions.map(\.row) == rhs.transactions.map(\.row)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(total)
        for (name, row) in transactions {
            hasher.combine(name)
            hasher.combine(row)
        }
    }
}

/// A metric for the whole run (`p99_ms`) or one transaction type (`transfer.p99_ms`).
public struct MetricReference: Sendable, Hashable, CustomStringConvertible {
    public var transaction: String?
    public var metric: Metric

    public init(transaction: String?, metric: Metric) {
        self.transaction = transaction
        self.metric = metric
    }

    public var description: String { transaction.map { "\($0).\(metric.name)" } ?? metric.name }
}

/// Every metric, by name.
public enum MetricCatalogue {
    /// The error classes, in `summary.csv` column order.
    static let errorColumns = ErrorClass.allCases.map(SummaryColumn.init)

    public static let all: [Metric] = {
        var metrics: [Metric] = []
        func metric(_ column: SummaryColumn, compute: @escaping @Sendable (MetricRow) -> Double?) {
            guard let about = column.metric else { preconditionFailure("summary column \(column.name) is not a metric") }
            let digits = if case .decimal(let digits) = column.kind { digits } else { 0 }
            metrics.append(Metric(about.name, unit: about.unit, better: about.better, digits: digits, perTransaction: column != .invariantFailures, about.summary, compute: compute))
        }
        func plain(_ column: SummaryColumn) { metric(column) { $0[column] } }
        for column in [SummaryColumn.tps, .attempts, .committed, .committedInGrace, .rolledBack, .endedEarly, .failed, .expectedErrors, .unexpectedErrors, .retries, .exhaustedRetries] {
            plain(column)
        }
        for column in SummaryColumn.latencies {
            metric(column) { row in
                guard let committed = row[.committed], committed > 0 else { return nil }
                return row[column]
            }
        }
        for column in errorColumns { plain(column) }
        for column in [SummaryColumn.failed, .rolledBack, .endedEarly, .unexpectedErrors] + errorColumns + [.retries] {
            let stem = column.name
            let rate: @Sendable (MetricRow) -> Double? = { row in
                guard let attempts = row[.attempts], let count = row[column] else { return nil }
                return attempts > 0 ? count / attempts : 0
            }
            // Rolling back on purpose and finding nothing to do are outcomes, not faults: no direction.
            let better: Metric.Better = column == .rolledBack || column == .endedEarly ? .neither : .lower
            metrics.append(Metric("\(stem)_rate", unit: "", better: better, digits: 4, "\(stem) / attempts (0–1)", compute: rate))
            metrics.append(Metric("\(stem)_per_1k", unit: "/1k", better: better, digits: 3, "\(stem) per 1,000 attempts", compute: { rate($0).map { $0 * 1_000 } }))
        }
        plain(.invariantFailures)
        return metrics
    }()

    public static var names: [String] { all.map(\.name) }

    public static func metric(named name: String) -> Metric? { all.first { $0.name == name } }

    /// A metric of the catalogue, or of one of `counters` (`jobs`, `jobs_per_s`).
    public static func metric(named name: String, counters: [String]) -> Metric? {
        if let metric = metric(named: name) { return metric }
        if counters.contains(name) { return unitMetrics(name)[0] }
        if name.hasSuffix(UnitColumn.rateSuffix), counters.contains(String(name.dropLast(UnitColumn.rateSuffix.count))) {
            return unitMetrics(String(name.dropLast(UnitColumn.rateSuffix.count)))[1]
        }
        return nil
    }

    /// The two metrics of unit-of-work counter `counter`: `N` and `N_per_s`.
    public static func unitMetrics(_ counter: String) -> [Metric] {
        let rate = UnitColumn.rateName(counter)
        return [
            Metric(counter, unit: "", better: .higher, digits: 0, "units of work counted as '\(counter)' (count: \(counter))", compute: { $0[counter] }),
            Metric(rate, unit: "/s", better: .higher, digits: UnitColumn.rateDigits, "\(counter) per second of the measurement window", compute: { $0[rate] }),
        ]
    }

    /// The metrics a comparison or baseline table shows, most telling first.
    public static let headline = ["tps", "p50_ms", "p99_ms", "failed_rate", "deadlocks_per_1k", "lock_not_available_rate", "serialization_failures_rate", "retries_per_1k", "invariant_failures"]
}
