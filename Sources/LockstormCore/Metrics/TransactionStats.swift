import Histogram

/// Counters and the latency histogram of one transaction type.
///
/// Counting rules (the only place they are defined):
/// - An *attempt* is one BEGIN … COMMIT/ROLLBACK. Each ends in exactly one
///   outcome: `attempts = committed + rolledBack + endedEarly + failed`.
/// - `committed` counts attempts that committed having run their steps; each
///   is one finished transaction, whether it committed inside the measurement
///   window or in the grace period after it (`graceCommitted` of them).
///   Every COMMIT that reaches the server is counted: an attempt lockstorm
///   cancels when the run ends is rolled back, never carried on to COMMIT.
/// - `rolledBack` counts attempts the workload rolled back on purpose
///   (`rollback_if`, `on_empty: rollback`): a business outcome, not a failure.
/// - `endedEarly` counts attempts that committed with steps left unrun
///   (`on_empty: skip|stop`, `skip_if`, `stop_if`): nothing more to do, not work.
/// - `failed` counts attempts that ended in an error, whatever happened next;
///   `errorCounts` splits them by `ErrorClass`, so the classes sum to `failed`.
///   `unexpectedErrors` of them are errors the workload did not declare
///   (`expect:`, `retry.on`) outside the concurrency and connection classes:
///   a broken workload; the rest (`expectedErrors`) are measurements.
/// - `retries` counts failed attempts that were tried again (a transaction
///   retried twice adds 2). `failed − retries` attempts were not retried:
///   their error's action was to roll back, they used their last attempt
///   (`exhaustedRetries` of them: transactions that gave up), or the run
///   ended first.
/// - `latency` holds one value per committed transaction, in microseconds,
///   from the start of its first attempt to its COMMIT returning: retries,
///   backoff and in-transaction pauses included.
/// - `units[c]` adds up the rows counted by `count:` steps (counter `c` of
///   `RunPlan.counterNames`) in attempts that committed (`committed` or
///   `endedEarly`), or at once for autocommit steps.
public struct TransactionStats: Sendable {
    public var attempts = 0
    public var committed = 0
    public var failed = 0
    public var rolledBack = 0
    public var endedEarly = 0
    /// Failed attempts whose error the workload did not declare (see above).
    public var unexpectedErrors = 0
    /// Committed attempts whose COMMIT returned after the run's window closed.
    public var graceCommitted = 0
    public var retries = 0
    /// Failed attempts whose error was retryable but that were the
    /// transaction's last (`retry.max_attempts`): transactions that gave up.
    public var exhaustedRetries = 0
    public var errorCounts = [Int](repeating: 0, count: ErrorClass.allCases.count)
    /// Units of work by counter index (grows to the highest counter used).
    public var units: [Int] = []
    public var latency: Histogram<UInt64>

    /// Microseconds; values above an hour are clamped to it.
    public static let highestTrackableMicroseconds: UInt64 = 3_600_000_000

    public init() {
        latency = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackableMicroseconds, numberOfSignificantValueDigits: .three)
    }

    public func count(_ errorClass: ErrorClass) -> Int { errorCounts[errorClass.rawValue] }

    /// Failed attempts that were not tried again.
    public var abandoned: Int { failed - retries }

    /// Failed attempts whose error was declared or is a concurrency or connection outcome.
    public var expectedErrors: Int { failed - unexpectedErrors }

    /// Counter `index`'s total (0 when never counted).
    public func units(_ index: Int) -> Int { index < units.count ? units[index] : 0 }

    mutating func addUnits(_ counts: [Int]) {
        if units.count < counts.count { units += Array(repeating: 0, count: counts.count - units.count) }
        for index in counts.indices { units[index] += counts[index] }
    }

    mutating func recordCommit(latencyNanoseconds: UInt64, grace: Bool = false) {
        attempts += 1
        committed += 1
        if grace { graceCommitted += 1 }
        let micros = min(max(latencyNanoseconds / 1_000, 1), Self.highestTrackableMicroseconds)
        _ = latency.record(micros)
    }

    mutating func recordFailure(_ errorClass: ErrorClass, unexpected: Bool = false) {
        attempts += 1
        failed += 1
        if unexpected { unexpectedErrors += 1 }
        errorCounts[errorClass.rawValue] += 1
    }

    /// Adds another worker's figures (histograms merge without loss).
    public mutating func add(_ other: TransactionStats) {
        attempts += other.attempts
        committed += other.committed
        failed += other.failed
        rolledBack += other.rolledBack
        endedEarly += other.endedEarly
        unexpectedErrors += other.unexpectedErrors
        graceCommitted += other.graceCommitted
        retries += other.retries
        exhaustedRetries += other.exhaustedRetries
        for index in errorCounts.indices { errorCounts[index] += other.errorCounts[index] }
        addUnits(other.units)
        latency.add(other.latency)
    }
}

