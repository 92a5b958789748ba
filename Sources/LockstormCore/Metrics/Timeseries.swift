import Histogram

/// What happened during one interval of a run (1 s by default), for one
/// worker or, merged, for the whole run. Counting rules are those of
/// `TransactionStats`, restricted to attempts that ended in the interval.
public struct IntervalStats: Sendable {
    public var attempts = 0
    public var committed = 0
    public var failed = 0
    public var rolledBack = 0
    public var endedEarly = 0
    public var unexpectedErrors = 0
    public var retries = 0
    public var errorCounts = [Int](repeating: 0, count: ErrorClass.allCases.count)
    /// Units of work by counter index (see `TransactionStats.units`).
    public var units: [Int] = []
    /// Latency of the transactions that committed in the interval, in µs.
    /// Two significant digits: enough for p50/p99 over time, and small.
    public var latency: Histogram<UInt64>

    public init() {
        latency = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: .two)
    }

    public func count(_ errorClass: ErrorClass) -> Int { errorCounts[errorClass.rawValue] }

    public mutating func add(_ other: IntervalStats) {
        attempts += other.attempts
        committed += other.committed
        failed += other.failed
        rolledBack += other.rolledBack
        endedEarly += other.endedEarly
        unexpectedErrors += other.unexpectedErrors
        retries += other.retries
        for index in errorCounts.indices { errorCounts[index] += other.errorCounts[index] }
        addUnits(other.units)
        latency.add(other.latency)
    }

    mutating func addUnits(_ counts: [Int]) {
        if units.count < counts.count { units += Array(repeating: 0, count: counts.count - units.count) }
        for index in counts.indices { units[index] += counts[index] }
    }

    public mutating func reset() {
        attempts = 0
        committed = 0
        failed = 0
        rolledBack = 0
        endedEarly = 0
        unexpectedErrors = 0
        retries = 0
        for index in errorCounts.indices { errorCounts[index] = 0 }
        for index in units.indices { units[index] = 0 }
        latency.reset()
    }
}

/// One row of `timeseries.csv`: one interval of the whole run.
///
/// Version 2 of the schema. Counts are per interval; `tps` is `committed`
/// divided by the interval's length (the last interval may be shorter).
/// The `waiting_*`, `wait_*`, `longest_*` columns come from the lock-wait
/// sampler (`--sample-interval`; empty when it is off):
/// `longest_statement_wait_ms` is how long a statement had waited on locks,
/// across every lock it queued behind; `longest_wait_ms` the longest single
/// lock wait. Then one `N_per_s` column per unit-of-work counter of the plan
/// (units done in the interval divided by its length).
public struct TimeseriesRow: Sendable, Hashable {
    /// The columns only this file has; the counts, `tps` and latencies are
    /// named as in `summary.csv` (`SummaryColumn`), for one interval.
    public enum Column: String, CaseIterable, Sendable {
        case interval
        case startSeconds = "start_s"
        case endSeconds = "end_s"
        case lockSamples = "lock_samples"
        case waitingMean = "waiting_mean"
        case waitingMax = "waiting_max"
        case longestWaitMilliseconds = "longest_wait_ms"
        case longestStatementWaitMilliseconds = "longest_statement_wait_ms"
        case longestChain = "longest_chain"
    }

    /// `wait_<kind>_max` for each of `LockWaitSummary.kinds`.
    public static func waitKindColumn(_ kind: String) -> String { "wait_\(kind)_max" }

    /// The fixed columns (without the `N_per_s` of the counters).
    public static let columns = [Column.interval, .startSeconds, .endSeconds].map(\.rawValue)
        + [SummaryColumn.tps, .attempts, .committed, .rolledBack, .endedEarly, .failed, .unexpectedErrors, .retries].map(\.name)
        + ErrorClass.allCases.map(\.columnName)
        + [SummaryColumn.p50Milliseconds, .p99Milliseconds].map(\.name)
        + [Column.lockSamples, .waitingMean, .waitingMax].map(\.rawValue)
        + LockWaitSummary.kinds.map(waitKindColumn)
        + [Column.longestWaitMilliseconds, .longestStatementWaitMilliseconds, .longestChain].map(\.rawValue)

    /// The header of a `timeseries.csv` whose plan counts `counterNames`.
    public static func columns(counterNames: [String]) -> [String] {
        columns + counterNames.map(UnitColumn.rateName)
    }

    public var interval: Int
    public var startSeconds: Double
    public var endSeconds: Double
    public var attempts: Int
    public var committed: Int
    public var rolledBack: Int
    public var endedEarly: Int
    public var failed: Int
    public var unexpectedErrors: Int
    public var retries: Int
    public var errorCounts: [Int]
    /// Units of work done in the interval, by counter index.
    public var units: [Int]
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    /// Lock waits sampled during the interval; `nil` when sampling was off.
    public var lockWaits: LockWaitSummary?

