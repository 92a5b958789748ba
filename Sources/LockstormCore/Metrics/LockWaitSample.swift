/// One look at the run's sessions waiting on locks (from `pg_stat_activity`
/// and `pg_locks`), and the per-interval summary of such looks.
public struct LockWaitSample: Sendable, Hashable {
    /// A waiting session: its PID, the wait event (`tuple`, `transactionid`,
    /// `relation`, `advisory`, …), how long it has waited, and who blocks it.
    public struct Waiter: Sendable, Hashable {
        public var pid: Int32
        public var event: String
        public var waitedMilliseconds: Double
        public var blockers: [Int32]

        public init(pid: Int32, event: String, waitedMilliseconds: Double, blockers: [Int32]) {
            self.pid = pid
            self.event = event
            self.waitedMilliseconds = waitedMilliseconds
            self.blockers = blockers
        }
    }

    public var waiters: [Waiter]

    public init(waiters: [Waiter]) {
        self.waiters = waiters
    }

    public var waiting: Int { waiters.count }

    public var longestWaitMilliseconds: Double { waiters.map(\.waitedMilliseconds).max() ?? 0 }

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
    public var longestWaitMilliseconds = 0.0
    public var longestChain = 0

    public init() {}

    public var waitingMean: Double { samples > 0 ? Double(waitingSum) / Double(samples) : 0 }

    public mutating func add(_ sample: LockWaitSample) {
        samples += 1
        waitingSum += sample.waiting
        waitingMax = max(waitingMax, sample.waiting)
        for (index, count) in sample.byKind.enumerated() { byKindMax[index] = max(byKindMax[index], count) }
        longestWaitMilliseconds = max(longestWaitMilliseconds, sample.longestWaitMilliseconds)
        longestChain = max(longestChain, sample.longestChain)
    }
}
