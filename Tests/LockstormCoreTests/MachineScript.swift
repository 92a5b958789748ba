import Testing
@testable import LockstormCore

/// Drives one `ClientMachine` through a script of events, one millisecond
/// apart, the way the engine does.
struct MachineScript {
    var machine: ClientMachine
    var stats: RunStats
    var now: UInt64 = 0

    init(
        _ yaml: String, variant: String? = nil, clientIndex: Int = 0, seed: UInt64 = 1, limit: Int? = nil, dedicated: Int? = nil,
        combineBegin: Bool = false
    ) throws {
        let plan = try makePlan(yaml, variant: variant)
        machine = ClientMachine(
            plan: plan, clientIndex: clientIndex, seed: seed, transactionLimit: limit, dedicatedTransaction: dedicated, combineBegin: combineBegin
        )
        stats = RunStats(transactionCount: plan.transactions.count)
    }

    mutating func tick() -> UInt64 {
        now += 1_000_000
        return now
    }

    mutating func start() -> ClientMachine.Action { machine.start(now: tick(), stats: &stats) }

    /// The statement in flight succeeded with `rows` rows (the first one given).
    mutating func ok(rows: Int = 1, _ row: [Value] = [], text: [String?]? = nil) -> ClientMachine.Action {
        let result = StepResult(rowCount: rows, firstRow: row, firstRowText: text ?? row.map(\.bindText))
        return machine.statementSucceeded(now: tick(), stats: &stats, result: result)
    }

    mutating func fail(_ state: SQLState) -> ClientMachine.Action {
        machine.statementFailed(StatementFailure(sqlState: state, message: "failed"), now: tick(), stats: &stats)
    }

    /// BEGIN, sent with the statement in flight, failed.
    mutating func beginFailed(_ state: SQLState) -> ClientMachine.Action {
        machine.beginFailed(StatementFailure(sqlState: state, message: "failed"), now: tick(), stats: &stats)
    }

    /// The timer asked for by `action` fired.
    mutating func wake(_ action: ClientMachine.Action) -> ClientMachine.Action {
        guard case .sleep(let until) = action else {
            Issue.record("expected a sleep, got \(action)")
            return action
        }
        now = max(now, until)
        return machine.timerFired(now: now, stats: &stats)
    }

    var tx: TransactionStats { stats.transactions[machine.currentTransaction] }
}
