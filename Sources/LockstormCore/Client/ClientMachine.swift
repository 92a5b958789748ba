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
/// - `thinking`: the think time between two transactions.
/// - `stopped`: the client is done (limit reached, stop requested, a
///   `stop_if`/`on_empty: stop` condition met, connection lost).
///
/// Autocommit transactions skip `BEGIN`, `COMMIT` and `ROLLBACK`: each step
/// commits on its own.
public struct ClientMachine: Sendable {
    /// What the engine must do next.
    public enum Action: Sendable, Hashable {
        /// Send this statement and report its completion or failure.
        case send(sql: String, parameters: StatementParameters)
        /// Report `timerFired` at this monotonic time (nanoseconds).
        case sleep(until: UInt64)
        /// The client is finished; close its connection.
        case stop
        /// The connection broke: open a new one, then report `reconnected`.
        case reconnect
        /// Send these statements in one pipeline (`pipeline: true`): BEGIN,
        /// settings, steps, COMMIT. Report `statementSucceeded` when all
        /// succeeded, or `pipelineFailed` with the first that failed.
        case pipeline([PipelinedStatement])
        /// Send `begin` and then this statement without waiting in between
        /// (one pipeline, one round trip), as pgjdbc and Npgsql do; report
        /// the statement's completion or failure, or `beginFailed` when
        /// BEGIN itself failed. Only with `combineBegin`.
        case beginAndSend(begin: String, sql: String, parameters: StatementParameters)
    }

    /// One statement of a pipelined transaction.
    public struct PipelinedStatement: Sendable, Hashable {
        public var sql: String
        public var parameters: StatementParameters
        /// The step it runs (`nil`: BEGIN, a setting or COMMIT).
        public var step: Int?
        /// Its id in `RunPlan.statementTexts` (-1: none), for `-M prepared`.
        public var statement: Int32 = -1
    }

    enum Phase: Sendable, Hashable {
        case idle
        /// A pipelined transaction (BEGIN … COMMIT) is in flight.
        case pipelining
        case beginning
        case setting(Int)
        case running(Int)
        case pausing(Int)
        case committing
        case rollingBack
        case backingOff
        /// Think time after a transaction.
        case thinking
        /// Waiting for the next scheduled start (`-R`).
        case waitingForSchedule
        /// The connection broke; waiting for the engine to reconnect.
        case disconnected
        case stopped
    }

    // The fields the engine reads for every result come first: Swift lays a
    // struct out in declaration order, and at hundreds of clients a client's
    // state is out of cache by the time its next result comes (perf at 256
    // clients: reading `wantsRow`, ~600 bytes into the engine's per-client
    // state, was a cache miss of its own). The plan, ~200 bytes of references
    // every client shares, comes after them.

    private(set) var phase: Phase = .idle {
        didSet { phaseChanged() }
    }

    /// The transaction in flight (index into `plan.transactions`).
    public private(set) var currentTransaction = 0

    // `wantsRow` and `currentStep` are stored, kept up to date as the phase
    // changes, rather than computed: the engine reads them on every statement,
    // and a computed property of a struct this large, called from another
    // module, first copies the whole struct (a 459-byte memcpy).

    /// Whether the statement in flight captures values: the engine must hand
    /// back its first row in `statementSucceeded`.
    public private(set) var wantsRow = false

