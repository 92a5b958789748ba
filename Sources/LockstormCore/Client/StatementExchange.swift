/// Reads the results of what a client has sent, one libpq result at a time,
/// and says what each one means: read on, move the session board along,
/// leave pipeline mode, or tell the `ClientMachine` how the statement went.
///
/// The engine translates libpq into the events here (`sent`, `received`,
/// `failed`, `aborted`, `synced`, `resultsEnded`, `leftPipelineMode`,
/// `sendFailed`, `connectionBroken`) and carries out the `Action`s; the rules
/// live here, with no I/O, so they are tested as scripts
/// (`StatementExchangeTests`). Three kinds of exchange:
///
/// - **plain**: one statement, then `nil` (end of its results).
/// - **BEGIN-prefixed** (`ClientMachine.Action.beginAndSend`): in one libpq
///   pipeline, BEGIN's result and `nil`, the statement's results and `nil`,
///   then the Sync. A failed BEGIN aborts the statement; the machine hears
///   `beginFailed`.
/// - **pipeline** (`pipeline: true`): N statements, each with its results and
///   `nil`; after a failure the rest come as `pipelineAborted`; the Sync ends
///   it, and the machine hears `pipelineFailed` with the first statement that
///   failed, or success.
///
/// The first error of an exchange wins. A connection that breaks half-way
/// through a BEGIN-prefixed exchange, or while a pipeline is being sent,
/// counts as lost: what it did on the server is unknown.
///
/// `Failure` is the engine's error (a class, so the struct stays small).
/// Actions and deliveries are plain values; the error and the step result
/// they announce stay in the exchange until taken (`takeFailure`,
/// `takeStepResult`): moving them through enum payloads cost retains,
/// releases and outlined copies on every statement.
public struct StatementExchange<Failure> {
    /// What was sent.
    public enum Kind: Sendable, Hashable {
        case plain
        /// BEGIN and one statement, in one pipeline with one Sync.
        case beginPrefixed
        /// A pipelined transaction of this many statements.
        case pipeline(statements: Int)
    }

    /// What the engine does next.
    public enum Action: Sendable, Hashable {
        /// Read the next result (when libpq has one).
        case read
        /// Pipeline: a statement's results are all read. Complete its board
        /// entry (`boardSequence`); when `next` is set, the server runs that
        /// statement now: put it on the board and store its sequence.
        case advancePipeline(next: Int?)
        /// The Sync was read: leave libpq's pipeline mode, then call
        /// `leftPipelineMode()` (or `connectionBroken` if leaving failed).
        case leavePipelineMode
        /// Every result is read: complete the board entry (`boardSequence`),
        /// then tell the machine.
        case complete(Delivery)
        /// The exchange is over without the board entry completing (the
        /// connection broke, or a pipeline whose entries completed one by
        /// one): tell the machine.
        case deliver(Delivery)
    }

    /// Which `ClientMachine` entry point hears how the exchange went; the
    /// engine takes the step result (`takeStepResult`) or the error
    /// (`takeFailure`) to pass along.
    public enum Delivery: Sendable, Hashable {
        /// `statementSucceeded(result:)`.
        case succeeded
        /// `statementFailed`. `connectionLost`: the exchange alone shows the
        /// connection cannot be trusted (the engine adds what the error and
        /// the connection say).
        case statementFailed(connectionLost: Bool)
        /// `beginFailed`: BEGIN, sent with the statement, failed.
        case beginFailed(connectionLost: Bool)
        /// `pipelineFailed(statement:)`: 0-based statement of the pipeline.
        case pipelineFailed(statement: Int, connectionLost: Bool)
    }

    @usableFromInline
    enum Stage: UInt8, Sendable {
        /// A plain statement (or nothing) in flight.
        case plain
        /// BEGIN-prefixed: BEGIN's results.
        case begin
        /// BEGIN-prefixed: BEGIN is done, the statement's results.
        case statementAfterBegin
        /// BEGIN-prefixed: the statement is done, the Sync ends the pipeline.
        case sync
        /// A pipelined transaction.
        case pipeline
    }

    // Small and flat: the engine keeps one per client next to its hot fields.
    @usableFromInline var stage = Stage.plain
    /// BEGIN of a BEGIN-prefixed exchange failed (its error is `failure`).
    @usableFromInline var beginFailed = false
    /// Pipeline: statements sent, statements whose results are all read, and
    /// the first that failed (-1: none).
    @usableFromInline var pipelineCount = 0
    @usableFromInline var pipelineCompleted = 0
    @usableFromInline var pipelineFailedAt = -1
    /// The session board's number for the statement running on the server
    /// (`SessionBoard.completed(client:sequence:at:)`); set by the engine.
    public var boardSequence: UInt64 = 0
    /// What the statement in flight returned, for the machine's captures and conditions.
    // Not `.none`: a global of another module is reached through swift_once on every use.
    @usableFromInline var stepResult = StepResult(rowCount: 0)
    /// The first error of the exchange, kept until its last result is read
    /// and then until the engine takes it.
    @usableFromInline var failure: Failure?

    public init() {}

    /// A pipelined transaction is in flight.
    @inlinable public var isPipeline: Bool { stage == .pipeline }

    /// The next result is the statement's own (its row is worth copying when
    /// the step captures it), not BEGIN's, the Sync's or a pipeline's.
    @inlinable public var readsStatementResult: Bool { stage == .plain || stage == .statementAfterBegin }

    // MARK: Events

