/// One column of `summary.csv`: the one place its name, how its value is
/// taken from a `SummaryRow`, how it is written, what it means, and the
/// metric (if any) that checks and baselines call it by, are defined.
///
/// The writer (`SummaryRow.values`), the reader (`SummaryLine` in Reports),
/// the JSON summary, the check and baseline metrics (`MetricCatalogue`) and
/// the result-file docs all go through these cases, in `allCases` order,
/// which is the file's column order. Version 2 of the schema
/// (`SummaryRow.schemaVersion`); a change of names, order or meaning bumps it.
///
/// After these fixed columns come two per unit-of-work counter of the plan
/// (`RunPlan.counterNames`, in order): `N` and `N_per_s` (`UnitColumn`).
public enum SummaryColumn: String, CaseIterable, Sendable, Hashable {
    case workload
    case variant
    case transaction
    case clients
    case durationSeconds = "duration_s"
    case attempts
    case committed
    case committedInGrace = "committed_in_grace"
    case rolledBack = "rolled_back"
    case endedEarly = "ended_early"
    case failed
    case expectedErrors = "expected_errors"
    case unexpectedErrors = "unexpected_errors"
    case retries
    case exhaustedRetries = "exhausted_retries"
    case deadlocks
    case lockNotAvailable = "lock_not_available"
    case serializationFailures = "serialization_failures"
    case statementTimeouts = "statement_timeouts"
    case connectionErrors = "connection_errors"
    case otherErrors = "other_errors"
    case tps
    case meanMilliseconds = "lat_mean_ms"
    case p50Milliseconds = "lat_p50_ms"
    case p90Milliseconds = "lat_p90_ms"
    case p95Milliseconds = "lat_p95_ms"
    case p99Milliseconds = "lat_p99_ms"
    case p999Milliseconds = "lat_p999_ms"
    case maxMilliseconds = "lat_max_ms"
    case invariantFailures = "invariant_failures"

    /// How a column's value is typed and written.
    public enum Kind: Sendable, Hashable {
        case text
        /// An integer count.
        case count
        /// A number written with exactly `digits` decimals.
        case decimal(digits: Int)
    }

    /// The name in the CSV header.
    public var name: String { rawValue }

    public var kind: Kind {
        switch self {
        case .workload, .variant, .transaction: .text
        case .durationSeconds, .meanMilliseconds, .p50Milliseconds, .p90Milliseconds, .p95Milliseconds, .p99Milliseconds,
             .p999Milliseconds, .maxMilliseconds: .decimal(digits: 3)
        case .tps: .decimal(digits: 2)
        case .clients, .attempts, .committed, .committedInGrace, .rolledBack, .endedEarly, .failed, .expectedErrors, .unexpectedErrors, .retries, .exhaustedRetries, .deadlocks, .lockNotAvailable, .serializationFailures,
             .statementTimeouts, .connectionErrors, .otherErrors, .invariantFailures: .count
        }
    }

    /// Columns a reader cannot do without; files written by other versions
    /// may lack any other column.
    public var isRequired: Bool { [.transaction, .attempts, .committed, .failed, .tps].contains(self) }

    /// The column counting failed attempts of `errorClass`.
    public init(_ errorClass: ErrorClass) {
        self = switch errorClass {
        case .deadlock: .deadlocks
        case .lockNotAvailable: .lockNotAvailable
        case .serializationFailure: .serializationFailures
        case .statementTimeout: .statementTimeouts
        case .connection: .connectionErrors
        case .other: .otherErrors
        }
    }

    /// The error class this column counts, for the six failure columns.
    public var errorClass: ErrorClass? { ErrorClass.allCases.first { SummaryColumn($0) == self } }

    /// The percentile of a latency column (0–100; `nil` for the mean and non-latency columns).
    public var percentile: Double? {
        switch self {
        case .p50Milliseconds: 50
        case .p90Milliseconds: 90
        case .p95Milliseconds: 95
        case .p99Milliseconds: 99
        case .p999Milliseconds: 99.9
        default: nil
        }
    }

    /// The latency columns, in file order.
    public static let latencies: [SummaryColumn] = [
        .meanMilliseconds, .p50Milliseconds, .p90Milliseconds, .p95Milliseconds, .p99Milliseconds, .p999Milliseconds, .maxMilliseconds,
    ]

