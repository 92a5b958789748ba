/// A failed statement as the client state machine sees it.
public struct StatementFailure: Sendable, Hashable {
    public var sqlState: SQLState?
    public var message: String
    public var detail: String?
    /// Whether the connection is gone (no ROLLBACK can be sent).
    public var connectionLost: Bool

    public init(sqlState: SQLState?, message: String, detail: String? = nil, connectionLost: Bool = false) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.connectionLost = connectionLost
    }

    public var errorClass: ErrorClass { connectionLost ? .connection : ErrorClass.classify(sqlState) }
}

/// One client's life as a pure state machine: the engine feeds it events
/// (a statement finished, failed, or a timer fired) with the current
/// monotonic time, and performs the action it returns. It does no I/O.
///
/// States:
/// - `idle`: between transactions; `start` begins the next one or stops.
/// - `beginning` → `setting(i)` → `running(i)` / `pausing(i)` → `committing`:
///   the statements of one attempt, in order.
/// - `rollingBack`: after any error inside an attempt.
/// - `backingOff`: waiting before a retry.
/// - `stopped`: the client is done (limit reached, stop requested, connection lost).
public struct ClientMachine: Sendable {
    /// What the engine must do next.
    public enum Action: Sendable, Hashable {
        /// Send this statement and report its completion or failure.
        case send(sql: String, parameters: [String?])
        /// Report `timerFired` at this monotonic time (nanoseconds).
        case sleep(until: UInt64)
        /// The client is finished; close its connection.
        case stop
        /// The connection broke: open a new one, then report `reconnected`.
        case reconnect
    }

    enum Phase: Sendable, Hashable {
        case idle
        case beginning
        case setting(Int)
        case running(Int)
        case pausing(Int)
        case committing
        case rollingBack
        case backingOff
        /// Waiting for the next scheduled start (`-R`).
        case waitingForSchedule
        /// The connection broke; waiting for the engine to reconnect.
        case disconnected
        case stopped
    }

    public let plan: RunPlan
    public let clientIndex: Int
    private var random: RandomSource
    private let transactionLimit: Int?
    private var startedTransactions = 0
    private var stopRequested = false
    private(set) var phase: Phase = .idle

    /// The transaction in flight (index into `plan.transactions`).
    public private(set) var currentTransaction = 0
    /// Values of the current transaction's variables, by slot.
    public private(set) var variables: [Value] = []
    private var variableTexts: [String?] = []
    private var attempt = 0
    private var transactionStart: UInt64 = 0
    private var lastFailure: StatementFailure?
    /// Open-loop arrivals (`-R`), their origin, and the start due next.
    private var schedule: ArrivalSchedule?
    private var scheduleOrigin: UInt64?
    private var dueStart: UInt64?
    /// Starts later than this (nanoseconds) are skipped (`-L`).
    private let lateLimit: UInt64?
    /// The transaction in flight began during warmup: its outcome is not counted.
    private var discardCurrent = false
    /// During warmup `-t` does not apply: the client runs until measurement starts.
    private var warmingUp = false

    /// - Parameters:
    ///   - seed: the run's seed; with `clientIndex` it fixes every draw.
    ///   - transactionLimit: transactions this client runs (`-t`), or `nil` to run until stopped.
    ///   - schedule: arrival times for open-loop load (`-R`), or `nil` for a closed loop.
    ///   - lateLimit: with a schedule, skip starts already later than this (`-L`), in nanoseconds.
    public init(plan: RunPlan, clientIndex: Int, seed: UInt64, transactionLimit: Int? = nil, schedule: ArrivalSchedule? = nil, lateLimit: UInt64? = nil) {
        self.plan = plan
        self.clientIndex = clientIndex
        self.random = RandomSource(seed: seed, stream: clientIndex)
        self.transactionLimit = transactionLimit
        self.schedule = schedule
        self.lateLimit = lateLimit
    }

    /// The random stream of client `index`'s arrival schedule: separate from
    /// its draws, so `-R` does not change the parameters a seed produces.
    public static func scheduleRandom(seed: UInt64, clientIndex: Int) -> RandomSource {
        RandomSource(seed: seed ^ 0x5CED_0A11_7E57_0001, stream: clientIndex)
    }

    public var isStopped: Bool { phase == .stopped }

    /// Whether a transaction is open on the server (a cancel may be needed).
    public var isInTransaction: Bool {
        switch phase {
        case .idle, .backingOff, .waitingForSchedule, .disconnected, .stopped: false
        default: true
        }
    }

