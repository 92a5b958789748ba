#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockstormCore
import PostgresClient

/// One event-loop thread: many clients, each with its own non-blocking
/// connection, multiplexed with `poll`. Nothing here blocks on the server
/// (connections too are opened with `PQconnectPoll`), so a client waiting on
/// a lock never stops the client that holds it.
///
/// Each client is two state machines from LockstormCore: its `ClientMachine`
/// (what to send next) and its `StatementExchange` (what the results of what
/// it sent mean). This file turns libpq's results into exchange events and
/// carries out both machines' actions; the loop with its stop and grace
/// period is in `Worker+Loop.swift`, connecting and reconnecting in
/// `Worker+Connecting.swift`.
final class Worker {
    enum IOState {
        case idle
        /// Output still buffered in libpq: wait for writability.
        case writing
        /// Statement sent: wait for its results.
        case reading
        case sleeping(until: UInt64)
        /// Opening a connection: wait for the socket as `PQconnectPoll` asked.
        case connecting(wantWrite: Bool)
        /// Disconnected; try to connect again at this time.
        case reconnectAt(UInt64)
        /// Connected, preparing the plan's statements (`-M prepared`, `Worker+Preparing`).
        case preparing
        case done

        var isConnecting: Bool {
            if case .connecting = self { true } else { false }
        }
    }

    /// The exchange of one client, with its errors boxed (see `FailureBox`).
    typealias Exchange = StatementExchange<FailureBox>

    // Stored in the order the hot path touches them: Swift lays a struct out
    // in declaration order, and at hundreds of clients each client's state is
    // out of cache by the time its next result comes. With `machine` (~460
    // bytes) in the middle, reading `connection`, `io` and the exchange for
    // one result cost three cache misses (perf at 256 clients: most of
    // `service`'s own time); now they sit together at the start, followed
    // by the machine's own hot fields (see `ClientMachine`).
    struct Client {
        var connection: PostgresConnection? {
            didSet { socket = connection?.socket ?? -1 }
        }
        /// `connection`'s socket, kept to spare a libpq call per client and wake-up.
        var socket: Int32 = -1
        /// Changed only through `Worker.setIO`, which counts the clients connecting.
        fileprivate(set) var io: IOState = .idle
        /// The results of what is in flight: where they are, the first error,
        /// the step result, the session board's number.
        var exchange = Exchange()
        /// The statements of the pipelined transaction in flight (`pipeline: true`), for the board.
        var pipelineStatements: [ClientMachine.PipelinedStatement] = []
        var machine: ClientMachine
        // Cold: connecting and reconnecting.
        var pending: PendingConnection?
        var cancel: CancelHandle?
        var disconnectedSince: UInt64?
        var reconnectAttempts = 0
        /// When the connection being opened gives up.
        var connectDeadline: UInt64?
        /// `-M prepared`: by statement id, whether this connection prepared it
        /// (empty: none; a statement not prepared goes out unnamed).
        var preparedStatements: [Bool] = []
        /// The Parse pipeline being read after connecting (`-M prepared`).
        var preparing: PrepareProgress?
    }

    /// A `PostgresError` on the heap: failures are rare, and inline (~120
    /// bytes) the exchange's error pushed the machine's fields into further
    /// cache lines.
    final class FailureBox {
        let error: PostgresError
        init(_ error: PostgresError) { self.error = error }
    }

    let assignment: WorkerAssignment
    // Run-time exclusivity checks off on the fields the event loop touches
    // for every statement (they were ~8% of its instructions per transaction;
    // see bench/README.md): this worker's thread alone uses them, and the
    // compile-time checks stay.
    @exclusivity(unchecked) var clients: [Client] = []
    /// Bind-parameter text for every connection of this worker: one buffer
    /// stays in cache where one per connection is cold at hundreds of clients.
    @exclusivity(unchecked) var parameterBuffer = ParameterBuffer()
    /// How statements go out (`-M`), and the prepared statements' names by id.
    let protocolMode: ProtocolMode
    let statementNames: [String]
    /// `-M prepared`: statements some connection could not prepare (they went
    /// out unnamed on it), by id, with the server's first reason.
    var unprepared: [Int32: String] = [:]
    /// The sockets of the clients' established connections.
    let poller: Poller
    /// Clients in `.connecting` (reconnects): their sockets are polled apart.
    /// Kept by `setIO` alone.
    private(set) var connectingClients = 0
    /// Clients not yet `.done`: the loop runs while any is left.
    @exclusivity(unchecked) var active = 0
    /// When measurement started (for "first seen" times).
    var measurementStart: UInt64 = 0
    @exclusivity(unchecked) var stats: RunStats
    @exclusivity(unchecked) var lostConnections = 0
    /// Deadlocks as attributed, for `deadlock-events.csv` (within the run's cap).
    var deadlockEvents: [DeadlockEventRecord] = []
    var reconnects = 0
    var serverUnreachable = false
    /// The run is ending: no more reconnects.
    var stopping = false
    /// No client timer (sleep, reconnect, connect deadline) is due before
    /// this: the loop scans the clients' timers only from then on.
    @exclusivity(unchecked) var nextTimer: UInt64 = 0