/// One SQLSTATE seen during a run: how often, and one message as a sample.
public struct ErrorRecord: Sendable, Hashable {
    public var sqlState: String
    public var errorClass: ErrorClass
    public var count: Int
    public var sampleMessage: String
    public var sampleDetail: String?
    /// How many of `count` the workload did not declare (see the counting rules).
    public var unexpected = 0
    /// Where the sample happened: transaction index and step index (nil: BEGIN, a setting or COMMIT).
    public var sampleTransaction: Int?
    public var sampleStep: Int?

    public init(sqlState: String, errorClass: ErrorClass, count: Int, sampleMessage: String, sampleDetail: String? = nil) {
        self.sqlState = sqlState
        self.errorClass = errorClass
        self.count = count
        self.sampleMessage = sampleMessage
        self.sampleDetail = sampleDetail
    }
}

/// Everything one worker measured; workers merge theirs at the end, so the
/// hot path takes no locks.
public struct RunStats: Sendable {
    /// Indexed like `RunPlan.transactions`.
    public var transactions: [TransactionStats]
    /// Keyed by SQLSTATE (`-----` when there was none).
    public var errors: [String: ErrorRecord] = [:]
    /// Open-loop (`-R`) schedule figures.
    public var schedule = ScheduleStats()
    /// Deadlock cycles by signature text.
    public var cycles: [String: CycleRecord] = [:]
    /// The current interval's figures (all transaction types); the engine
    /// hands them to the time series and resets them at each boundary.
    public var interval = IntervalStats()

    public init(transactionCount: Int) {
        transactions = Array(repeating: TransactionStats(), count: transactionCount)
    }

    /// A committed transaction of type `transaction`; `grace`: its COMMIT
    /// returned after the run's window closed.
    mutating func recordCommit(transaction: Int, latencyNanoseconds: UInt64, grace: Bool = false) {
        transactions[transaction].recordCommit(latencyNanoseconds: latencyNanoseconds, grace: grace)
        interval.attempts += 1
        interval.committed += 1
        _ = interval.latency.record(min(max(latencyNanoseconds / 1_000, 1), TransactionStats.highestTrackableMicroseconds))
    }

    /// An attempt of type `transaction` the workload rolled back on purpose.
    mutating func recordRolledBack(transaction: Int) {
        transactions[transaction].attempts += 1
        transactions[transaction].rolledBack += 1
        interval.attempts += 1
        interval.rolledBack += 1
    }

    /// An attempt of type `transaction` that committed with steps left unrun.
    mutating func recordEndedEarly(transaction: Int) {
        transactions[transaction].attempts += 1
        transactions[transaction].endedEarly += 1
        interval.attempts += 1
        interval.endedEarly += 1
    }

    /// Units of work done by a committed attempt of type `transaction`, by counter.
    mutating func recordUnits(transaction: Int, _ counts: [Int]) {
        transactions[transaction].addUnits(counts)
        interval.addUnits(counts)
    }

    /// A failed attempt of type `transaction`; `unexpected`: an error the
    /// workload did not declare (see the counting rules).
    mutating func recordFailure(transaction: Int, _ failure: StatementFailure, unexpected: Bool = false, step: Int? = nil) {
        let errorClass = failure.errorClass
        transactions[transaction].recordFailure(errorClass, unexpected: unexpected)
        interval.attempts += 1
        interval.failed += 1
        if unexpected { interval.unexpectedErrors += 1 }
        interval.errorCounts[errorClass.rawValue] += 1
        recordError(failure, unexpected: unexpected, transaction: transaction, step: step)
    }