    /// The step index in flight, when running a step.
    public private(set) var currentStep: Int?
    /// Whether the transaction in flight sent anything (an autocommit one whose
    /// steps are all skipped by `if` sends nothing).
    private var sentStatement = false
    public let clientIndex: Int
    private var random: RandomSource
    private let transactionLimit: Int?
    private var startedTransactions = 0
    private var stopRequested = false
    /// A `stop_if` or `on_empty: stop` held: the client ends after this transaction.
    private var workDone = false
    /// The transaction this client runs, when it is dedicated to one (`clients: N`).
    private let dedicatedTransaction: Int?
    /// The step that failed, for its `expect` (nil: BEGIN, a setting or COMMIT).
    private var failedStep: Int?
    /// Values of the current transaction's variables, by slot.
    public private(set) var variables: [Value] = []
    /// Their bind texts, shared by the statements sent: written only through
    /// `writableTexts()` and `freshTexts(count:)`.
    private var variableTexts = VariableTexts(count: 0)
    /// Earlier attempts' text boxes, reused once no statement refers to them.
    private var spareTexts: [VariableTexts] = []
    private var nextSpare = 0
    /// Enough for the attempts the session board's 16 statements can span
    /// when each sends three or more (BEGIN, a step, COMMIT).
    private static let spareTextCount = 8
    private var attempt = 0
    private var transactionStart: UInt64 = 0
    /// The transaction in flight began during warmup, or lockstorm canceled
    /// it when the run ended: its outcome is not counted.
    private var discardCurrent = false
    /// The run ended and its grace period is over: the attempt in flight is
    /// rolled back at its next step, never carried on to COMMIT (a COMMIT
    /// already sent is counted if it succeeds).
    private var canceling = false
    /// How the attempt in flight ends when its COMMIT or ROLLBACK succeeds.
    private var attemptEnd = AttemptEnd.commit
    /// Rows counted by `count:` steps in the attempt in flight, by counter;
    /// added to the stats when it commits (empty when the plan counts nothing).
    private var pendingUnits: [Int]
    /// During warmup `-t` does not apply: the client runs until measurement starts.
    private var warmingUp = false
    /// Send BEGIN together with the attempt's first statement (`beginAndSend`)
    /// instead of in a round trip of its own. BEGIN takes no locks and no
    /// snapshot, so this changes no lock's hold time: it saves one round trip
    /// before the first lock is taken.
    private let combineBegin: Bool
    /// Per transaction, what every attempt reads from the plan, taken out once.
    private let prepared: [PreparedTransaction]
    // Read rarely (failures, `-R`).
    private var lastFailure: StatementFailure?
    /// Open-loop arrivals (`-R`), their origin, and the start due next.
    private var schedule: ArrivalSchedule?
    private var scheduleOrigin: UInt64?
    private var dueStart: UInt64?
    /// Starts later than this (nanoseconds) are skipped (`-L`).
    private let lateLimit: UInt64?
    public let plan: RunPlan

    /// Parts of a transaction the machine reads on every attempt, in the form
    /// it needs them.
    private struct PreparedTransaction: Sendable {
        /// Draw i fills slot i for every variable (no captures): drawing
        /// writes every variable text.
        var allDrawn: Bool
        /// The settings' parameters (`StatementParameters([String?])` copies the values).
        var settings: [StatementParameters]
        /// Per step, its SQL and parameter sources (`nil`: a pause). Reading
        /// them from `CompiledStep` copied the step first (an outlined copy
        /// and destroy, ~60 instructions a statement).
        var statements: [Statement?]
    }

    private struct Statement: Sendable {
        var sql: String
        var sources: [ParameterSource]
    }

    /// What the attempt's COMMIT or ROLLBACK stands for.
    private enum AttemptEnd: Sendable {
        /// The steps ran: committed work.
        case commit
        /// A skip or stop left steps unrun: committed, but not work.
        case endedEarly
        /// The workload rolls it back on purpose.
        case rollback
    }

    /// - Parameters:
    ///   - seed: the run's seed; with `clientIndex` it fixes every draw.
    ///   - transactionLimit: transactions this client runs (`-t`), or `nil` to run until stopped.
    ///   - schedule: arrival times for open-loop load (`-R`), or `nil` for a closed loop.
    ///   - lateLimit: with a schedule, skip starts already later than this (`-L`), in nanoseconds.
    ///   - dedicatedTransaction: the only transaction this client runs (`RunPlan.dedicatedTransaction(client:of:)`).
    ///   - combineBegin: send BEGIN with the first statement of each attempt (`beginAndSend`).
    public init(
        plan: RunPlan, clientIndex: Int, seed: UInt64, transactionLimit: Int? = nil, schedule: ArrivalSchedule? = nil, lateLimit: UInt64? = nil,
        dedicatedTransaction: Int? = nil, combineBegin: Bool = false
    ) {
        self.plan = plan
        self.combineBegin = combineBegin
        self.clientIndex = clientIndex
        self.dedicatedTransaction = dedicatedTransaction
        self.random = RandomSource(seed: seed, stream: clientIndex)
        self.transactionLimit = transactionLimit
        self.schedule = schedule
        self.lateLimit = lateLimit
        pendingUnits = Array(repeating: 0, count: plan.counterNames.count)
        prepared = plan.transactions.map { transaction in
            PreparedTransaction(
                allDrawn: transaction.draws.count == transaction.variableNames.count && transaction.draws.indices.allSatisfy { transaction.draws[$0].slot == $0 },
                settings: transaction.settings.map { StatementParameters($0.parameters) },
                statements: transaction.steps.map { step in
                    guard case .sql(let sql, let sources, _) = step else { return nil }
                    return Statement(sql: sql, sources: sources)
                }
            )
        }
    }

