import Histogram

/// Counters and the latency histogram of one transaction type.
///
/// Counting rules (the only place they are defined):
/// - An *attempt* is one BEGIN … COMMIT/ROLLBACK. `attempts = committed + failed`.
/// - `committed` counts attempts that committed; each is one finished transaction.
/// - `failed` counts attempts that ended in an error, whatever happened next;
///   `errorCounts` splits them by `ErrorClass`, so the classes sum to `failed`.
/// - `retries` counts failed attempts that were tried again (a transaction
///   retried twice adds 2). Transactions that finally failed = `failed − retries`.
/// - `latency` holds one value per committed transaction, in microseconds,
///   from the start of its first attempt to its COMMIT returning: retries,
///   backoff and in-transaction pauses included.
public struct TransactionStats: Sendable {
    public var attempts = 0
    public var committed = 0
    public var failed = 0
    public var retries = 0
    public var errorCounts = [Int](repeating: 0, count: ErrorClass.allCases.count)
    public var latency: Histogram<UInt64>

    /// Microseconds; values above an hour are clamped to it.
    public static let highestTrackableMicroseconds: UInt64 = 3_600_000_000

    public init() {
        latency = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackableMicroseconds, numberOfSignificantValueDigits: .three)
    }

    public func count(_ errorClass: ErrorClass) -> Int { errorCounts[errorClass.rawValue] }

    /// Transactions that ended in failure after their last attempt.
    public var abandoned: Int { failed - retries }

    mutating func recordCommit(latencyNanoseconds: UInt64) {
        attempts += 1
        committed += 1
        let micros = min(max(latencyNanoseconds / 1_000, 1), Self.highestTrackableMicroseconds)
        _ = latency.record(micros)
    }

    mutating func recordFailure(_ errorClass: ErrorClass) {
        attempts += 1
        failed += 1
        errorCounts[errorClass.rawValue] += 1
    }

    /// Adds another worker's figures (histograms merge without loss).
    public mutating func add(_ other: TransactionStats) {
        attempts += other.attempts
        committed += other.committed
        failed += other.failed
        retries += other.retries
        for index in errorCounts.indices { errorCounts[index] += other.errorCounts[index] }
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

    /// A committed transaction of type `transaction`.
    mutating func recordCommit(transaction: Int, latencyNanoseconds: UInt64) {
        transactions[transaction].recordCommit(latencyNanoseconds: latencyNanoseconds)
        interval.attempts += 1
        interval.committed += 1
        _ = interval.latency.record(min(max(latencyNanoseconds / 1_000, 1), TransactionStats.highestTrackableMicroseconds))
    }

    /// A failed attempt of type `transaction`.
    mutating func recordFailure(transaction: Int, _ failure: StatementFailure) {
        let errorClass = failure.errorClass
        transactions[transaction].recordFailure(errorClass)
        interval.attempts += 1
        interval.failed += 1
        interval.errorCounts[errorClass.rawValue] += 1
        recordError(failure)
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

    mutating func recordError(_ failure: StatementFailure) {
        let key = failure.sqlState?.code ?? "-----"
        if errors[key] != nil {
            errors[key]?.count += 1
        } else {
            errors[key] = ErrorRecord(sqlState: key, errorClass: failure.errorClass, count: 1, sampleMessage: failure.message, sampleDetail: failure.detail)
        }
    }

    public mutating func merge(_ other: RunStats) {
        for index in transactions.indices where index < other.transactions.count {
            transactions[index].add(other.transactions[index])
        }
        for (key, record) in other.errors {
            if errors[key] != nil { errors[key]?.count += record.count } else { errors[key] = record }
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