    public init(interval: Int, startSeconds: Double, endSeconds: Double, stats: IntervalStats) {
        self.interval = interval
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        attempts = stats.attempts
        committed = stats.committed
        rolledBack = stats.rolledBack
        endedEarly = stats.endedEarly
        failed = stats.failed
        unexpectedErrors = stats.unexpectedErrors
        retries = stats.retries
        errorCounts = stats.errorCounts
        units = stats.units
        let latency = HistogramStatistics(stats.latency)
        let hasLatency = latency.totalCount > 0
        p50Milliseconds = hasLatency ? Double(latency.valueAtPercentile(50)) / 1_000 : 0
        p99Milliseconds = hasLatency ? Double(latency.valueAtPercentile(99)) / 1_000 : 0
    }

    public var tps: Double {
        let length = endSeconds - startSeconds
        return length > 0 ? Double(committed) / length : 0
    }

    public func count(_ errorClass: ErrorClass) -> Int { errorCounts[errorClass.rawValue] }

    /// Units of counter `index` per second of the interval.
    public func unitsPerSecond(_ index: Int) -> Double {
        let length = endSeconds - startSeconds
        let done = index < units.count ? units[index] : 0
        return length > 0 ? Double(done) / length : 0
    }

    /// The fixed columns' values (`columns`).
    public var values: [String] { values(counters: 0) }

    /// The values of a row under `columns(counterNames:)` with `counters` counters.
    public func values(counters: Int) -> [String] {
        var values = [
            String(interval), Format.fixed(startSeconds, digits: 3), Format.fixed(endSeconds, digits: 3), Format.fixed(tps, digits: 2),
            String(attempts), String(committed), String(rolledBack), String(endedEarly), String(failed), String(unexpectedErrors), String(retries),
        ] + ErrorClass.allCases.map { String(count($0)) } + [Format.fixed(p50Milliseconds, digits: 3), Format.fixed(p99Milliseconds, digits: 3)]
        if let waits = lockWaits {
            values += [String(waits.samples), Format.fixed(waits.waitingMean, digits: 2), String(waits.waitingMax)]
            values += waits.byKindMax.map(String.init)
            values += [Format.fixed(waits.longestWaitMilliseconds, digits: 1), Format.fixed(waits.longestStatementWaitMilliseconds, digits: 1), String(waits.longestChain)]
        } else {
            values += Array(repeating: "", count: 6 + LockWaitSummary.kinds.count)
        }
        values += (0..<counters).map { Format.fixed(unitsPerSecond($0), digits: UnitColumn.rateDigits) }
        return values
    }
}

/// The latency distribution of one transaction type as `latency.csv` rows.
///
/// Version 1 of the schema: `transaction, percentile, latency_ms, count`,
/// where `count` is how many committed transactions took at most
/// `latency_ms`; percentile 100 is the maximum.
public enum LatencySpectrum {
    public enum Column: String, CaseIterable, Sendable {
        case transaction, percentile
        case latencyMilliseconds = "latency_ms"
        case count
    }

    public static let columns = Column.allCases.map(\.rawValue)

    /// The percentiles listed for every transaction type.
    public static let percentiles: [Double] = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 99.99, 100]

    public static func rows(transaction: String, stats: TransactionStats) -> [[String]] {
        rows(transaction: transaction, statistics: HistogramStatistics(stats.latency))
    }

    /// The rows from statistics already taken (`SummaryRow.latency`).
    public static func rows(transaction: String, statistics: HistogramStatistics) -> [[String]] {
        guard statistics.totalCount > 0 else { return [] }
        return percentiles.map { percentile in
            let micros: UInt64 = switch percentile {
            case 0: statistics.min
            case 100: statistics.max
            default: statistics.valueAtPercentile(percentile)
            }
            // The values recorded in the buckets up to the one holding `micros`.
            let count = statistics.countAtOrBelow(micros)
            return [transaction, Format.fixed(percentile, digits: 2), Format.fixed(Double(micros) / 1_000, digits: 3), String(count)]
        }
    }
}

/// `errors.csv`: one row per SQLSTATE seen.
///
/// Version 1 of the schema: `sqlstate, class, count, sample_message, sample_detail`,
/// most frequent first. The counts add up to the summary's `failed` total.
public enum ErrorTable {
    public enum Column: String, CaseIterable, Sendable {
        case sqlState = "sqlstate"
        case errorClass = "class"
        case count
        case sampleMessage = "sample_message"
        case sampleDetail = "sample_detail"
    }

    public static let columns = Column.allCases.map(\.rawValue)

    public static func rows(_ summary: RunSummary) -> [[String]] {
        summary.errorsByFrequency.map { [$0.sqlState, $0.errorClass.columnName, String($0.count), $0.sampleMessage, $0.sampleDetail ?? ""] }
    }
}
