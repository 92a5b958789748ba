import Testing
@testable import LockstormCore

/// `combineBegin`: BEGIN goes out with the attempt's first statement
/// (`beginAndSend`), unless a pause comes first.
private func combined(_ yaml: String, limit: Int? = nil) throws -> MachineScript {
    try MachineScript(yaml, limit: limit, combineBegin: true)
}

private func send(_ sql: String, _ parameters: StatementParameters = []) -> ClientMachine.Action {
    .send(sql: sql, parameters: parameters)
}

private func withBegin(_ sql: String, _ parameters: StatementParameters = [], begin: String = "BEGIN") -> ClientMachine.Action {
    .beginAndSend(begin: begin, sql: sql, parameters: parameters)
}

@Suite struct CombinedBeginTests {
    @Test func beginGoesOutWithTheFirstStepAndTheRestAsUsual() throws {
        var script = try combined("""
            name: t
            params: { amount: 5 }
            transactions:
              transfer:
                let: { src: 3, dst: 4 }
                steps:
                  - UPDATE accounts SET balance = balance - :amount WHERE id = :src
                  - UPDATE accounts SET balance = balance + :amount WHERE id = :dst
            """, limit: 2)
        #expect(script.start() == withBegin("UPDATE accounts SET balance = balance - $1 WHERE id = $2", ["5", "3"]))
        #expect(script.machine.currentStep == 0)
        #expect(script.machine.isInTransaction)
        #expect(script.ok() == send("UPDATE accounts SET balance = balance + $1 WHERE id = $2", ["5", "4"]))
        #expect(script.ok() == send("COMMIT"))
        #expect(script.ok() == withBegin("UPDATE accounts SET balance = balance - $1 WHERE id = $2", ["5", "3"]))
        #expect(script.tx.committed == 1)
    }