    /// A client timer was set for `time`.
    func noteTimer(_ time: UInt64) {
        if time < nextTimer { nextTimer = time }
    }

    /// Every change of a client's `io` goes through here, so that
    /// `connectingClients` is always the number in `.connecting`.
    @inline(__always)
    func setIO(_ io: IOState, client index: Int) {
        let was = clients[index].io.isConnecting
        clients[index].io = io
        if was != io.isConnecting { connectingClients += was ? -1 : 1 }
    }

    init(assignment: WorkerAssignment) {
        self.assignment = assignment
        self.stats = RunStats(transactionCount: assignment.plan.transactions.count)
        for index in assignment.clientIndices {
            let machine = ClientMachine(
                plan: assignment.plan, clientIndex: index, seed: assignment.seed, transactionLimit: assignment.transactionsPerClient,
                schedule: assignment.schedules[index], lateLimit: assignment.lateLimitNanoseconds,
                dedicatedTransaction: assignment.plan.dedicatedTransaction(client: index, of: assignment.clientCount),
                combineBegin: assignment.combineBegin
            )
            clients.append(Client(machine: machine))
        }
        active = clients.count
        poller = Poller(capacity: clients.count)
        protocolMode = assignment.protocolMode
        statementNames = assignment.protocolMode == .prepared ? assignment.plan.statementTexts.indices.map(ProtocolMode.statementName) : []
    }

    /// Reads a computed property of a client's machine in place: a plain
    /// `clients[index].machine.property` copies the whole machine first
    /// (a few hundred instructions per statement).
    @inline(__always)
    func inPlace<R>(_ index: Int, _ body: (inout ClientMachine) -> R) -> R {
        body(&clients[index].machine)
    }

    // MARK: Sending