    /// Warmup is over: from now on everything counts. A transaction in
    /// flight began during warmup, so its outcome is discarded, and `-t`
    /// counts from here.
    public mutating func beginMeasurement() {
        warmingUp = false
        startedTransactions = 0
        discardCurrent = isInTransaction || phase == .backingOff
    }

    /// The step index in flight, when running a step.
    public var currentStep: Int? {
        switch phase {
        case .running(let index), .pausing(let index): index
        default: nil
        }
    }

    /// Asks the client to finish its current transaction and then stop.
    public mutating func requestStop() {
        stopRequested = true
    }

    /// The engine canceled the statement in flight because the run ended: the
    /// attempt's outcome is not the workload's doing and is not counted.
    public mutating func discardInFlight() {
        if isInTransaction { discardCurrent = true }
    }

    /// Whether the transaction in flight is one whose outcome is not counted (warmup).
    public var isDiscarding: Bool { discardCurrent }

    /// Load that does not count comes first (`--warmup`): outcomes are not
    /// recorded and `-t` does not apply until `beginMeasurement`.
    public mutating func beginWarmup() {
        warmingUp = true
    }

    /// Begins the next transaction, or stops when the client is done.
    public mutating func start(now: UInt64, stats: inout RunStats) -> Action {
        discardCurrent = warmingUp
        if stopRequested || (!warmingUp && transactionLimit.map { startedTransactions >= $0 } ?? false) {
            // Arrivals the run ended before: scheduled, never started.
            let unstarted = (schedule?.remaining ?? 0) + (dueStart != nil ? 1 : 0)
            stats.schedule.scheduled += unstarted
            stats.schedule.unstarted += unstarted
            schedule = nil
            dueStart = nil
            phase = .stopped
            return .stop
        }
        var scheduledStart = now
        if schedule != nil {
            let origin = scheduleOrigin ?? now
            scheduleOrigin = origin
            while true {
                if dueStart == nil {
                    guard let offset = schedule?.next() else {
                        phase = .stopped
                        return .stop
                    }
                    dueStart = origin &+ offset
                }
                guard let due = dueStart else { break }
                if due > now {
                    phase = .waitingForSchedule
                    return .sleep(until: due)
                }
                dueStart = nil
                stats.schedule.scheduled += 1
                if let lateLimit, now - due > lateLimit {
                    stats.schedule.skipped += 1
                    continue
                }
                stats.schedule.recordLag(nanoseconds: now - due)
                scheduledStart = due
                break
            }
        }
        startedTransactions += 1
        currentTransaction = plan.chooseTransaction(&random)
        // Under -R latency runs from the scheduled start: a stalled server
        // cannot hide its stalls (no coordinated omission).
        transactionStart = scheduledStart
        attempt = 1
        drawVariables()
        return begin()
    }

    /// The statement in flight completed successfully.
    public mutating func statementSucceeded(now: UInt64, stats: inout RunStats) -> Action {
        switch phase {
        case .beginning:
            return afterBegin(now: now)
        case .setting(let index):
            return nextSetting(after: index, now: now)
        case .running(let index):
            return runStep(index + 1, now: now)
        case .committing:
            if !discardCurrent { stats.recordCommit(transaction: currentTransaction, latencyNanoseconds: now &- transactionStart) }
            phase = .idle
            return start(now: now, stats: &stats)
        case .rollingBack:
            return afterRollback(now: now, stats: &stats)
        case .idle, .pausing, .backingOff, .waitingForSchedule, .disconnected, .stopped:
            preconditionFailure("statementSucceeded in phase \(phase): the engine reported a statement the client did not send")
        }
    }

    /// The statement in flight failed.
    public mutating func statementFailed(_ failure: StatementFailure, now: UInt64, stats: inout RunStats) -> Action {
        switch phase {
        case .beginning, .setting, .running, .committing:
            if !discardCurrent { stats.recordFailure(transaction: currentTransaction, failure) }
            lastFailure = failure
            if failure.connectionLost {
                phase = .disconnected
                return .reconnect
            }
            phase = .rollingBack
            return .send(sql: "ROLLBACK", parameters: [])
        case .rollingBack:
            // ROLLBACK itself failed: the connection is unusable.
            phase = .disconnected
            return .reconnect
        case .idle, .pausing, .backingOff, .waitingForSchedule, .disconnected, .stopped:
            preconditionFailure("statementFailed in phase \(phase): the engine reported a statement the client did not send")
        }
    }

