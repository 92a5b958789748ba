import Testing
@testable import LockstormCore

@Suite struct ClientMachineTests {
    typealias Action = ClientMachine.Action

    /// Settings, two distinct draws, a parameter, and a pause between two statements.
    static let basicYAML = """
        name: t
        params:
          n: 10
        transactions:
          tx:
            settings:
              lock_timeout: 50ms
            let:
              a: uniform(1, :n)
              b: uniform(1, :n) != a
            steps:
              - SELECT :a, :b, :n
              - pause: uniform(1ms, 2ms)
              - UPDATE t SET x = :a
        """

    static func retryYAML(redraw: Bool = false, maxAttempts: Int = 3) -> String {
        """
        name: t
        transactions:
          tx:
            let:
              a: uniform(1, 1000000)
            retry:
              on: [40P01, 40001]
              max_attempts: \(maxAttempts)
              backoff: 10ms
              redraw: \(redraw)
            steps:
              - UPDATE t SET x = x + 1 WHERE id = :a
        """
    }

    static let deadlock = StatementFailure(sqlState: .deadlockDetected, message: "deadlock detected")

    /// Drives `machine` with successes and expired timers until it stops; returns every action.
    static func runUntilStopped(_ machine: inout ClientMachine, stats: inout RunStats, now start: UInt64 = 0, limit: Int = 100_000) -> [Action] {
        var now = start
        var actions = [machine.start(now: now, stats: &stats)]
        while actions.count < limit {
            now += 1_000
            switch actions[actions.count - 1] {
            case .send, .pipeline, .beginAndSend: actions.append(machine.statementSucceeded(now: now, stats: &stats))
            case .sleep(let until):
                now = max(now, until)
                actions.append(machine.timerFired(now: now, stats: &stats))
            case .stop: return actions
            case .reconnect: return actions
            }
        }
        return actions
    }

    /// The parameters of every statement sent that is not BEGIN/COMMIT/ROLLBACK/set_config.
    static func stepParameters(_ actions: [Action]) -> [[String?]] {
        actions.compactMap { action in
            guard case .send(let sql, let parameters) = action, sql.hasPrefix("SELECT $") || sql.hasPrefix("UPDATE") else { return nil }
            return Array(parameters)
        }
    }

    // MARK: A successful transaction