    /// What the column means: `results/README.md` lists exactly these
    /// (a test keeps the two equal).
    public var doc: String {
        switch self {
        case .workload: "the workload's `name`"
        case .variant: "the variant (`default` when it has none)"
        case .transaction: "the transaction type, or `total`"
        case .clients: "concurrent clients"
        case .durationSeconds: "the measurement window in seconds: `-T`, the stop (Ctrl-C), or for `-t` the measured span; the grace period after it is not included"
        case .attempts: "BEGIN … COMMIT/ROLLBACK tries: `attempts = committed + rolled_back + ended_early + failed`"
        case .committed: "attempts that committed having run their steps (each one finished transaction), those that finished in the grace period included"
        case .committedInGrace: "of `committed`, those whose COMMIT returned in the grace period after the window closed"
        case .rolledBack: "attempts the workload rolled back on purpose (`rollback_if`, `on_empty: rollback`): a business outcome, not a failure"
        case .endedEarly: "attempts that committed with steps left unrun (`on_empty: skip|stop`, `skip_if`, `stop_if`): nothing to do, not work"
        case .failed: "attempts that ended in an error; `failed = expected_errors + unexpected_errors`, and the six error columns below add up to it"
        case .expectedErrors: "failed attempts whose error the workload declares (`expect:`, `retry.on`) or is a concurrency or connection outcome"
        case .unexpectedErrors: "failed attempts whose error the workload does not declare: a broken workload (fails the run unless `--allow-unexpected-errors`)"
        case .retries: "failed attempts that were tried again (a transaction retried twice adds 2)"
        case .exhaustedRetries: "failed attempts with a retryable error that were the transaction's last (`retry.max_attempts`): transactions that gave up"
        case .deadlocks: "failed attempts with 40P01"
        case .lockNotAvailable: "failed attempts with 55P03 (`NOWAIT`, `lock_timeout`)"
        case .serializationFailures: "failed attempts with 40001"
        case .statementTimeouts: "failed attempts with 57014 (`statement_timeout`, cancel)"
        case .connectionErrors: "failed attempts with class 08 or 57P01–57P03: the connection broke"
        case .otherErrors: "failed attempts with any other SQLSTATE"
        case .tps: "`committed / duration_s` (commits that finished in the grace period included)"
        case .meanMilliseconds: "mean latency of committed transactions in ms; 0 when none committed"
        case .maxMilliseconds: "longest latency of a committed transaction in ms; 0 when none committed"
        case .invariantFailures: "invariants that did not hold after the run (same on every row)"
        case .p50Milliseconds, .p90Milliseconds, .p95Milliseconds, .p99Milliseconds, .p999Milliseconds:
            "\(Format.number(percentile ?? 0))th percentile latency of committed transactions in ms; 0 when none committed"
        }
    }

    /// The column's value in `row`, exact (before it is rounded for the file).
    public func value(in row: SummaryRow) -> SummaryValue {
        switch self {
        case .workload: .text(row.workload)
        case .variant: .text(row.variant)
        case .transaction: .text(row.transaction)
        case .clients: .count(row.clients)
        case .durationSeconds: .number(row.durationSeconds)
        case .attempts: .count(row.stats.attempts)
        case .committed: .count(row.stats.committed)
        case .committedInGrace: .count(row.stats.graceCommitted)
        case .rolledBack: .count(row.stats.rolledBack)
        case .endedEarly: .count(row.stats.endedEarly)
        case .failed: .count(row.stats.failed)
        case .expectedErrors: .count(row.stats.expectedErrors)
        case .unexpectedErrors: .count(row.stats.unexpectedErrors)
        case .retries: .count(row.stats.retries)
        case .exhaustedRetries: .count(row.stats.exhaustedRetries)
        case .deadlocks: .count(row.stats.count(.deadlock))
        case .lockNotAvailable: .count(row.stats.count(.lockNotAvailable))
        case .serializationFailures: .count(row.stats.count(.serializationFailure))
        case .statementTimeouts: .count(row.stats.count(.statementTimeout))
        case .connectionErrors: .count(row.stats.count(.connection))
        case .otherErrors: .count(row.stats.count(.other))
        case .tps: .number(row.tps)
        case .meanMilliseconds: .number(row.meanMilliseconds)
        case .p50Milliseconds: .number(row.latencyMilliseconds(50))
        case .p90Milliseconds: .number(row.latencyMilliseconds(90))
        case .p95Milliseconds: .number(row.latencyMilliseconds(95))
        case .p99Milliseconds: .number(row.latencyMilliseconds(99))
        case .p999Milliseconds: .number(row.latencyMilliseconds(99.9))
        case .maxMilliseconds: .number(row.maxMilliseconds)
        case .invariantFailures: .count(row.invariantFailures)
        }
    }

    /// The value as `summary.csv` records it: numbers rounded to the column's
    /// decimals, so it equals what a reader parses from the file.
    public func recordedValue(in row: SummaryRow) -> SummaryValue {
        let value = value(in: row)
        guard case .number(let number) = value, case .decimal(let digits) = kind else { return value }
        return .number(Format.rounded(number, digits: digits))
    }

    /// The cell of `summary.csv` for `value`.
    public func format(_ value: SummaryValue) -> String {
        switch value {
        case .text(let text): text
        case .count(let count): String(count)
        case .number(let number):
            if case .decimal(let digits) = kind { Format.fixed(number, digits: digits) } else { Format.number(number) }
        }
    }

