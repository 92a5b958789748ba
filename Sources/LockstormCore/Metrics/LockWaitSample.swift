/// One look at the run's sessions waiting on locks (from `pg_stat_activity`
/// and `pg_locks`), and the per-interval summary of such looks.
public struct LockWaitSample: Sendable, Hashable {
    /// A waiting session: its PID, the wait event (`tuple`, `transactionid`,
    /// `relation`, `advisory`, …), how long it has waited, and who blocks it.
    public struct Waiter: Sendable, Hashable {
        public var pid: Int32
        public var event: String
        /// How long it has waited for the lock it waits on now
        /// (`pg_locks.waitstart`): restarts each time the statement moves on
        /// to queue behind the next transaction.
        public var waitedMilliseconds: Double
        /// How long its statement has been waiting on locks: since it first
        /// began waiting, across every lock it has queued behind since.
        public var statementWaitedMilliseconds: Double
        public var blockers: [Int32]

        /// `statementWaitedMilliseconds` defaults to the per-lock figure (a
        /// statement seen in its first lock wait).
        public init(pid: Int32, event: String, waitedMilliseconds: Double, statementWaitedMilliseconds: Double? = nil, blockers: [Int32]) {
            self.pid = pid
            self.event = event
            self.waitedMilliseconds = waitedMilliseconds
            self.statementWaitedMilliseconds = max(statementWaitedMilliseconds ?? waitedMilliseconds, waitedMilliseconds)
            self.blockers = blockers
        }
    }

    public var waiters: [Waiter]

    public init(waiters: [Waiter]) {
        self.waiters = waiters
    }

    public var waiting: Int { waiters.count }

    /// The longest wait for one lock (`pg_locks.waitstart`): short when a
    /// statement queues behind one transaction after another.
    public var longestWaitMilliseconds: Double { waiters.map(\.waitedMilliseconds).max() ?? 0 }

    /// The longest a statement has been waiting on locks, across every lock
    /// it queued behind: the figure to call "longest wait".
    public var longestStatementWaitMilliseconds: Double { waiters.map(\.statementWaitedMilliseconds).max() ?? 0 }

    /// Sessions waiting per wait-event kind, in `LockWaitSummary.kinds` order.
    public var byKind: [Int] {
        var counts = [Int](repeating: 0, count: LockWaitSummary.kinds.count)
        for waiter in waiters {
            let index = LockWaitSummary.kinds.firstIndex(of: waiter.event) ?? (LockWaitSummary.kinds.count - 1)
            counts[index] += 1
        }
        return counts
    }

    /// The longest blocking chain: sessions in a row, each waiting for the
    /// next (`A waits for B waits for C` is 3). A session that waits for
    /// nobody we sampled ends a chain; cycles are cut where they close.
    public var longestChain: Int {
        let blockers = Dictionary(waiters.map { ($0.pid, $0.blockers) }, uniquingKeysWith: { first, _ in first })
        var memo: [Int32: Int] = [:]
        func depth(_ pid: Int32, _ path: Set<Int32>) -> Int {
            if let known = memo[pid] { return known }
            guard let next = blockers[pid], !next.isEmpty else { return 1 }
            var best = 1
            for blocker in next where !path.contains(blocker) {
                best = max(best, 1 + depth(blocker, path.union([pid])))
            }
            memo[pid] = best
            return best
        }
        return waiters.map { depth($0.pid, []) }.max() ?? 0
    }
}

/// The lock-wait samples of one interval, summarised for `timeseries.csv`.
public struct LockWaitSummary: Sendable, Hashable {
    /// The wait-event kinds counted separately; anything else is `other`.
    public static let kinds = ["transactionid", "tuple", "relation", "advisory", "other"]

    public var samples = 0
    public var waitingSum = 0
    public var waitingMax = 0
    /// Most sessions seen waiting at once, per kind.
    public var byKindMax = [Int](repeating: 0, count: LockWaitSummary.kinds.count)
    /// The longest single lock wait seen (`pg_locks.waitstart`).
    public var longestWaitMilliseconds = 0.0
    /// The longest a statement was seen waiting on locks, all the locks it
    /// queued behind together: what "longest wait" should report.
    public var longestStatementWaitMilliseconds = 0.0
    public var longestChain = 0

    public init() {}

    public var waitingMean: Double { samples > 0 ? Double(waitingSum) / Double(samples) : 0 }

    public mutating func add(_ sample: LockWaitSample) {
        samples += 1
        waitingSum += sample.waiting
        waitingMax = max(waitingMax, sample.waiting)
        for (index, count) in sample.byKind.enumerated() { byKindMax[index] = max(byKindMax[index], count) }
        longestWaitMilliseconds = max(longestWaitMilliseconds, sample.longestWaitMilliseconds)
        longestStatementWaitMilliseconds = max(longestStatementWaitMilliseconds, sample.longestStatementWaitMilliseconds)
        longestChain = max(longestChain, sample.longestChain)
    }
}

/// Remembers, per waiting session, when its current statement began waiting
/// on locks, so a statement that queues behind one transaction after another
/// is seen to wait the whole time. `pg_locks.waitstart` alone restarts with
/// every lock: a single UPDATE that waited 1.5 s behind a string of short
/// transactions showed as waiting 45 ms.
///
/// A statement is its session's PID and `pg_stat_activity.query_start`. Its
/// waiting began at the earliest `waitstart` seen for it in any sample, so a
/// first lock wait that began and ended between two samples is missed (the
/// figure is then short by at most that wait).
public struct StatementWaitTracker: Sendable {
    private var firstWait: [Int32: (queryStart: Double, waitStart: Double)] = [:]

    public init() {}

    /// Records one sampled waiter and returns how long its statement has
    /// waited, in milliseconds. Times are seconds on the server's clock:
    /// `now`, the statement's `query_start`, and the `waitstart` of the lock
    /// it waits on now (`nil` in the instant before the server sets it).
    public mutating func statementWaited(pid: Int32, queryStart: Double, waitStart: Double?, now: Double) -> Double {
        let current = waitStart ?? now
        var start = current
        if let known = firstWait[pid], known.queryStart == queryStart { start = min(known.waitStart, current) }
        firstWait[pid] = (queryStart, start)
        return max(now - start, 0) * 1000
    }

    /// Sessions tracked (one entry per PID: a new statement replaces the old).
    public var count: Int { firstWait.count }
}