    @Test func isolationLevelAndTheFirstSettingTravelTogether() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                isolation: serializable
                settings: { lock_timeout: 50ms, statement_timeout: 1s }
                steps:
                  - SELECT 1
            """)
        guard case .beginAndSend(let begin, let sql, let parameters) = script.start() else {
            Issue.record("expected BEGIN with the first setting")
            return
        }
        #expect(begin == "BEGIN ISOLATION LEVEL SERIALIZABLE")
        #expect(sql.contains("set_config"))
        #expect(parameters.contains("lock_timeout"))
        // The second setting and the step follow one by one.
        guard case .send(let second, let secondParameters) = script.ok() else {
            Issue.record("expected the second setting")
            return
        }
        #expect(second.contains("set_config"))
        #expect(secondParameters.contains("statement_timeout"))
        #expect(script.ok() == send("SELECT 1"))
        #expect(script.ok() == send("COMMIT"))
    }

    @Test func aPauseFirstMeansBeginAlone() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                steps:
                  - pause: 2ms
                  - SELECT 1
            """)
        #expect(script.start() == send("BEGIN"))
        let pause = script.ok()
        guard case .sleep = pause else {
            Issue.record("expected the pause after BEGIN, got \(pause)")
            return
        }
        #expect(script.wake(pause) == send("SELECT 1"))
        #expect(script.ok() == send("COMMIT"))
    }

    @Test func aStepSkippedByItsIfIsPassedOverAsAfterASeparateBegin() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                let: { n: 1 }
                steps:
                  - sql: SELECT 'skipped'
                    if: n == 2
                  - SELECT 'runs'
            """)
        #expect(script.start() == withBegin("SELECT 'runs'"))
        #expect(script.machine.currentStep == 1)
        #expect(script.ok() == send("COMMIT"))
    }

    @Test func everyStepSkippedMeansBeginWithCommit() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                let: { n: 1 }
                steps:
                  - sql: SELECT 'skipped'
                    if: n == 2
            """, limit: 1)
        #expect(script.start() == withBegin("COMMIT"))
        #expect(script.ok() == .stop)
        #expect(script.tx.committed == 1)
    }

    @Test func aSkippedStepThenAPauseMeansBeginAlone() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                let: { n: 1 }
                steps:
                  - sql: SELECT 'skipped'
                    if: n == 2
                  - pause: 1ms
                  - SELECT 'after the pause'
            """)
        #expect(script.start() == send("BEGIN"))
    }

    @Test func theFirstStepsExpectAndRetryApplyAsUsual() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                retry: { on: [deadlock_detected], max_attempts: 3 }
                steps:
                  - sql: SELECT 1 FOR UPDATE NOWAIT
                    expect: [lock_not_available]
                  - SELECT 2
            """, limit: 2)
        #expect(script.start() == withBegin("SELECT 1 FOR UPDATE NOWAIT"))
        // 55P03 of the first step: its expect says roll back, no retry.
        #expect(script.fail(.lockNotAvailable) == send("ROLLBACK"))
        #expect(script.ok() == withBegin("SELECT 1 FOR UPDATE NOWAIT"))
        #expect(script.tx.failed == 1)
        #expect(script.tx.retries == 0)
        // A deadlock there is retried, and the retry combines BEGIN again.
        #expect(script.fail(.deadlockDetected) == send("ROLLBACK"))
        let backoff = script.ok()
        #expect(script.wake(backoff) == withBegin("SELECT 1 FOR UPDATE NOWAIT"))
        #expect(script.tx.retries == 1)
    }

    @Test func aFailedBeginIsNotTheFirstStepsFailure() throws {
        var script = try combined("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    expect: { query_canceled: retry }
            """, limit: 1)
        #expect(script.start() == withBegin("SELECT 1"))
        // The step's expect does not cover BEGIN: rolled back, counted, not retried.
        #expect(script.beginFailed(.queryCanceled) == send("ROLLBACK"))
        #expect(script.machine.currentStep == nil)
        #expect(script.ok() == .stop)
        #expect(script.tx.failed == 1)
        #expect(script.tx.retries == 0)
    }

    @Test func autocommitAndPipelinedTransactionsAreUnchanged() throws {
        var autocommit = try combined("""
            name: t
            transactions:
              tx:
                autocommit: true
                steps:
                  - SELECT 1
            """)
        #expect(autocommit.start() == send("SELECT 1"))
        var pipelined = try combined("""
            name: t
            transactions:
              tx:
                pipeline: true
                steps:
                  - SELECT 1
            """)
        guard case .pipeline(let statements) = pipelined.start() else {
            Issue.record("expected a pipeline")
            return
        }
        #expect(statements.map(\.sql) == ["BEGIN", "SELECT 1", "COMMIT"])
    }

    @Test func drawsAreTheSameWithAndWithoutCombining() throws {
        let yaml = """
            name: t
            transactions:
              tx:
                let:
                  a: uniform(1, 1000000)
                  b: uniform(1, 1000000)
                steps:
                  - SELECT :a, :b
                  - pause: uniform(1ms, 5ms)
                  - SELECT :b
            """
        let plan = try makePlan(yaml)
        var combined = ClientMachine(plan: plan, clientIndex: 3, seed: 42, combineBegin: true)
        var separate = ClientMachine(plan: plan, clientIndex: 3, seed: 42)
        var stats = RunStats(transactionCount: 1)
        var combinedStatements: [ClientMachine.Action] = []
        var separateStatements: [ClientMachine.Action] = []
        var now: UInt64 = 1
        var action = combined.start(now: now, stats: &stats)
        while combinedStatements.count < 12 {
            now += 1_000_000
            switch action {
            case .beginAndSend(_, let sql, let parameters): combinedStatements.append(send(sql, parameters))
            case .send(let sql, _) where sql == "BEGIN": break
            case .send: combinedStatements.append(action)
            default: break
            }
            if case .sleep(let until) = action {
                now = max(now, until)
                action = combined.timerFired(now: now, stats: &stats)
            } else {
                action = combined.statementSucceeded(now: now, stats: &stats)
            }
        }
        action = separate.start(now: 1, stats: &stats)
        now = 1
        while separateStatements.count < 12 {
            now += 1_000_000
            if case .send(let sql, _) = action, sql != "BEGIN" { separateStatements.append(action) }
            if case .sleep(let until) = action {
                now = max(now, until)
                action = separate.timerFired(now: now, stats: &stats)
            } else {
                action = separate.statementSucceeded(now: now, stats: &stats)
            }
        }
        #expect(combinedStatements == separateStatements)
    }
}