    /// The random stream of client `index`'s arrival schedule: separate from
    /// its draws, so `-R` does not change the parameters a seed produces.
    public static func scheduleRandom(seed: UInt64, clientIndex: Int) -> RandomSource {
        RandomSource(seed: seed ^ 0x5CED_0A11_7E57_0001, stream: clientIndex)
    }

    public var isStopped: Bool { phase == .stopped }

    /// The id in `RunPlan.statementTexts` of the statement the last `.send`
    /// carries, or of the statement after BEGIN in `.beginAndSend` (-1: it
    /// has none). Read by an engine that sends prepared statements (`-M
    /// prepared`) only, so the default protocol pays nothing for it; the id
    /// follows from the phase, which `.send` has just set.
    public func statementInFlight() -> Int32 {
        switch phase {
        case .beginning: return plan.transactions[currentTransaction].beginStatement
        case .setting(let index):
            return index < plan.transactions[currentTransaction].settingStatements.count ? plan.transactions[currentTransaction].settingStatements[index] : -1
        case .running(let index):
            return index < plan.transactions[currentTransaction].stepStatements.count ? plan.transactions[currentTransaction].stepStatements[index] : -1
        case .committing: return plan.commitStatement
        case .rollingBack: return plan.rollbackStatement
        default: return -1
        }
    }

    /// Whether a transaction is open on the server (a cancel may be needed).
    public var isInTransaction: Bool {
        switch phase {
        case .idle, .backingOff, .thinking, .waitingForSchedule, .disconnected, .stopped: false
        default: true
        }
    }