    /// Carries out the machine's action.
    func perform(_ action: consuming ClientMachine.Action, client index: Int, now: UInt64) {
        switch consume action {
        case .send(let sql, let parameters):
            guard let connection = connectionForSend(client: index, now: now) else { return }
            // Field by field: `let machine = clients[index].machine` would copy the whole machine.
            let sequence = assignment.board.sent(
                client: clients[index].machine.clientIndex, transaction: clients[index].machine.currentTransaction, step: inPlace(index) { $0.currentStep },
                sql: sql, parameters: parameters, at: now
            )
            clients[index].exchange.sent(.plain, boardSequence: sequence)
            do {
                if protocolMode == .extended {
                    try connection.send(sql, parameterCount: parameters.count, buffer: &parameterBuffer) { parameters[$0] }
                } else {
                    try send(sql, parameters, statement: inPlace(index) { $0.statementInFlight() }, client: index, on: connection)
                }
                try flushThenRead(client: index, connection)
            } catch {
                sendFailed(client: index, error, now: now)
            }
        case .beginAndSend(let begin, let sql, let parameters):
            guard let connection = connectionForSend(client: index, now: now) else { return }
            // The board shows both, as if BEGIN had completed at once (it takes
            // no lock): fuzz rebuilds a participant's attempt from its BEGIN on.
            let client = clients[index].machine.clientIndex, transaction = clients[index].machine.currentTransaction
            assignment.board.sent(client: client, SessionBoard.Statement(transaction: transaction, step: nil, sql: begin, parameters: [], sentAt: now, completedAt: now))
            let sequence = assignment.board.sent(
                client: client, transaction: transaction, step: inPlace(index) { $0.currentStep }, sql: sql, parameters: parameters, at: now
            )
            clients[index].exchange.sent(.beginPrefixed, boardSequence: sequence)
            do {
                try connection.enterPipelineMode()
                if protocolMode == .extended {
                    try connection.send(begin, parameterCount: 0, buffer: &parameterBuffer) { _ in nil }
                    try connection.send(sql, parameterCount: parameters.count, buffer: &parameterBuffer) { parameters[$0] }
                } else {
                    try send(begin, .empty, statement: assignment.plan.transactions[transaction].beginStatement, client: index, on: connection)
                    try send(sql, parameters, statement: inPlace(index) { $0.statementInFlight() }, client: index, on: connection)
                }
                try connection.pipelineSync()
                try flushThenRead(client: index, connection)
            } catch {
                sendFailed(client: index, error, now: now)
            }
        case .pipeline(let statements):
            guard let connection = connectionForSend(client: index, now: now) else { return }
            guard let first = statements.first else { return }
            clients[index].pipelineStatements = statements
            // The board follows the server: the first statement runs now, each next one when the one before completes.
            let sequence = assignment.board.sent(client: clients[index].machine.clientIndex, SessionBoard.Statement(
                transaction: clients[index].machine.currentTransaction, step: first.step, sql: first.sql, parameters: first.parameters, sentAt: now
            ))
            clients[index].exchange.sent(.pipeline(statements: statements.count), boardSequence: sequence)
            do {
                try connection.enterPipelineMode()
                for statement in statements {
                    if protocolMode == .extended {
                        try connection.send(statement.sql, parameterCount: statement.parameters.count, buffer: &parameterBuffer) { statement.parameters[$0] }
                    } else {
                        try send(statement.sql, statement.parameters, statement: statement.statement, client: index, on: connection)
                    }
                }
                try connection.pipelineSync()
                try flushThenRead(client: index, connection)
            } catch {
                sendFailed(client: index, error, now: now)
            }
        case .sleep(let until):
            setIO(.sleeping(until: until), client: index)
            noteTimer(until)
        case .reconnect:
            if stopping {
                clients[index].machine.abandon()
                finish(client: index)
            } else {
                scheduleReconnect(client: index, now: now)
            }
        case .stop:
            finish(client: index)
        }
    }

    /// Sends what libpq has buffered; the client reads its results next, or
    /// first waits until its socket can take the rest.
    private func flushThenRead(client index: Int, _ connection: PostgresConnection) throws {
        if try connection.flush() {
            setIO(.reading, client: index)
        } else {
            setIO(.writing, client: index)
            poller.modify(clients[index].socket, owner: index, write: true)
        }
    }

    /// The client's connection, or `nil` once the machine has been told there is none.
    private func connectionForSend(client index: Int, now: UInt64) -> PostgresConnection? {
        if let connection = clients[index].connection { return connection }
        let error = PostgresError(kind: .connectionLost, sqlState: "08006", message: "no connection")
        deliver(clients[index].exchange.sendFailed(FailureBox(error)), client: index, now: now)
        return nil
    }

    /// Sending failed: the exchange says what the machine hears (a connection
    /// half-way into a pipeline counts as lost), and the client opens a new one.
    private func sendFailed(client index: Int, _ error: any Error, now: UInt64) {
        guard let error = error as? PostgresError else {
            finish(client: index)
            return
        }
        setIO(.idle, client: index)
        deliver(clients[index].exchange.sendFailed(FailureBox(error)), client: index, now: now)
    }

    func finish(client index: Int) {
        if case .done = clients[index].io { return }
        active -= 1
        setIO(.done, client: index)
        clients[index].cancel = nil
        clients[index].pending = nil
        unregister(client: index)
        clients[index].connection = nil
    }

    // MARK: Reading results