    /// `kind` is being sent (the board has it as `boardSequence`).
    @inlinable
    public mutating func sent(_ kind: Kind, boardSequence: UInt64) {
        self.boardSequence = boardSequence
        switch kind {
        case .plain:
            stage = .plain
        case .beginPrefixed:
            stage = .begin
        case .pipeline(let statements):
            stage = .pipeline
            pipelineCount = statements
            pipelineCompleted = 0
            pipelineFailedAt = -1
        }
    }

    /// A successful result with `rows` rows (returned or affected).
    @inlinable
    public mutating func received(rows: Int) -> Action {
        if readsStatementResult { stepResult.rowCount = rows }
        return .read
    }

    /// A successful result with its first row, for a step that captures it.
    @inlinable
    public mutating func received(_ result: StepResult) -> Action {
        if readsStatementResult { stepResult = result }
        return .read
    }

    /// A failed result. `connectionLost`: the error says the connection is
    /// gone, so no more results will come.
    @inlinable
    public mutating func failed(_ error: Failure, connectionLost: Bool) -> Action {
        switch stage {
        case .plain, .begin, .statementAfterBegin:
            guard failure == nil else { return .read }
            if stage == .begin { beginFailed = true }
            guard connectionLost else {
                failure = error
                return .read
            }
            return .deliver(broken(error, connectionLost: stage != .plain))
        case .sync:
            return .read
        case .pipeline:
            if connectionLost { return .deliver(broken(error, connectionLost: false)) }
            if pipelineFailedAt < 0 {
                pipelineFailedAt = pipelineCompleted
                failure = error
            }
            return .read
        }
    }

    /// `pipelineAborted`: a statement not run, as an earlier one failed.
    @inlinable
    public mutating func aborted() -> Action {
        if readsStatementResult { stepResult.rowCount = 0 }
        return .read
    }

    /// `pipelineSync`: the end of a pipeline.
    @inlinable
    public mutating func synced() -> Action {
        switch stage {
        case .plain, .statementAfterBegin:
            stepResult.rowCount = 0
            return .read
        case .begin:
            return .read
        case .sync, .pipeline:
            return .leavePipelineMode
        }
    }

    /// `nil` from libpq: the results of one statement are all read.
    @inlinable
    public mutating func resultsEnded() -> Action {
        switch stage {
        case .plain:
            return .complete(finishStatement())
        case .begin:
            stage = .statementAfterBegin
            return .read
        case .statementAfterBegin:
            stage = .sync
            return .read
        case .sync:
            // libpq stays busy until the Sync's result; were `nil` to come
            // here, leaving pipeline mode ends the wait instead of reading forever.
            return .leavePipelineMode
        case .pipeline:
            pipelineCompleted += 1
            // After a failure the rest are not run: the board keeps the one that failed.
            let next = pipelineFailedAt < 0 && pipelineCompleted < pipelineCount ? pipelineCompleted : nil
            return .advancePipeline(next: next)
        }
    }

    /// The engine left pipeline mode after `.leavePipelineMode`.
    @inlinable
    public mutating func leftPipelineMode() -> Action {
        guard stage == .pipeline else { return .complete(finishStatement()) }
        let failedAt = pipelineFailedAt
        let error = failure.take()
        reset()
        if failedAt >= 0, let error {
            failure = error
            return .deliver(.pipelineFailed(statement: failedAt, connectionLost: false))
        }
        return .deliver(.succeeded)
    }

    /// Sending failed (or there was no connection to send on, before `sent`).
    /// A connection half-way into a pipeline cannot be trusted.
    @inlinable
    public mutating func sendFailed(_ error: Failure) -> Delivery {
        broken(error, connectionLost: stage != .plain)
    }

    /// The connection failed while the exchange waited for results (or
    /// leaving pipeline mode failed): its results will not come.
    @inlinable
    public mutating func connectionBroken(_ error: Failure) -> Delivery {
        broken(error, connectionLost: stage == .begin || stage == .statementAfterBegin || stage == .sync)
    }

    /// The error a failure delivery announced (the exchange forgets it).
    @inlinable
    public mutating func takeFailure() -> Failure? {
        failure.take()
    }

    /// What the statement returned, for a success delivery (the exchange
    /// keeps an empty one).
    @inlinable
    public mutating func takeStepResult() -> StepResult {
        var result = StepResult(rowCount: 0)
        swap(&result, &stepResult)
        return result
    }

    /// Forgets the exchange in flight (the client reconnects).
    @inlinable
    public mutating func reset() {
        stage = .plain
        beginFailed = false
        pipelineCount = 0
        pipelineCompleted = 0
        pipelineFailedAt = -1
        stepResult = StepResult(rowCount: 0)
        failure = nil
    }

    // MARK: Helpers

    /// The exchange ends with `error` before its results: which entry point hears it.
    @inlinable
    mutating func broken(_ error: Failure, connectionLost: Bool) -> Delivery {
        let delivery: Delivery
        if beginFailed {
            delivery = .beginFailed(connectionLost: connectionLost)
        } else if stage == .pipeline {
            let statement = pipelineFailedAt >= 0 ? pipelineFailedAt : pipelineCompleted
            delivery = .pipelineFailed(statement: statement, connectionLost: connectionLost)
        } else {
            delivery = .statementFailed(connectionLost: connectionLost)
        }
        reset()
        failure = error
        return delivery
    }

    /// A statement's results are all read: its outcome (the error, if any,
    /// or the step result waits to be taken).
    @inlinable
    mutating func finishStatement() -> Delivery {
        stage = .plain
        guard failure != nil else { return .succeeded }
        stepResult = StepResult(rowCount: 0)
        let wasBegin = beginFailed
        beginFailed = false
        return wasBegin ? .beginFailed(connectionLost: false) : .statementFailed(connectionLost: false)
    }
}

extension StatementExchange: Sendable where Failure: Sendable {}
