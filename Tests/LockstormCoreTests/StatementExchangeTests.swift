import Testing
@testable import LockstormCore

/// `StatementExchange`, driven as the engine drives it: each test is a script
/// of libpq events with the action or delivery each one must produce.
@Suite struct StatementExchangeTests {
    typealias Exchange = StatementExchange<String>

    /// One thing the engine tells the exchange.
    enum Event {
        case sent(Exchange.Kind)
        /// A successful result: row count only, or with the first row.
        case rows(Int)
        case row(StepResult)
        case failed(String)
        /// A failed result whose error says the connection is gone.
        case lost(String)
        case aborted
        case sync
        /// `nil`: the end of one statement's results.
        case end
        /// The engine left pipeline mode.
        case left
        case sendFailed(String)
        case broken(String)
        case reset
    }

    /// A delivery with what the engine takes from the exchange for it: the
    /// step result or the error.
    enum Delivered: Equatable {
        case succeeded(StepResult)
        case statementFailed(String, connectionLost: Bool)
        case beginFailed(String, connectionLost: Bool)
        case pipelineFailed(String, statement: Int, connectionLost: Bool)
    }

    /// An action, its delivery taken as the engine takes it.
    enum Did: Equatable {
        case read
        case advancePipeline(next: Int?)
        case leavePipelineMode
        case complete(Delivered)
        case deliver(Delivered)
    }

    /// What the exchange answers.
    enum Answer: Equatable {
        case nothing
        case action(Did)
        case delivery(Delivered)

        static let read = Answer.action(.read)
        static let leave = Answer.action(.leavePipelineMode)
        static func advance(_ next: Int?) -> Answer { .action(.advancePipeline(next: next)) }
        static func complete(_ delivery: Delivered) -> Answer { .action(.complete(delivery)) }
        static func deliver(_ delivery: Delivered) -> Answer { .action(.deliver(delivery)) }
        static func succeeded(rows: Int) -> Delivered { .succeeded(StepResult(rowCount: rows)) }
    }

    private func taken(_ delivery: Exchange.Delivery, from exchange: inout Exchange) -> Delivered {
        switch delivery {
        case .succeeded: .succeeded(exchange.takeStepResult())
        case .statementFailed(let lost): .statementFailed(exchange.takeFailure() ?? "no error", connectionLost: lost)
        case .beginFailed(let lost): .beginFailed(exchange.takeFailure() ?? "no error", connectionLost: lost)
        case .pipelineFailed(let statement, let lost): .pipelineFailed(exchange.takeFailure() ?? "no error", statement: statement, connectionLost: lost)
        }
    }

    private func taken(_ action: Exchange.Action, from exchange: inout Exchange) -> Answer {
        switch action {
        case .read: .read
        case .advancePipeline(let next): .advance(next)
        case .leavePipelineMode: .leave
        case .complete(let delivery): .complete(taken(delivery, from: &exchange))
        case .deliver(let delivery): .deliver(taken(delivery, from: &exchange))
        }
    }

    /// Plays `script` on `exchange`, expecting each step's answer.
    private func play(
        _ script: [(Event, Answer)], on exchange: inout Exchange, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        for (number, (event, expected)) in script.enumerated() {
            let answer: Answer
            switch event {
            case .sent(let kind):
                exchange.sent(kind, boardSequence: UInt64(number))
                answer = .nothing
            case .rows(let rows): answer = taken(exchange.received(rows: rows), from: &exchange)
            case .row(let result): answer = taken(exchange.received(result), from: &exchange)
            case .failed(let error): answer = taken(exchange.failed(error, connectionLost: false), from: &exchange)
            case .lost(let error): answer = taken(exchange.failed(error, connectionLost: true), from: &exchange)
            case .aborted: answer = taken(exchange.aborted(), from: &exchange)
            case .sync: answer = taken(exchange.synced(), from: &exchange)
            case .end: answer = taken(exchange.resultsEnded(), from: &exchange)
            case .left: answer = taken(exchange.leftPipelineMode(), from: &exchange)
            case .sendFailed(let error): answer = .delivery(taken(exchange.sendFailed(error), from: &exchange))
            case .broken(let error): answer = .delivery(taken(exchange.connectionBroken(error), from: &exchange))
            case .reset:
                exchange.reset()
                answer = .nothing
            }
            #expect(answer == expected, "step \(number + 1) (\(event))", sourceLocation: sourceLocation)
        }
    }

    private func play(_ script: [(Event, Answer)], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        var exchange = Exchange()
        play(script, on: &exchange, sourceLocation: sourceLocation)
    }

    // MARK: Plain statements