    func service(client index: Int, events: Int16, now: UInt64) {
        guard let connection = clients[index].connection else { return }
        switch clients[index].io {
        case .reading, .writing:
            break
        case .preparing:
            continuePreparing(client: index, events: events, now: now)
            return
        default:
            // Input no statement waits for (a notice, the server closing the
            // connection): read it, or the poller reports it again and again.
            // A broken connection leaves the poller; the client's next
            // statement fails and reconnects.
            if (try? connection.consumeInput()) == nil || !connection.isHealthy { unregister(client: index) }
            return
        }
        if case .writing = clients[index].io, events & Int16(POLLOUT) != 0 {
            do {
                if try connection.flush() {
                    setIO(.reading, client: index)
                    poller.modify(clients[index].socket, owner: index, write: false)
                }
            } catch let error as PostgresError {
                connectionBroken(client: index, error: error, now: now)
                return
            } catch {
                return
            }
        }
        guard events & Int16(POLLIN | POLLERR | POLLHUP) != 0 else { return }
        do {
            try connection.consumeInput()
        } catch let error as PostgresError {
            connectionBroken(client: index, error: error, now: now)
            return
        } catch {
            return
        }
        guard case .reading = clients[index].io else { return }
        let wantsRow = inPlace(index) { $0.wantsRow }
        // One switch on the exchange's action, here in the loop: a function
        // that carried the action out, called for every result, cost ~35
        // instructions a result in its own prologue and dispatch (~500 a
        // transaction, callgrind; bench/README.md).
        while !connection.isBusy {
            var action: Exchange.Action
            if wantsRow && clients[index].exchange.readsStatementResult {
                switch connection.nextResult(copyRows: true) {
                case nil: action = clients[index].exchange.resultsEnded()
                case .success(let query)?: action = clients[index].exchange.received(Self.stepResult(query))
                case .failure(let error)?: action = clients[index].exchange.failed(FailureBox(error), connectionLost: error.kind == .connectionLost)
                }
            } else {
                // Without captures only the status and row count are needed: no
                // copying. Switched on directly (no `Result` in between): every
                // value holding a PostgresError that is destroyed costs a call
                // through Optional's generic value witness, four per statement.
                switch connection.nextResultStatus() {
                case nil: action = clients[index].exchange.resultsEnded()
                case .success(let rowCount)?: action = clients[index].exchange.received(rows: rowCount)
                case .failure(let error)?: action = clients[index].exchange.failed(FailureBox(error), connectionLost: error.kind == .connectionLost)
                case .pipelineAborted?: action = clients[index].exchange.aborted()
                case .pipelineSync?: action = clients[index].exchange.synced()
                }
            }
            if case .leavePipelineMode = action {
                // The Sync was read. Leaving pipeline mode ends the exchange:
                // the exchange answers `complete` or `deliver`.
                do {
                    try connection.exitPipelineMode()
                } catch let error as PostgresError {
                    connectionBroken(client: index, error: error, now: now)
                    return
                } catch {
                    return
                }
                action = clients[index].exchange.leftPipelineMode()
            }
            switch action {
            case .read, .leavePipelineMode:
                // (`leftPipelineMode` never asks to leave again.)
                continue
            case .advancePipeline(let next):
                advancePipeline(client: index, next: next, now: now)
            case .complete(let delivery):
                assignment.board.completed(client: clients[index].machine.clientIndex, sequence: clients[index].exchange.boardSequence, at: now)
                setIO(.idle, client: index)
                deliver(delivery, client: index, now: now)
                return
            case .deliver(let delivery):
                setIO(.idle, client: index)
                deliver(delivery, client: index, now: now)
                return
            }
        }
    }

    /// Pipeline: a statement's results are all read. Its board entry
    /// completes; the server goes on with `next`, which goes on the board.
    private func advancePipeline(client index: Int, next: Int?, now: UInt64) {
        let client = clients[index].machine.clientIndex
        assignment.board.completed(client: client, sequence: clients[index].exchange.boardSequence, at: now)
        guard let next else { return }
        clients[index].exchange.boardSequence = assignment.board.sent(
            client: client, transaction: clients[index].machine.currentTransaction, step: clients[index].pipelineStatements[next].step,
            sql: clients[index].pipelineStatements[next].sql, parameters: clients[index].pipelineStatements[next].parameters, at: now
        )
    }

    /// The connection failed while the client waited for results.
    private func connectionBroken(client index: Int, error: PostgresError, now: UInt64) {
        setIO(.idle, client: index)
        deliver(clients[index].exchange.connectionBroken(FailureBox(error)), client: index, now: now)
    }