    private mutating func phaseChanged() {
        switch phase {
        case .running(let index):
            currentStep = index
            if !isPlain(index), case .sql(_, _, let options) = plan.transactions[currentTransaction].steps[index] {
                wantsRow = options.needsRow
            } else {
                wantsRow = false
            }
        case .pausing(let index):
            currentStep = index
            wantsRow = false
        default:
            currentStep = nil
            wantsRow = false
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

    /// Asks the client to finish its current transaction and then stop.
    public mutating func requestStop() {
        stopRequested = true
    }

    /// The run ended and its grace period is over: the engine cancels the
    /// statement in flight. The attempt is rolled back at its next step (a
    /// cancel that arrives too late does not carry it on to COMMIT); a
    /// COMMIT already in flight that succeeds is counted, as the database
    /// holds its work. The cancel's own 57014 is not counted.
    public mutating func cancelInFlight() {
        if isInTransaction { canceling = true }
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
        canceling = false
        let nothingToRun = dedicatedTransaction == nil && !plan.hasSharedTransactions
        if stopRequested || workDone || nothingToRun || (!warmingUp && transactionLimit.map { startedTransactions >= $0 } ?? false) {
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
        currentTransaction = dedicatedTransaction ?? plan.chooseTransaction(&random)
        // Under -R latency runs from the scheduled start: a stalled server
        // cannot hide its stalls (no coordinated omission).
        transactionStart = scheduledStart
        attempt = 1
        sentStatement = false
        drawVariables()
        return begin(now: now, stats: &stats)
    }

    /// The statement in flight completed successfully; `result` says how
    /// many rows it returned or affected and, when `wantsRow`, the first one.
    public mutating func statementSucceeded(now: UInt64, stats: inout RunStats, result: StepResult = .none) -> Action {
        switch phase {
        case .beginning, .setting, .running:
            if canceling { return rollBackCanceled() }
            switch phase {
            case .beginning: return afterBegin(now: now, stats: &stats)
            case .setting(let index): return nextSetting(after: index, now: now, stats: &stats)
            case .running(let index): return afterStep(index, result: result, now: now, stats: &stats)
            default: preconditionFailure("unreachable")
            }
        case .committing, .pipelining:
            if !discardCurrent { recordCommitted(now: now, stats: &stats) }
            return afterTransaction(now: now, stats: &stats)
        case .rollingBack:
            return afterRollback(now: now, stats: &stats)
        case .idle, .pausing, .backingOff, .thinking, .waitingForSchedule, .disconnected, .stopped:
            preconditionFailure("statementSucceeded in phase \(phase): the engine reported a statement the client did not send")
        }
    }

    /// Statement `statement` of the pipeline in flight failed (the ones
    /// after it were not run): as if it had failed on its own.
    public mutating func pipelineFailed(_ failure: StatementFailure, statement: Int, now: UInt64, stats: inout RunStats) -> Action {
        let settings = plan.transactions[currentTransaction].settings.count
        switch statement {
        case ..<1: phase = .beginning
        case ...settings: phase = .setting(statement - 1)
        case ...(settings + plan.transactions[currentTransaction].steps.count): phase = .running(statement - 1 - settings)
        default: phase = .committing
        }
        return statementFailed(failure, now: now, stats: &stats)
    }

    /// The statement in flight failed.
    public mutating func statementFailed(_ failure: StatementFailure, now: UInt64, stats: inout RunStats) -> Action {
        switch phase {
        case .beginning, .setting, .running, .committing, .pipelining:
            // The cancel lockstorm sent at the end of the run is not the workload's failure.
            if canceling && failure.sqlState == .queryCanceled { discardCurrent = true }
            if !discardCurrent {
                let unexpected = plan.transactions[currentTransaction].isUnexpected(failure, step: currentStep)
                stats.recordFailure(transaction: currentTransaction, failure, unexpected: unexpected, step: currentStep)
            }
            lastFailure = failure
            failedStep = currentStep
            if failure.connectionLost {
                phase = .disconnected
                return .reconnect
            }
            // Under autocommit the failed statement was its own transaction.
            if plan.transactions[currentTransaction].autocommit { return afterRollback(now: now, stats: &stats) }
            phase = .rollingBack
            return .send(sql: "ROLLBACK", parameters: .empty)
        case .rollingBack:
            // ROLLBACK itself failed: the connection is unusable.
            phase = .disconnected
            return .reconnect
        case .idle, .pausing, .backingOff, .thinking, .waitingForSchedule, .disconnected, .stopped:
            preconditionFailure("statementFailed in phase \(phase): the engine reported a statement the client did not send")
        }
    }

    /// BEGIN, sent with the attempt's first statement (`beginAndSend`),
    /// failed: that statement did not run.
    public mutating func beginFailed(_ failure: StatementFailure, now: UInt64, stats: inout RunStats) -> Action {
        phase = .beginning
        return statementFailed(failure, now: now, stats: &stats)
    }

    /// The timer asked for by `.sleep` expired.
    public mutating func timerFired(now: UInt64, stats: inout RunStats) -> Action {
        switch phase {
        case .pausing(let index):
            if canceling { return rollBackCanceled() }
            return runStep(index + 1, now: now, stats: &stats)
        case .waitingForSchedule, .thinking:
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
            return begin(now: now, stats: &stats)
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

    private mutating func begin(now: UInt64, stats: inout RunStats) -> Action {
        resetCaptures()
        failedStep = nil
        attemptEnd = .commit
        for index in pendingUnits.indices { pendingUnits[index] = 0 }
        if plan.transactions[currentTransaction].autocommit { return afterBegin(now: now, stats: &stats) }
        if plan.transactions[currentTransaction].pipeline { return pipelined() }
        phase = .beginning
        sentStatement = true
        let beginSQL = plan.transactions[currentTransaction].begin
        guard combineBegin, statementFollowsBegin() else { return .send(sql: beginSQL, parameters: .empty) }
        // What would follow BEGIN's success is a statement: send the two together.
        guard case .send(let sql, let parameters) = afterBegin(now: now, stats: &stats) else {
            preconditionFailure("statementFollowsBegin promised a statement after BEGIN")
        }
        return .beginAndSend(begin: beginSQL, sql: sql, parameters: parameters)
    }

    /// Whether BEGIN is followed at once by a statement (a setting, the first
    /// step whose `if` holds, or COMMIT) rather than by a pause. Reads the
    /// same state `afterBegin` does and changes nothing (no draw).
    ///
    /// Reads through `plan.transactions[currentTransaction]` each time: a
    /// `let transaction = …` copies the whole transaction (an outlined copy
    /// and destroy, ~650 instructions a transaction).
    private func statementFollowsBegin() -> Bool {
        if !plan.transactions[currentTransaction].settings.isEmpty { return true }
        for index in 0..<plan.transactions[currentTransaction].steps.count {
            guard case .sql = plan.transactions[currentTransaction].steps[index] else { return false }
            if isPlain(index) || conditionHolds(step: index) { return true }
        }
        return true
    }

    private mutating func afterBegin(now: UInt64, stats: inout RunStats) -> Action {
        if plan.transactions[currentTransaction].settings.isEmpty { return runStep(0, now: now, stats: &stats) }
        return nextSetting(after: -1, now: now, stats: &stats)
    }

    private mutating func nextSetting(after index: Int, now: UInt64, stats: inout RunStats) -> Action {
        let next = index + 1
        guard next < plan.transactions[currentTransaction].settings.count else { return runStep(0, now: now, stats: &stats) }
        phase = .setting(next)
        sentStatement = true
        return .send(
            sql: plan.transactions[currentTransaction].settings[next].sql,
            parameters: prepared[currentTransaction].settings[next]
        )
    }

    /// Runs step `index`, or the first one after it whose `if` holds; after
    /// the last, commits.
    private mutating func runStep(_ index: Int, now: UInt64, stats: inout RunStats) -> Action {
        var index = index
        // The steps are read in place (see `statementFollowsBegin`).
        while index < plan.transactions[currentTransaction].steps.count {
            if let statement = prepared[currentTransaction].statements[index] {
                // Only a step that is not plain can have an `if`; binding its options copies them.
                if !isPlain(index), !conditionHolds(step: index) {
                    index += 1
                    continue
                }
                phase = .running(index)
                sentStatement = true
                return .send(sql: statement.sql, parameters: parameters(statement.sources))
            }
            guard case .pause(let distribution) = plan.transactions[currentTransaction].steps[index] else {
                preconditionFailure("a step without a statement is a pause")
            }
            phase = .pausing(index)
            let nanoseconds = max(distribution.draw(&random).integer ?? 0, 0)
            return .sleep(until: now &+ UInt64(nanoseconds))
        }
        return finishAttempt(now: now, stats: &stats)
    }

    /// Whether step `index` has no `if`, or its `if` holds.
    private func conditionHolds(step index: Int) -> Bool {
        guard case .sql(_, _, let options) = plan.transactions[currentTransaction].steps[index], let condition = options.condition else { return true }
        return condition.holds(variables: variables, clientID: clientIndex)
    }

    /// A step's parameters: no array is built, see `StatementParameters`.
    private func parameters(_ sources: [ParameterSource]) -> StatementParameters {
        StatementParameters(sources: sources, variables: variableTexts, clientID: clientIndex)
    }

    /// The whole attempt as one pipeline: BEGIN, settings, steps, COMMIT
    /// (the validator allows no pauses, captures or conditions here).
    private mutating func pipelined() -> Action {
        // Read in place, not through a copy of the transaction (see `statementFollowsBegin`).
        let settingCount = plan.transactions[currentTransaction].settings.count
        let stepCount = plan.transactions[currentTransaction].steps.count
        var statements: [PipelinedStatement] = []
        statements.reserveCapacity(settingCount + stepCount + 2)
        statements.append(PipelinedStatement(
            sql: plan.transactions[currentTransaction].begin, parameters: .empty, step: nil, statement: plan.transactions[currentTransaction].beginStatement
        ))
        let settingIDs = plan.transactions[currentTransaction].settingStatements.count
        let stepIDs = plan.transactions[currentTransaction].stepStatements.count
        for index in 0..<settingCount {
            statements.append(PipelinedStatement(
                sql: plan.transactions[currentTransaction].settings[index].sql,
                parameters: prepared[currentTransaction].settings[index], step: nil,
                statement: index < settingIDs ? plan.transactions[currentTransaction].settingStatements[index] : -1
            ))
        }
        for index in 0..<stepCount {
            // From `prepared`: matching `.sql(let sql, let sources, _)` copied the step's options too (~270 instructions a step).
            if let statement = prepared[currentTransaction].statements[index] {
                statements.append(PipelinedStatement(
                    sql: statement.sql, parameters: parameters(statement.sources), step: index,
                    statement: index < stepIDs ? plan.transactions[currentTransaction].stepStatements[index] : -1
                ))
            }
        }
        statements.append(PipelinedStatement(sql: "COMMIT", parameters: .empty, step: nil, statement: plan.commitStatement))
        phase = .pipelining
        sentStatement = true
        return .pipeline(statements)
    }

    /// Whether step `step` has no captures or conditions. Always inlined: an
    /// outlined call from a mutating method copies the whole machine (459 bytes).
    @inline(__always)
    private func isPlain(_ step: Int) -> Bool {
        step < plan.transactions[currentTransaction].plainSteps.count && plan.transactions[currentTransaction].plainSteps[step]
    }

    /// A step succeeded: capture its row, then act on its conditions.
    private mutating func afterStep(_ index: Int, result: StepResult, now: UInt64, stats: inout RunStats) -> Action {
        if isPlain(index) { return runStep(index + 1, now: now, stats: &stats) }
        guard case .sql(_, _, let options) = plan.transactions[currentTransaction].steps[index] else {
            return runStep(index + 1, now: now, stats: &stats)
        }
        for (column, slot) in options.captureSlots.enumerated() {
            let found = result.rowCount > 0 && column < result.firstRow.count
            variables[slot] = found ? result.firstRow[column] : .null
            writableTexts().texts[slot] = found && column < result.firstRowText.count ? result.firstRowText[column] : nil
        }
        if let counter = options.counter {
            if plan.transactions[currentTransaction].autocommit {
                // The step committed on its own: its work is done now.
                if !discardCurrent { stats.recordUnits(transaction: currentTransaction, unitsFor(counter, result.rowCount)) }
            } else {
                pendingUnits[counter] += result.rowCount
            }
        }
        if result.rowCount == 0 {
            switch options.onEmpty {
            case .continue: break
            case .skip: return finishAttempt(early: stepsRemain(after: index), now: now, stats: &stats)
            case .stop:
                workDone = true
                return finishAttempt(early: stepsRemain(after: index), now: now, stats: &stats)
            case .rollback: return rollBackOnPurpose()
            }
        }
        if let rollbackIf = options.rollbackIf, rollbackIf.holds(variables: variables, clientID: clientIndex) {
            return rollBackOnPurpose()
        }
        if let stopIf = options.stopIf, stopIf.holds(variables: variables, clientID: clientIndex) {
            workDone = true
            return finishAttempt(early: stepsRemain(after: index), now: now, stats: &stats)
        }
        if let skipIf = options.skipIf, skipIf.holds(variables: variables, clientID: clientIndex) {
            return finishAttempt(early: stepsRemain(after: index), now: now, stats: &stats)
        }
        return runStep(index + 1, now: now, stats: &stats)
    }

    /// Whether a statement step follows step `index` (a skip or stop there leaves work unrun).
    private func stepsRemain(after index: Int) -> Bool {
        var next = index + 1
        while next < plan.transactions[currentTransaction].steps.count {
            if case .sql = plan.transactions[currentTransaction].steps[next] { return true }
            next += 1
        }
        return false
    }

    /// `count` rows for counter `counter`, as a units array.
    private func unitsFor(_ counter: Int, _ count: Int) -> [Int] {
        var units = Array(repeating: 0, count: plan.counterNames.count)
        units[counter] = count
        return units
    }

    /// The attempt's steps are done (or skipped, `early`): commit it.
    private mutating func finishAttempt(early: Bool = false, now: UInt64, stats: inout RunStats) -> Action {
        guard plan.transactions[currentTransaction].autocommit else {
            attemptEnd = early ? .endedEarly : .commit
            phase = .committing
            return .send(sql: "COMMIT", parameters: .empty)
        }
        if !discardCurrent {
            if early {
                stats.recordEndedEarly(transaction: currentTransaction)
            } else {
                stats.recordCommit(transaction: currentTransaction, latencyNanoseconds: now &- transactionStart, grace: stopRequested)
            }
        }
        return afterTransaction(now: now, stats: &stats)
    }

    /// COMMIT succeeded: the attempt's outcome, and the work it counted.
    private mutating func recordCommitted(now: UInt64, stats: inout RunStats) {
        switch attemptEnd {
        case .commit: stats.recordCommit(transaction: currentTransaction, latencyNanoseconds: now &- transactionStart, grace: stopRequested)
        case .endedEarly: stats.recordEndedEarly(transaction: currentTransaction)
        case .rollback: preconditionFailure("an attempt rolled back on purpose sent COMMIT")
        }
        if !pendingUnits.isEmpty && pendingUnits.contains(where: { $0 != 0 }) {
            stats.recordUnits(transaction: currentTransaction, pendingUnits)
        }
    }

    /// `rollback_if` held or `on_empty: rollback` met no row: roll back, a
    /// business outcome, never retried.
    private mutating func rollBackOnPurpose() -> Action {
        attemptEnd = .rollback
        phase = .rollingBack
        return .send(sql: "ROLLBACK", parameters: .empty)
    }

    /// The run's grace period is over: roll the attempt back, uncounted.
    private mutating func rollBackCanceled() -> Action {
        discardCurrent = true
        lastFailure = nil
        phase = .rollingBack
        return .send(sql: "ROLLBACK", parameters: .empty)
    }

    /// The transaction is over (committed, or failed for good): think, then
    /// start the next one.
    private mutating func afterTransaction(now: UInt64, stats: inout RunStats) -> Action {
        phase = .idle
        if !stopRequested, !workDone, let think = plan.transactions[currentTransaction].think {
            let nanoseconds = max(think.draw(&random).integer ?? 0, 0)
            if nanoseconds > 0 {
                phase = .thinking
                return .sleep(until: now &+ UInt64(nanoseconds))
            }
        }
        if !sentStatement, !stopRequested {
            // Nothing was sent (every step skipped under autocommit): hand control
            // back to the engine instead of starting the next transaction at once,
            // which would recurse without end.
            phase = .thinking
            return .sleep(until: now)
        }
        return start(now: now, stats: &stats)
    }

    private mutating func afterRollback(now: UInt64, stats: inout RunStats) -> Action {
        if attemptEnd == .rollback {
            attemptEnd = .commit
            if !discardCurrent { stats.recordRolledBack(transaction: currentTransaction) }
            return afterTransaction(now: now, stats: &stats)
        }
        if canceling { return afterTransaction(now: now, stats: &stats) }
        if let failure = lastFailure, !stopRequested, plan.transactions[currentTransaction].action(for: failure.sqlState, step: failedStep) == .retry {
            let policy = plan.transactions[currentTransaction].retry ?? .expectedDefault
            if attempt < policy.maxAttempts {
                phase = .backingOff
                let delay = policy.backoff.delay(retry: attempt, random: &random)
                return .sleep(until: now &+ UInt64(max(delay, 0)))
            }
            // A retryable failure on the last attempt: the transaction gives up.
            if !discardCurrent { stats.transactions[currentTransaction].exhaustedRetries += 1 }
        }
        return afterTransaction(now: now, stats: &stats)
    }

    /// Captured variables start each attempt as NULL.
    private mutating func resetCaptures() {
        guard variables.count > plan.transactions[currentTransaction].draws.count else { return }
        let drawn = Set(plan.transactions[currentTransaction].draws.map(\.slot))
        for slot in variables.indices where !drawn.contains(slot) {
            variables[slot] = .null
            writableTexts().texts[slot] = nil
        }
    }

    /// The variable texts, ready to write: copied first when a statement sent
    /// still refers to them (it must keep showing the values it was sent with).
    private mutating func writableTexts() -> VariableTexts {
        if !isKnownUniquelyReferenced(&variableTexts) { variableTexts = VariableTexts(variableTexts.texts) }
        return variableTexts
    }

    /// Starts a new attempt's texts, all NULL: in the box of an earlier attempt
    /// when no statement refers to it any more, else in a new one. Reusing
    /// spares the allocation (and the metadata lookup of a new `[String?]`:
    /// ~750 instructions an attempt in all).
    ///
    /// With `clearing: false` a reused box keeps its old texts: for the caller
    /// that overwrites every slot (clearing first cost ~100 instructions an
    /// attempt, for three variables).
    private mutating func freshTexts(count: Int, clearing: Bool = true) {
        if spareTexts.count < Self.spareTextCount {
            spareTexts.append(variableTexts)
            variableTexts = VariableTexts(count: count)
            return
        }
        swap(&variableTexts, &spareTexts[nextSpare])
        nextSpare = (nextSpare + 1) % Self.spareTextCount
        if isKnownUniquelyReferenced(&variableTexts), variableTexts.texts.count == count {
            if clearing {
                for slot in 0..<count { variableTexts.texts[slot] = nil }
            }
        } else {
            variableTexts = VariableTexts(count: count)
        }
    }

    /// Draws the transaction's variables and their bind texts. The draws are
    /// read in place by index: `for draw in draws` copied each one (its
    /// distribution and `distinctFrom` retained and released). The generator
    /// is a local while drawing: drawing into `self.random` from a
    /// distribution read in `self.plan` made the compiler copy the
    /// distribution first (~120 instructions a draw).
    private mutating func drawVariables() {
        let count = plan.transactions[currentTransaction].variableNames.count
        if variables.count != count { variables = Array(repeating: .null, count: count) }
        // When every variable is drawn, every text is written below: none need clearing.
        freshTexts(count: count, clearing: !prepared[currentTransaction].allDrawn)
        let drawCount = plan.transactions[currentTransaction].draws.count
        var random = self.random
        defer { self.random = random }
        for index in 0..<drawCount {
            var value = draw(index, &random)
            // Redraw until distinct; the validator guarantees enough values exist.
            var tries = 0
            while isTaken(value, draw: index), tries < 10_000 {
                value = draw(index, &random)
                tries += 1
            }
            let slot = plan.transactions[currentTransaction].draws[index].slot
            variableTexts.texts[slot] = value.bindText
            variables[slot] = value
        }
    }

    /// Draw `index`'s next value. A uniform draw, the common one, is made here,
    /// its bounds read in place: calling `draw` on a distribution read from
    /// the plan first copies it to a temporary (~120 instructions a draw).
    @inline(__always)
    private func draw(_ index: Int, _ random: inout RandomSource) -> Value {
        if case .uniform(let lower, let upper) = plan.transactions[currentTransaction].draws[index].distribution {
            return .int(random.uniform(lower, upper))
        }
        if case .computed(let expression) = plan.transactions[currentTransaction].draws[index].distribution {
            // From the variables drawn before it, already in `variables`.
            return expression.value(variables: variables, clientID: clientIndex)
        }
        return plan.transactions[currentTransaction].draws[index].distribution.draw(&random)
    }

    /// Whether a variable draw `index` must differ from already holds `value`.
    @inline(__always)
    private func isTaken(_ value: Value, draw index: Int) -> Bool {
        for slot in plan.transactions[currentTransaction].draws[index].distinctFrom where variables[slot] == value { return true }
        return false
    }
}
