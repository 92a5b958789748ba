import Testing
@testable import LockstormCore

/// `pipeline: true`: the plan accepts it only for independent steps, and the
/// client machine sends the whole attempt at once.
@Suite struct PipelineTests {
    typealias Action = ClientMachine.Action

    static let yaml = """
        name: t
        params:
          n: 100
        transactions:
          tx:
            pipeline: true
            settings:
              lock_timeout: 50ms
            let:
              a: uniform(1, :n)
              b: uniform(1, :n) != a
            retry:
              on: [40P01]
              max_attempts: 2
              backoff: 1ms
            steps:
              - SELECT id FROM t WHERE id IN (:a, :b) FOR UPDATE
              - UPDATE t SET x = x - 1 WHERE id = :a
              - UPDATE t SET x = x + 1 WHERE id = :b
        """

    private func statements(_ action: Action) -> [ClientMachine.PipelinedStatement] {
        guard case .pipeline(let statements) = action else { return [] }
        return statements
    }

    @Test func aPipelinedAttemptIsOneActionFromBeginToCommit() throws {
        let plan = try makePlan(Self.yaml)
        #expect(plan.transactions[0].pipeline)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        let sent = statements(machine.start(now: 0, stats: &stats))
        #expect(sent.map(\.sql) == [
            "BEGIN", "SELECT set_config($1, $2, true)", "SELECT id FROM t WHERE id IN ($1, $2) FOR UPDATE",
            "UPDATE t SET x = x - 1 WHERE id = $1", "UPDATE t SET x = x + 1 WHERE id = $1", "COMMIT",
        ])
        #expect(sent.map(\.step) == [nil, nil, 0, 1, 2, nil])
        #expect(sent[1].parameters == ["lock_timeout", "50ms"])
        // The steps bind the same draws.
        let a = sent[2].parameters[0], b = sent[2].parameters[1]
        #expect(a != b)
        #expect(sent[3].parameters == [a])
        #expect(sent[4].parameters == [b])
        // All succeeded: one commit, and the next attempt is another pipeline.
        let next = machine.statementSucceeded(now: 2_000_000, stats: &stats)
        #expect(stats.total.committed == 1)
        #expect(stats.transactions[0].latency.max >= 1_999)
        #expect(statements(next).count == 6)
    }

    @Test func aFailedStatementRollsBackAndRetriesAsItsStep() throws {
        var machine = ClientMachine(plan: try makePlan(Self.yaml), clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        let first = statements(machine.start(now: 0, stats: &stats))
        // Statement 3 (the first UPDATE, step 1) was the deadlock victim.
        let deadlock = StatementFailure(sqlState: SQLState("40P01"), message: "deadlock detected")
        #expect(machine.pipelineFailed(deadlock, statement: 3, now: 10, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(stats.total.failed == 1)
        #expect(stats.total.count(.deadlock) == 1)
        guard case .sleep(let until) = machine.statementSucceeded(now: 20, stats: &stats) else {
            Issue.record("expected a backoff before the retry")
            return
        }
        // The retry replays the same values, again as one pipeline.
        let retry = statements(machine.timerFired(now: until, stats: &stats))
        #expect(retry == first)
        #expect(stats.total.retries == 1)
    }

    @Test func aFailedCommitOrLostConnectionIsHandledLikeAnyStatement() throws {
        var machine = ClientMachine(plan: try makePlan(Self.yaml), clientIndex: 0, seed: 1)
        var stats = RunStats(transactionCount: 1)
        _ = machine.start(now: 0, stats: &stats)
        let serialization = StatementFailure(sqlState: SQLState("40001"), message: "could not serialize access")
        #expect(machine.pipelineFailed(serialization, statement: 5, now: 10, stats: &stats) == .send(sql: "ROLLBACK", parameters: []))
        #expect(machine.currentStep == nil)
        _ = machine.statementSucceeded(now: 20, stats: &stats)
        let lost = StatementFailure(sqlState: SQLState("08006"), message: "server closed the connection", connectionLost: true)
        #expect(machine.pipelineFailed(lost, statement: 0, now: 30, stats: &stats) == .reconnect)
        #expect(stats.total.count(.connection) == 1)
    }

    @Test func stepsThatNeedEarlierResultsOrWaitAreRejected() throws {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                pipeline: true
                steps:
                  - sql: SELECT 1 AS one
                    into: [one]
                  - pause: 5ms
                  - sql: SELECT :one
                    if: one > 0
                  - sql: SELECT 2
                    on_empty: skip
              auto:
                pipeline: true
                autocommit: true
                steps: [SELECT 1]
            """, file: "t.yaml") == [
            "t.yaml:6:9: transaction 'tx' has 'pipeline: true': a step cannot use 'into' (it needs the results of earlier steps, and a pipeline sends every step before any result is back); drop them or 'pipeline'",
            "t.yaml:8:16: transaction 'tx' has 'pipeline: true': it cannot pause between steps (all statements are sent at once); drop the pause or 'pipeline'",
            "t.yaml:9:9: transaction 'tx' has 'pipeline: true': a step cannot use 'if' (it needs the results of earlier steps, and a pipeline sends every step before any result is back); drop them or 'pipeline'",
            "t.yaml:11:9: transaction 'tx' has 'pipeline: true': a step cannot use 'on_empty' (it needs the results of earlier steps, and a pipeline sends every step before any result is back); drop them or 'pipeline'",
            "t.yaml:13:3: transaction 'auto' has 'pipeline: true' and 'autocommit: true': a pipeline runs as one transaction; drop one of them",
        ])
    }

    @Test func aVariantMayTurnThePipelineOnOrOff() throws {
        let yaml = Self.yaml + """

            variants:
              same:
              plain:
                transactions:
                  tx:
                    pipeline: false
            """
        #expect(try makePlan(yaml, variant: "same").transactions[0].pipeline)
        #expect(try !makePlan(yaml, variant: "plain").transactions[0].pipeline)
        #expect(diagnostics("name: t\ntransactions:\n  tx:\n    pipeline: 3\n    steps: [SELECT 1]\n") == ["w.yaml:4:15: 'pipeline' must be true or false"])
    }
}