    /// The timer asked for by `.sleep` expired.
    public mutating func timerFired(now: UInt64, stats: inout RunStats) -> Action {
        switch phase {
        case .pausing(let index):
            return runStep(index + 1, now: now)
        case .waitingForSchedule:
            phase = .idle
            return start(now: now, stats: &stats)
        case .backingOff:
            if stopRequested {
                phase = .stopped
                return .stop
            }
            // Counted here, when the retry really begins (a stop during the
            // backoff ends the transaction without one).
            if !discardCurrent { stats.recordRetry(transaction: currentTransaction) }
            attempt += 1
            if plan.transactions[currentTransaction].retry?.redraw == true { drawVariables() }
            return begin()
        default:
            preconditionFailure("timerFired in phase \(phase): no timer was requested")
        }
    }

    /// A new connection replaces the broken one: carry on with the next
    /// transaction (the broken one was counted as a connection error).
    public mutating func reconnected(now: UInt64, stats: inout RunStats) -> Action {
        precondition(phase == .disconnected, "reconnected in phase \(phase): the client did not ask to reconnect")
        phase = .idle
        return start(now: now, stats: &stats)
    }

    /// Reconnecting failed for good (or the run is ending): the client is done.
    public mutating func abandon() {
        phase = .stopped
    }

    // MARK: Transitions

    private mutating func begin() -> Action {
        phase = .beginning
        return .send(sql: plan.transactions[currentTransaction].begin, parameters: [])
    }

    private mutating func afterBegin(now: UInt64) -> Action {
        if plan.transactions[currentTransaction].settings.isEmpty { return runStep(0, now: now) }
        return nextSetting(after: -1, now: now)
    }

    private mutating func nextSetting(after index: Int, now: UInt64) -> Action {
        let settings = plan.transactions[currentTransaction].settings
        let next = index + 1
        guard next < settings.count else { return runStep(0, now: now) }
        phase = .setting(next)
        return .send(sql: settings[next].sql, parameters: settings[next].parameters)
    }

    private mutating func runStep(_ index: Int, now: UInt64) -> Action {
        let steps = plan.transactions[currentTransaction].steps
        guard index < steps.count else {
            phase = .committing
            return .send(sql: "COMMIT", parameters: [])
        }
        switch steps[index] {
        case .sql(let sql, let sources):
            phase = .running(index)
            var parameters: [String?] = []
            parameters.reserveCapacity(sources.count)
            for source in sources {
                switch source {
                case .constant(let text): parameters.append(text)
                case .variable(let slot): parameters.append(variableTexts[slot])
                case .clientID: parameters.append(String(clientIndex))
                }
            }
            return .send(sql: sql, parameters: parameters)
        case .pause(let distribution):
            phase = .pausing(index)
            let nanoseconds = max(distribution.draw(&random).integer ?? 0, 0)
            return .sleep(until: now &+ UInt64(nanoseconds))
        }
    }

    private mutating func afterRollback(now: UInt64, stats: inout RunStats) -> Action {
        let transaction = plan.transactions[currentTransaction]
        if let failure = lastFailure, let retry = transaction.retry, !stopRequested,
           let state = failure.sqlState, retry.on.contains(state), attempt < retry.maxAttempts {
            phase = .backingOff
            let delay = retry.backoff.delay(retry: attempt, random: &random)
            return .sleep(until: now &+ UInt64(max(delay, 0)))
        }
        phase = .idle
        return start(now: now, stats: &stats)
    }

    private mutating func drawVariables() {
        let draws = plan.transactions[currentTransaction].draws
        let count = plan.transactions[currentTransaction].variableNames.count
        if variables.count != count {
            variables = Array(repeating: .null, count: count)
            variableTexts = Array(repeating: nil, count: count)
        }
        for draw in draws {
            var value = draw.distribution.draw(&random)
            // Redraw until distinct; the validator guarantees enough values exist.
            var tries = 0
            while !draw.distinctFrom.isEmpty, draw.distinctFrom.contains(where: { variables[$0] == value }), tries < 10_000 {
                value = draw.distribution.draw(&random)
                tries += 1
            }
            variables[draw.slot] = value
            variableTexts[draw.slot] = value.bindText
        }
    }
}