    /// Tells the machine how the exchange went (with the step result or the
    /// error the exchange holds), and carries out what it does next.
    private func deliver(_ delivery: Exchange.Delivery, client index: Int, now: UInt64) {
        if !clients[index].pipelineStatements.isEmpty { clients[index].pipelineStatements = [] }
        switch delivery {
        case .succeeded:
            let result = clients[index].exchange.takeStepResult()
            perform(clients[index].machine.statementSucceeded(now: now, stats: &stats, result: result), client: index, now: now)
        case .statementFailed(let connectionLost):
            let failure = statementFailure(connectionLost: connectionLost, client: index, now: now)
            perform(clients[index].machine.statementFailed(failure, now: now, stats: &stats), client: index, now: now)
        case .beginFailed(let connectionLost):
            let failure = statementFailure(connectionLost: connectionLost, client: index, now: now)
            perform(clients[index].machine.beginFailed(failure, now: now, stats: &stats), client: index, now: now)
        case .pipelineFailed(let statement, let connectionLost):
            let failure = statementFailure(connectionLost: connectionLost, client: index, now: now)
            perform(clients[index].machine.pipelineFailed(failure, statement: statement, now: now, stats: &stats), client: index, now: now)
        }
    }

    /// The failure the machine hears (the exchange's error), with the
    /// connection counted as lost when the exchange, the error or the
    /// connection says so; a deadlock's cycle is recorded.
    private func statementFailure(connectionLost: Bool, client index: Int, now: UInt64) -> StatementFailure {
        // A failure delivery always comes with its error.
        let error = clients[index].exchange.takeFailure()?.error ?? PostgresError(kind: .client, message: "no error recorded")
        // A backend terminated by the server (57P01 admin_shutdown and friends)
        // leaves the connection unusable even when libpq has not noticed yet.
        let state = error.sqlState.map(SQLState.init)
        let lost = connectionLost || error.kind == .connectionLost || ErrorClass.classify(state) == .connection
            || clients[index].connection?.isHealthy == false
        if lost { lostConnections += 1 }
        if state == .deadlockDetected, let detail = error.detail, !clients[index].machine.isDiscarding {
            recordCycle(victim: index, detail: detail, context: error.context, now: now)
        }
        return StatementFailure(sqlState: state, message: error.message, detail: error.detail, connectionLost: lost)
    }

    /// The row count, and the first row, for a step that captures it.
    private static func stepResult(_ query: QueryResult) -> StepResult {
        guard let row = query.rows.first else { return StepResult(rowCount: query.affectedRows) }
        let values: [Value] = row.indices.map { column in
            switch query.value(0, column) {
            case .null: .null
            case .int(let value): .int(value)
            case .double(let value): .double(value)
            case .bool(let value): .bool(value)
            case .text(let value): .string(value)
            }
        }
        return StepResult(rowCount: query.rows.count, firstRow: values, firstRowText: row)
    }

    /// Records the cycle of a deadlock this client was the victim of: every
    /// PID in the victim's DETAIL is looked up on the session board, its
    /// recent statements copied, and each participant's statement decided by
    /// `DeadlockAttribution`, from the server's own report when its log is
    /// read (`ServerLogTail`), else from the client side alone.
    private func recordCycle(victim index: Int, detail: String, context: String?, now: UInt64) {
        guard let report = DeadlockReport.parse(detail: detail, context: context) else { return }
        let errorAt = max(now, MonotonicClock.now())
        let board = assignment.board
        let victimClient = clients[index].machine.clientIndex
        let victimPID = clients[index].connection?.backendPID
        var sessions: [Int32: [DeadlockAttribution.SessionStatement]] = [:]
        for pid in Set(report.cycle) {
            guard let client = pid == victimPID ? victimClient : board.client(pid: pid) else { continue }
            sessions[pid] = board.attributionStatements(client: client)
        }
        let victimSentAt = board.current(client: victimClient)?.sentAt ?? now
        let witness = DeadlockAttribution.Witness(report: report, victimSentAt: min(victimSentAt, errorAt), errorAt: errorAt, sessions: sessions)
        let plan = assignment.plan
        let log = assignment.serverLog?.claim(report)
        let clientSide = DeadlockAttribution.participants(witness, log: nil, plan: plan)
        let participants = log.map { DeadlockAttribution.participants(witness, log: $0, plan: plan) } ?? clientSide
        let seen = Double(now > measurementStart ? now - measurementStart : 0) / 1e9
        stats.recordCycle(CycleRecord(participants: participants, report: report, detail: detail, firstSeenSeconds: seen))
        if assignment.deadlockEvents.reserve() {
            deadlockEvents.append(DeadlockEventRecord(
                seconds: seen, victimPID: victimPID ?? report.victim ?? 0, report: report, participants: participants, clientSide: clientSide, logFound: log != nil
            ))
        }
    }
}