    /// A failed attempt of type `transaction` is being retried.
    mutating func recordRetry(transaction: Int) {
        transactions[transaction].retries += 1
        interval.retries += 1
    }

    /// Failed attempts of all transaction types in `errorClass` (the
    /// `total` row's count, without merging the latency histograms).
    public func count(_ errorClass: ErrorClass) -> Int {
        transactions.reduce(0) { $0 + $1.count(errorClass) }
    }

    /// All transaction types together.
    public var total: TransactionStats {
        var total = TransactionStats()
        for stats in transactions { total.add(stats) }
        return total
    }

    mutating func recordError(_ failure: StatementFailure, unexpected: Bool = false, transaction: Int? = nil, step: Int? = nil) {
        let key = failure.sqlState?.code ?? "-----"
        if errors[key] != nil {
            errors[key]?.count += 1
            if unexpected { errors[key]?.unexpected += 1 }
        } else {
            var record = ErrorRecord(sqlState: key, errorClass: failure.errorClass, count: 1, sampleMessage: failure.message, sampleDetail: failure.detail)
            record.unexpected = unexpected ? 1 : 0
            record.sampleStep = step
            record.sampleTransaction = transaction
            errors[key] = record
        }
    }

    public mutating func merge(_ other: RunStats) {
        for index in transactions.indices where index < other.transactions.count {
            transactions[index].add(other.transactions[index])
        }
        for (key, record) in other.errors {
            if errors[key] != nil {
                errors[key]?.count += record.count
                errors[key]?.unexpected += record.unexpected
            } else {
                errors[key] = record
            }
        }
        schedule.add(other.schedule)
        for (_, record) in other.cycles { recordCycle(record) }
    }
}

/// How well the engine kept to the `-R` schedule.
///
/// `scheduled = started + skipped + unstarted`: every arrival of the
/// schedule, whether it started, was skipped as too late (`-L`), or was
/// still waiting when the run ended. `lag` holds how late each started
/// transaction began, in µs.
public struct ScheduleStats: Sendable {
    public var scheduled = 0
    public var skipped = 0
    public var unstarted = 0
    public var lag: Histogram<UInt64>

    public init() {
        lag = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: .two)
    }

    mutating func recordLag(nanoseconds: UInt64) {
        _ = lag.record(min(max(nanoseconds / 1_000, 1), TransactionStats.highestTrackableMicroseconds))
    }

    public mutating func add(_ other: ScheduleStats) {
        scheduled += other.scheduled
        skipped += other.skipped
        unstarted += other.unstarted
        lag.add(other.lag)
    }
}

extension RunStats {
    /// How many first attempts of a transaction must all fail unexpectedly
    /// before the run is stopped as broken.
    public static let brokenAttempts = 5

    /// Why the workload looks broken, if it does: a transaction whose first
    /// `brokenAttempts` or more attempts all failed with errors the workload
    /// did not declare (a missing table, a syntax error, a privilege) and
    /// none ended any other way. Names the transaction, the step (numbered
    /// from 1, as everywhere), the SQLSTATE and the server's message.
    public func brokenWorkloadReason(plan: RunPlan) -> String? {
        for (index, stats) in transactions.enumerated()
        where stats.unexpectedErrors >= Self.brokenAttempts && stats.unexpectedErrors == stats.attempts {
            let samples = errors.values.filter { $0.sampleTransaction == index && $0.unexpected > 0 }
            guard let sample = samples.max(by: { ($0.unexpected, $1.sqlState) < ($1.unexpected, $0.sqlState) }) else { continue }
            return "transaction '\(plan.transactions[index].name)' \(Self.place(sample.sampleStep)) failed with \(SQLState(sample.sqlState).described) "
                + "in each of its first \(stats.attempts) attempts: \(sample.sampleMessage)"
        }
        return nil
    }

    /// "step 2", or "BEGIN, a setting or COMMIT" for errors outside the steps.
    public static func place(_ step: Int?) -> String {
        step.map { "step \($0 + 1)" } ?? "BEGIN, a setting or COMMIT"
    }
}