    @Test func successfulTransactionSendsBeginSettingsStepsPauseAndCommit() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)

        #expect(machine.start(now: 1_000, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        #expect(machine.isInTransaction)
        #expect(machine.statementSucceeded(now: 2_000, stats: &stats) == .send(sql: "SELECT set_config($1, $2, true)", parameters: ["lock_timeout", "50ms"]))

        let a = try #require(machine.variables[0].integer), b = try #require(machine.variables[1].integer)
        #expect((1...10).contains(a) && (1...10).contains(b) && a != b)
        #expect(machine.statementSucceeded(now: 3_000, stats: &stats) == .send(sql: "SELECT $1, $2, $3", parameters: [String(a), String(b), "10"]))
        #expect(machine.currentStep == 0)

        let pause = machine.statementSucceeded(now: 4_000, stats: &stats)
        guard case .sleep(let until) = pause else {
            Issue.record("expected a sleep, got \(pause)")
            return
        }
        #expect((4_000 + 1_000_000...4_000 + 2_000_000).contains(until))
        #expect(machine.currentStep == 1)

        #expect(machine.timerFired(now: until, stats: &stats) == .send(sql: "UPDATE t SET x = $1", parameters: [String(a)]))
        #expect(machine.statementSucceeded(now: until + 1_000, stats: &stats) == .send(sql: "COMMIT", parameters: []))
        #expect(stats.transactions[0].committed == 0)

        // COMMIT returns 3 ms after the transaction started: one latency of 3 000 µs.
        let next = machine.statementSucceeded(now: 3_001_000, stats: &stats)
        #expect(next == .send(sql: "BEGIN", parameters: []))
        let tx = stats.transactions[0]
        #expect(tx.committed == 1)
        #expect(tx.attempts == 1)
        #expect(tx.failed == 0)
        #expect(tx.latency.totalCount == 1)
        #expect(tx.latency.equivalentRangeForValue(3_000).contains(tx.latency.max))
    }

    @Test func pausesAreDrawnWithinTheirRange() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 2, seed: 9, transactionLimit: 200)
        var stats = RunStats(transactionCount: 1)
        var now: UInt64 = 0
        var action = machine.start(now: now, stats: &stats)
        var delays: [UInt64] = []
        while action != .stop {
            now += 10
            switch action {
            case .send, .pipeline, .beginAndSend: action = machine.statementSucceeded(now: now, stats: &stats)
            case .sleep(let until):
                delays.append(until - now + 10)
                now = until
                action = machine.timerFired(now: now, stats: &stats)
            case .stop, .reconnect: break
            }
        }
        #expect(delays.count == 200)
        #expect(delays.allSatisfy { (1_000_000...2_000_000).contains($0) })
        #expect(Set(delays).count > 100)
        #expect(stats.transactions[0].committed == 200)
    }

    // MARK: Failures

    @Test func failureRollsBackAndStartsTheNextTransaction() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)  // BEGIN → set_config
        _ = machine.statementSucceeded(now: 2, stats: &stats)  // set_config → first step
        let failure = StatementFailure(sqlState: .uniqueViolation, message: "duplicate key", detail: "Key (id)=(1) already exists.")
        #expect(machine.statementFailed(failure, now: 3, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(machine.isInTransaction)
        #expect(machine.statementSucceeded(now: 4, stats: &stats) == .send(sql: "BEGIN", parameters: []))

        let tx = stats.transactions[0]
        #expect(tx.attempts == 1)
        #expect(tx.failed == 1)
        #expect(tx.committed == 0)
        #expect(tx.retries == 0)
        #expect(tx.count(.other) == 1)
        #expect(tx.latency.totalCount == 0)
        // Not declared by the workload: unexpected, with where it happened.
        var record = ErrorRecord(sqlState: "23505", errorClass: .other, count: 1, sampleMessage: "duplicate key", sampleDetail: "Key (id)=(1) already exists.")
        record.unexpected = 1
        record.sampleTransaction = 0
        record.sampleStep = 0
        #expect(stats.errors == ["23505": record])
        #expect(tx.unexpectedErrors == 1)
    }

    @Test(arguments: [
        (SQLState.deadlockDetected, ErrorClass.deadlock),
        (.lockNotAvailable, .lockNotAvailable),
        (.serializationFailure, .serializationFailure),
        (.queryCanceled, .statementTimeout),
        (.adminShutdown, .connection),
    ])
    func failureIsCountedInItsClass(state: SQLState, errorClass: ErrorClass) throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        #expect(machine.statementFailed(StatementFailure(sqlState: state, message: "x"), now: 1, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        for other in ErrorClass.allCases {
            #expect(stats.transactions[0].count(other) == (other == errorClass ? 1 : 0))
        }
        #expect(stats.errors[state.code]?.errorClass == errorClass)
    }

    @Test func failedCommitIsAFailedAttempt() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)  // BEGIN → step
        #expect(machine.statementSucceeded(now: 2, stats: &stats) == .send(sql: "COMMIT", parameters: []))
        let failure = StatementFailure(sqlState: .serializationFailure, message: "could not serialize access")
        #expect(machine.statementFailed(failure, now: 3, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(stats.transactions[0].failed == 1)
        #expect(stats.transactions[0].count(.serializationFailure) == 1)
    }

    @Test func lostConnectionAsksToReconnectThenCarriesOn() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        // Even with a retryable SQLSTATE, no ROLLBACK can be sent on a lost connection.
        let failure = StatementFailure(sqlState: .deadlockDetected, message: "server closed the connection", connectionLost: true)
        #expect(machine.statementFailed(failure, now: 1, stats: &stats) == .reconnect)
        #expect(!machine.isStopped)
        #expect(!machine.isInTransaction)
        #expect(stats.transactions[0].count(.connection) == 1)
        #expect(stats.transactions[0].failed == 1)
        // Once reconnected, the next transaction begins.
        #expect(machine.reconnected(now: 2, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        #expect(machine.isInTransaction)
    }

    @Test func stopWhileDisconnectedEndsTheClient() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementFailed(StatementFailure(sqlState: nil, message: "gone", connectionLost: true), now: 1, stats: &stats)
        machine.requestStop()
        #expect(machine.reconnected(now: 2, stats: &stats) == .stop)
        #expect(machine.isStopped)
    }

    @Test func failedRollbackAsksToReconnect() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        #expect(machine.statementFailed(Self.deadlock, now: 1, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(machine.statementFailed(StatementFailure(sqlState: nil, message: "no connection"), now: 2, stats: &stats) == .reconnect)
        #expect(!machine.isInTransaction)
        // The ROLLBACK is not an attempt of its own.
        #expect(stats.transactions[0].attempts == 1)
    }

    // MARK: Retries

    @Test func listedSQLStateIsRetriedAfterBackoff() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        #expect(machine.start(now: 0, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        let step = machine.statementSucceeded(now: 1_000, stats: &stats)
        guard case .send(let sql, let firstParameters) = step else {
            Issue.record("expected the step, got \(step)")
            return
        }
        #expect(sql == "UPDATE t SET x = x + 1 WHERE id = $1")
        #expect(machine.statementFailed(Self.deadlock, now: 2_000, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(machine.statementSucceeded(now: 3_000, stats: &stats) == .sleep(until: 3_000 + 10_000_000))
        #expect(!machine.isInTransaction)
        // A retry is counted when it begins, after the backoff.
        #expect(stats.transactions[0].retries == 0)
        #expect(machine.timerFired(now: 10_003_000, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        #expect(stats.transactions[0].retries == 1)
        // Without redraw the retry replays the same values.
        #expect(machine.statementSucceeded(now: 10_004_000, stats: &stats) == .send(sql: sql, parameters: firstParameters))
        #expect(machine.statementSucceeded(now: 10_005_000, stats: &stats) == .send(sql: "COMMIT", parameters: []))
        #expect(machine.statementSucceeded(now: 10_006_000, stats: &stats) == .send(sql: "BEGIN", parameters: []))

        let tx = stats.transactions[0]
        #expect(tx.attempts == 2)
        #expect(tx.committed == 1)
        #expect(tx.failed == 1)
        #expect(tx.retries == 1)
        #expect(tx.abandoned == 0)
        #expect(tx.count(.deadlock) == 1)
        // Latency runs from the first attempt's start, backoff included: 10 006 µs.
        #expect(tx.latency.equivalentRangeForValue(10_006).contains(tx.latency.max))
    }

    @Test func maxAttemptsBoundsTheRetries() throws {
        let plan = try makePlan(Self.retryYAML(maxAttempts: 3))
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        var now: UInt64 = 0
        #expect(machine.start(now: now, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        for attempt in 1...3 {
            now += 1_000
            _ = machine.statementSucceeded(now: now, stats: &stats)  // BEGIN → step
            #expect(machine.statementFailed(Self.deadlock, now: now, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
            let afterRollback = machine.statementSucceeded(now: now, stats: &stats)
            if attempt < 3 {
                #expect(afterRollback == .sleep(until: now + 10_000_000))
                now += 10_000_000
                #expect(machine.timerFired(now: now, stats: &stats) == .send(sql: "BEGIN", parameters: []))
            } else {
                // The third attempt was the last: the next transaction begins at once.
                #expect(afterRollback == .send(sql: "BEGIN", parameters: []))
            }
        }
        let tx = stats.transactions[0]
        #expect(tx.attempts == 3)
        #expect(tx.failed == 3)
        #expect(tx.retries == 2)
        #expect(tx.abandoned == 1)
        #expect(tx.count(.deadlock) == 3)
        #expect(stats.errors["40P01"]?.count == 3)
    }

    @Test func unlistedSQLStateIsNotRetried() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)
        _ = machine.statementFailed(StatementFailure(sqlState: .lockNotAvailable, message: "could not obtain lock"), now: 2, stats: &stats)
        #expect(machine.statementSucceeded(now: 3, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        #expect(stats.transactions[0].retries == 0)
        #expect(stats.transactions[0].count(.lockNotAvailable) == 1)
    }

    @Test func redrawDrawsNewValuesForTheRetry() throws {
        let plan = try makePlan(Self.retryYAML(redraw: true))
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        let first = machine.statementSucceeded(now: 1, stats: &stats)
        let firstValue = machine.variables
        _ = machine.statementFailed(Self.deadlock, now: 2, stats: &stats)
        guard case .sleep(let until) = machine.statementSucceeded(now: 3, stats: &stats) else {
            Issue.record("expected a backoff")
            return
        }
        _ = machine.timerFired(now: until, stats: &stats)
        let second = machine.statementSucceeded(now: until + 1, stats: &stats)
        // One value in a million: with this seed the two draws differ.
        #expect(machine.variables != firstValue)
        #expect(first != second)
        guard case .send(_, let parameters) = second else {
            Issue.record("expected the step, got \(second)")
            return
        }
        #expect(parameters == [machine.variables[0].bindText])
    }

    @Test func stopRequestedDuringBackoffStopsInsteadOfRetrying() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)
        _ = machine.statementFailed(Self.deadlock, now: 2, stats: &stats)
        guard case .sleep(let until) = machine.statementSucceeded(now: 3, stats: &stats) else {
            Issue.record("expected a backoff")
            return
        }
        machine.requestStop()
        #expect(machine.timerFired(now: until, stats: &stats) == .stop)
        #expect(machine.isStopped)
        #expect(stats.transactions[0].attempts == 1)
    }

    @Test func stopRequestedBeforeAFailureSkipsTheRetry() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)
        machine.requestStop()
        #expect(machine.statementFailed(Self.deadlock, now: 2, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(machine.statementSucceeded(now: 3, stats: &stats) == .stop)
        #expect(stats.transactions[0].retries == 0)
    }

    // MARK: Stopping

    @Test func transactionLimitStopsAfterThatManyTransactions() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, transactionLimit: 3)
        var stats = RunStats(transactionCount: 1)
        let actions = Self.runUntilStopped(&machine, stats: &stats)
        #expect(actions.last == .stop)
        #expect(actions.filter { $0 == .send(sql: "BEGIN", parameters: []) }.count == 3)
        #expect(actions.filter { $0 == .send(sql: "COMMIT", parameters: []) }.count == 3)
        #expect(stats.transactions[0].committed == 3)
        #expect(machine.isStopped)
    }

    @Test func transactionLimitOfZeroStopsAtOnce() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, transactionLimit: 0)
        var stats = RunStats(transactionCount: 1)
        #expect(machine.start(now: 0, stats: &stats) == .stop)
    }

    @Test func requestStopFinishesTheCurrentTransactionThenStops() throws {
        let plan = try makePlan(Self.basicYAML)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)  // → set_config
        machine.requestStop()
        #expect(machine.statementSucceeded(now: 2, stats: &stats) == .send(sql: "SELECT $1, $2, $3", parameters: StatementParameters(machine.variables.map(\.bindText) + ["10"])))
        guard case .sleep(let until) = machine.statementSucceeded(now: 3, stats: &stats) else {
            Issue.record("expected the pause")
            return
        }
        #expect(machine.timerFired(now: until, stats: &stats) == .send(sql: "UPDATE t SET x = $1", parameters: [machine.variables[0].bindText]))
        #expect(machine.statementSucceeded(now: until + 1, stats: &stats) == .send(sql: "COMMIT", parameters: []))
        #expect(machine.statementSucceeded(now: until + 2, stats: &stats) == .stop)
        #expect(stats.transactions[0].committed == 1)
    }

    // MARK: Determinism

    @Test func sameSeedGivesTheSameParameterSequences() throws {
        let plan = try makePlan(Self.basicYAML)
        var first = ClientMachine(plan: plan, clientIndex: 4, seed: 2024, transactionLimit: 50)
        var second = ClientMachine(plan: plan, clientIndex: 4, seed: 2024, transactionLimit: 50)
        var other = ClientMachine(plan: plan, clientIndex: 5, seed: 2024, transactionLimit: 50)
        var stats = RunStats(transactionCount: 1)
        let a = Self.runUntilStopped(&first, stats: &stats)
        let b = Self.runUntilStopped(&second, stats: &stats)
        let c = Self.runUntilStopped(&other, stats: &stats)
        #expect(Self.stepParameters(a).count == 100)
        #expect(Self.stepParameters(a) == Self.stepParameters(b))
        #expect(a == b)
        #expect(Self.stepParameters(a) != Self.stepParameters(c))
    }

    /// A seed names a run: `lockstorm run --seed N` must send the same values
    /// in every version, so a run can be reproduced later. The digest below was
    /// taken from this workload's first 400 transactions; a change to how
    /// values are drawn or formatted changes it.
    @Test func aSeedDrawsTheSameValuesInEveryVersion() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              mixed:
                weight: 3
                let:
                  a: uniform(-50, 1000000)
                  b: uniform(1, 4) != a
                  c: zipf(1, 1000, 1.1)
                  d: hotspot(1, 100000, 0.1, 0.9) != c
                  e: choice('red', 'green', 'blue')
                  f: choice(1, 2.5, 3) != b
                think: uniform(0ms, 2ms)
                steps:
                  - SELECT :a, :b, :c, :d, :e, :f, :client_id
                  - pause: uniform(1ms, 3ms)
              plain:
                weight: 1
                let:
                  x: uniform(1, 9223372036854775806)
                steps:
                  - UPDATE t SET x = :x
            """)
        var machine = ClientMachine(plan: plan, clientIndex: 3, seed: 42, transactionLimit: 400)
        var stats = RunStats(transactionCount: 2)
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a, 64-bit
        func mix(_ text: String) {
            for byte in text.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3 }
        }
        for action in Self.runUntilStopped(&machine, stats: &stats) {
            switch action {
            case .send(let sql, let parameters): mix("\(sql)|\(parameters.map { $0 ?? "NULL" }.joined(separator: ","))\n")
            case .sleep(let until): mix("sleep \(until)\n")
            default: mix("\(action)\n")
            }
        }
        #expect(stats.transactions.map(\.committed).reduce(0, +) == 400)
        #expect(digest == 465_698_104_505_792_477)
    }

    @Test func distinctDrawsAreNeverEqual() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                let:
                  a: uniform(1, 2)
                  b: uniform(1, 2) != a
                  c: uniform(1, 3) != a, b
                steps:
                  - SELECT :a, :b, :c
            """)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 7, transactionLimit: 300)
        var stats = RunStats(transactionCount: 1)
        let rows = Self.stepParameters(Self.runUntilStopped(&machine, stats: &stats))
        #expect(rows.count == 300)
        for row in rows {
            #expect(Set(row).count == 3)
            #expect(row[2] == "3")
        }
        #expect(Set(rows.map { $0[0] }) == ["1", "2"])
    }

    @Test func weightedChoiceDecidesWhichTransactionRuns() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              skipped:
                weight: 0
                steps: [SELECT 0]
              chosen:
                steps: [SELECT 1]
            """)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, transactionLimit: 20)
        var stats = RunStats(transactionCount: 2)
        let actions = Self.runUntilStopped(&machine, stats: &stats)
        #expect(!actions.contains(.send(sql: "SELECT 0", parameters: [])))
        #expect(actions.filter { $0 == .send(sql: "SELECT 1", parameters: []) }.count == 20)
        #expect(stats.transactions[0].attempts == 0)
        #expect(stats.transactions[1].committed == 20)
        #expect(machine.currentTransaction == 1)
    }

    @Test func aStopDuringBackoffEndsTheTransactionWithoutCountingARetry() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)                       // BEGIN done → step
        #expect(machine.statementFailed(Self.deadlock, now: 2, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        guard case .sleep(let until) = machine.statementSucceeded(now: 3, stats: &stats) else {
            Issue.record("expected a backoff")
            return
        }
        #expect(stats.transactions[0].retries == 0)
        machine.requestStop()
        #expect(machine.timerFired(now: until, stats: &stats) == .stop)
        // One failed attempt, never retried: it finally failed.
        #expect(stats.transactions[0].failed == 1)
        #expect(stats.transactions[0].retries == 0)
        #expect(stats.transactions[0].abandoned == 1)
    }

    @Test func aStatementCanceledAtTheEndOfTheRunIsNotCounted() throws {
        let plan = try makePlan(Self.retryYAML())
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        _ = machine.statementSucceeded(now: 1, stats: &stats)
        machine.requestStop()
        machine.cancelInFlight()
        let canceled = StatementFailure(sqlState: .queryCanceled, message: "canceling statement due to user request")
        #expect(machine.statementFailed(canceled, now: 2, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(machine.statementSucceeded(now: 3, stats: &stats) == .stop)
        #expect(stats.transactions[0].attempts == 0)
        #expect(stats.errors.isEmpty)
    }
}