    @Test func aPlainStatementCompletesWithItsRowCountAtTheEndOfItsResults() {
        play([
            (.sent(.plain), .nothing),
            (.rows(3), .read),
            (.end, .complete(Answer.succeeded(rows: 3))),
            // The next statement starts from nothing: no stale row count.
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    @Test func aCapturedRowReachesTheMachineAndIsNotKeptForTheNextStatement() {
        let captured = StepResult(rowCount: 1, firstRow: [.int(7)], firstRowText: ["7"])
        play([
            (.sent(.plain), .nothing),
            (.row(captured), .read),
            (.end, .complete(.succeeded(captured))),
            (.sent(.plain), .nothing),
            (.rows(1), .read),
            (.end, .complete(Answer.succeeded(rows: 1))),
        ])
    }

    @Test func aPlainStatementThatFailsIsDeliveredWithItsFirstErrorOnceItsResultsEnd() {
        play([
            (.sent(.plain), .nothing),
            (.failed("40P01"), .read),
            (.failed("second"), .read),
            (.end, .complete(.statementFailed("40P01", connectionLost: false))),
            // The error is spent: the next statement succeeds.
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    // MARK: BEGIN-prefixed

    @Test func aBeginPrefixedStatementCompletesAfterTheSyncWithTheStatementsRowCount() {
        var exchange = Exchange()
        play([(.sent(.beginPrefixed), .nothing)], on: &exchange)
        #expect(!exchange.readsStatementResult, "BEGIN's result comes first")
        play([(.rows(0), .read), (.end, .read)], on: &exchange)
        #expect(exchange.readsStatementResult, "then the statement's")
        play([(.rows(2), .read), (.end, .read)], on: &exchange)
        #expect(!exchange.readsStatementResult, "then the Sync")
        play([
            // Nothing between the statement's end and the Sync is its result.
            (.rows(9), .read),
            (.sync, .leave),
            (.left, .complete(Answer.succeeded(rows: 2))),
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ], on: &exchange)
    }

    @Test func aBeginThatFailsIsDeliveredAsBeginFailedAfterTheAbortedStatementAndTheSync() {
        play([
            (.sent(.beginPrefixed), .nothing),
            (.failed("25001"), .read),
            (.end, .read),
            (.aborted, .read),
            (.end, .read),
            (.sync, .leave),
            (.left, .complete(.beginFailed("25001", connectionLost: false))),
            // Spent: a later statement failing is a statement failure.
            (.sent(.plain), .nothing),
            (.failed("23505"), .read),
            (.end, .complete(.statementFailed("23505", connectionLost: false))),
        ])
    }

    @Test func aStatementThatFailsAfterItsBeginIsAStatementFailure() {
        play([
            (.sent(.beginPrefixed), .nothing),
            (.rows(0), .read),
            (.end, .read),
            (.failed("40P01"), .read),
            (.end, .read),
            (.sync, .leave),
            (.left, .complete(.statementFailed("40P01", connectionLost: false))),
        ])
    }

    @Test func anEndWhereTheSyncWasExpectedStillLeavesPipelineMode() {
        play([
            (.sent(.beginPrefixed), .nothing),
            (.end, .read), (.end, .read),
            (.end, .leave),
            (.left, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    // MARK: Pipelines

    @Test func aPipelineMovesTheBoardAlongStatementByStatementAndSucceedsAtTheSync() {
        var exchange = Exchange()
        play([(.sent(.pipeline(statements: 3)), .nothing)], on: &exchange)
        #expect(exchange.isPipeline)
        #expect(!exchange.readsStatementResult)
        play([
            (.rows(1), .read), (.end, .advance(1)),
            (.rows(1), .read), (.end, .advance(2)),
            (.rows(1), .read), (.end, .advance(nil)),
            (.sync, .leave),
            (.left, .deliver(Answer.succeeded(rows: 0))),
        ], on: &exchange)
        #expect(!exchange.isPipeline)
    }

    @Test func aPipelineThatFailsMidWayIsDeliveredWithTheStatementThatFailed() {
        play([
            (.sent(.pipeline(statements: 4)), .nothing),
            (.rows(1), .read), (.end, .advance(1)),
            // Statement 1 fails: the board keeps it, the rest are aborted.
            (.failed("40P01"), .read), (.end, .advance(nil)),
            (.aborted, .read), (.end, .advance(nil)),
            (.failed("later"), .read), (.end, .advance(nil)),
            (.sync, .leave),
            (.left, .deliver(.pipelineFailed("40P01", statement: 1, connectionLost: false))),
            // The next pipeline starts clean.
            (.sent(.pipeline(statements: 2)), .nothing),
            (.end, .advance(1)), (.end, .advance(nil)),
            (.sync, .leave),
            (.left, .deliver(Answer.succeeded(rows: 0))),
        ])
    }

    // MARK: The connection lost between send and result

    @Test func aPlainStatementWhoseConnectionBreaksIsAFailureTheEngineClassifies() {
        play([
            (.sent(.plain), .nothing),
            (.broken("08006"), .delivery(.statementFailed("08006", connectionLost: false))),
            (.sent(.plain), .nothing),
            (.rows(1), .read),
            (.lost("gone"), .deliver(.statementFailed("gone", connectionLost: false))),
            // Nothing is left of either.
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    @Test func aLostConnectionAfterAnErrorWaitsForTheEndOfAPlainStatement() {
        play([
            (.sent(.plain), .nothing),
            (.failed("40P01"), .read),
            (.lost("gone"), .read),
            (.end, .complete(.statementFailed("40P01", connectionLost: false))),
        ])
    }

    @Test func aBeginPrefixedExchangeWhoseConnectionBreaksCountsAsLostAtEveryStage() {
        // Waiting for BEGIN, for the statement, for the Sync, and leaving pipeline mode.
        let prefixes: [[(Event, Answer)]] = [
            [],
            [(.rows(0), .read), (.end, .read)],
            [(.rows(0), .read), (.end, .read), (.rows(1), .read), (.end, .read)],
            [(.rows(0), .read), (.end, .read), (.rows(1), .read), (.end, .read), (.sync, .leave)],
        ]
        for prefix in prefixes {
            play([(.sent(.beginPrefixed), .nothing)] + prefix + [
                (.broken("08006"), .delivery(.statementFailed("08006", connectionLost: true))),
                (.sent(.plain), .nothing),
                (.end, .complete(Answer.succeeded(rows: 0))),
            ])
        }
        play([
            (.sent(.beginPrefixed), .nothing),
            (.rows(0), .read), (.end, .read),
            (.lost("gone"), .deliver(.statementFailed("gone", connectionLost: true))),
        ])
    }

    @Test func aBrokenConnectionAfterBeginFailedIsStillBeginFailed() {
        play([
            (.sent(.beginPrefixed), .nothing),
            (.failed("25001"), .read),
            (.broken("08006"), .delivery(.beginFailed("08006", connectionLost: true))),
            (.sent(.beginPrefixed), .nothing),
            (.lost("gone"), .deliver(.beginFailed("gone", connectionLost: true))),
        ])
    }

    @Test func aPipelineWhoseConnectionBreaksFailsAtTheStatementRunning() {
        play([
            (.sent(.pipeline(statements: 3)), .nothing),
            (.rows(1), .read), (.end, .advance(1)),
            (.broken("08006"), .delivery(.pipelineFailed("08006", statement: 1, connectionLost: false))),
            (.sent(.pipeline(statements: 3)), .nothing),
            (.lost("gone"), .deliver(.pipelineFailed("gone", statement: 0, connectionLost: false))),
            // Broken after a statement failed: that statement is the one that failed.
            (.sent(.pipeline(statements: 3)), .nothing),
            (.end, .advance(1)), (.end, .advance(2)),
            (.failed("40P01"), .read),
            (.lost("gone"), .deliver(.pipelineFailed("gone", statement: 2, connectionLost: false))),
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    @Test func sendingFailsHalfWayIntoAPipelineCountsAsLost() {
        play([
            (.sendFailed("no connection"), .delivery(.statementFailed("no connection", connectionLost: false))),
            (.sent(.plain), .nothing),
            (.sendFailed("08006"), .delivery(.statementFailed("08006", connectionLost: false))),
            (.sent(.beginPrefixed), .nothing),
            (.sendFailed("08006"), .delivery(.statementFailed("08006", connectionLost: true))),
            (.sent(.pipeline(statements: 3)), .nothing),
            (.sendFailed("08006"), .delivery(.pipelineFailed("08006", statement: 0, connectionLost: true))),
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    @Test func resetForgetsTheExchangeInFlight() {
        play([
            (.sent(.pipeline(statements: 3)), .nothing),
            (.failed("40P01"), .read),
            (.reset, .nothing),
            (.sent(.beginPrefixed), .nothing),
            (.failed("25001"), .read),
            (.reset, .nothing),
            (.sent(.plain), .nothing),
            (.end, .complete(Answer.succeeded(rows: 0))),
        ])
    }

    @Test func theBoardSequenceIsTheOneGivenWithTheSend() {
        var exchange = Exchange()
        exchange.sent(.plain, boardSequence: 41)
        #expect(exchange.boardSequence == 41)
        exchange.boardSequence = 42
        _ = exchange.resultsEnded()
        #expect(exchange.boardSequence == 42)
    }
}