    /// What checks and baselines call the column (`p99_ms` for `lat_p99_ms`), with
    /// its unit, which way is better and its one-line description; `nil` for
    /// columns that are not metrics.
    public var metric: (name: String, unit: String, better: Metric.Better, summary: String)? {
        if errorClass != nil { return (rawValue, "", .lower, "failed attempts of this class (summary.csv column)") }
        switch self {
        case .workload, .variant, .transaction, .clients, .durationSeconds: return nil
        case .tps: return (rawValue, "tx/s", .higher, "committed transactions per second of the measurement window")
        case .attempts: return (rawValue, "", .neither, "attempts (BEGIN … COMMIT/ROLLBACK): committed + rolled_back + ended_early + failed")
        case .committed: return (rawValue, "", .higher, "committed transactions")
        case .committedInGrace: return (rawValue, "", .neither, "committed transactions whose COMMIT returned in the grace period")
        case .rolledBack: return (rawValue, "", .neither, "attempts the workload rolled back on purpose")
        case .endedEarly: return (rawValue, "", .neither, "attempts that committed with steps left unrun (nothing to do)")
        case .failed: return (rawValue, "", .lower, "attempts that ended in an error (retried or not)")
        case .expectedErrors: return (rawValue, "", .lower, "failed attempts with an error the workload declares")
        case .unexpectedErrors: return (rawValue, "", .lower, "failed attempts with an error the workload does not declare")
        case .retries: return (rawValue, "", .lower, "failed attempts that were tried again")
        case .exhaustedRetries: return (rawValue, "", .lower, "transactions that gave up after their last retryable attempt")
        case .invariantFailures: return (rawValue, "", .lower, "invariants that did not hold after the run")
        default:
            let what = switch self {
            case .meanMilliseconds: "mean"
            case .p50Milliseconds: "median"
            case .maxMilliseconds: "longest"
            default: "\(Format.number(percentile ?? 0))th percentile"
            }
            return (String(rawValue.dropFirst("lat_".count)), "ms", .lower, "\(what) latency of committed transactions")
        }
    }
}

/// A typed cell of `summary.csv`.
public enum SummaryValue: Sendable, Hashable {
    case text(String)
    case count(Int)
    case number(Double)

    /// The value as a number; `nil` for text.
    public var number: Double? {
        switch self {
        case .text: nil
        case .count(let count): Double(count)
        case .number(let number): number
        }
    }
}

/// The two `summary.csv` columns of one unit-of-work counter (`count: N`
/// steps): `N`, the units done, and `N_per_s`, units per second of the
/// measurement window (`N / duration_s`). They follow the fixed columns, one
/// pair per counter in `RunPlan.counterNames` order.
public enum UnitColumn {
    /// Suffix of the rate column.
    public static let rateSuffix = "_per_s"

    /// Decimals of `N_per_s` (as `tps`).
    public static let rateDigits = 2

    /// `["jobs", "jobs_per_s"]`.
    public static func names(_ counter: String) -> [String] { [counter, rateName(counter)] }

    public static func rateName(_ counter: String) -> String { counter + rateSuffix }

    /// The counters of a `summary.csv` header: each column that is not a
    /// fixed one and is followed by its `_per_s` twin, in file order.
    public static func counters(inHeader header: [String]) -> [String] {
        let fixed = Set(SummaryColumn.allCases.map(\.name))
        let names = Set(header)
        return header.filter { !fixed.contains($0) && !$0.hasSuffix(rateSuffix) && names.contains(rateName($0)) }
    }

    /// What the two columns mean, for `results/README.md`.
    public static let doc = "units of work counted by the workload's `count: N` steps, in attempts that committed; one pair per counter, after the fixed columns: `N` (units) and `N_per_s` (`N / duration_s`)"
}

extension SummaryRow {
    /// Every column's value as `summary.csv` records it (numbers rounded to
    /// the column's decimals): what a reader of the file gets back.
    public var recordedValues: [SummaryColumn: SummaryValue] {
        var values: [SummaryColumn: SummaryValue] = [:]
        for column in SummaryColumn.allCases { values[column] = column.recordedValue(in: self) }
        return values
    }

    /// The unit-of-work columns (`jobs`, `jobs_per_s`) as `summary.csv`
    /// records them, by column name.
    public var recordedUnitValues: [String: SummaryValue] {
        var values: [String: SummaryValue] = [:]
        for unit in units {
            values[unit.name] = .count(unit.total)
            values[UnitColumn.rateName(unit.name)] = .number(Format.rounded(unit.perSecond, digits: UnitColumn.rateDigits))
        }
        return values
    }
}

extension ErrorClass {
    /// The summary column that counts this class.
    public var columnName: String { SummaryColumn(self).rawValue }

}
