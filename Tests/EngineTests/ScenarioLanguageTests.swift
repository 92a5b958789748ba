import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// The scenario language's autocommit steps, several transactions per
/// session and row checks, run through explore on a real server: outcome
/// counts that follow by hand, and the one interleaving that proves each.
@Suite("Scenario language: autocommit, several transactions, row checks", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ScenarioLanguageTests {
    private static let accounts = """
        name: x
        setup: |
          CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
          INSERT INTO accounts VALUES (1, 100), (2, 100);
        teardown: DROP TABLE IF EXISTS accounts;

        """

    private func explore(_ text: String, dsn: ConnectionString) throws -> (Scenario, [InterleavingResult]) {
        let scenario = try ScenarioParser.parse(Self.accounts + text, file: "s.yaml")
        let runner = try ScenarioRunner(scenario: scenario, dsn: dsn)
        defer { runner.finish() }
        return (scenario, try Interleavings.all(stepCounts: scenario.stepCounts).map { try runner.run($0) })
    }

    private func counts(_ results: [InterleavingResult]) -> [OutcomeKind: Int] {
        Dictionary(grouping: results, by: \.outcome.kind).mapValues(\.count)
    }

    private func blockedSteps(_ result: InterleavingResult) -> [(session: Int, step: Int)] {
        result.events.compactMap { event in
            if case .blocked = event.kind { return (event.session, event.step) }
            return nil
        }
    }

    @Test("autocommit steps commit one by one: the row lock of w's first UPDATE is gone before its second, so r's FOR UPDATE never waits")
    func autocommitSteps() throws {
        // w: two autocommitted UPDATEs of row 1; r: one transaction locking it.
        // Of the C(4,2) = 6 orders, w waits exactly when one of its UPDATEs
        // comes after r.1 and before r's COMMIT (3 orders); r never waits.
        let text = """
            sessions:
              w:
                autocommit: true
                steps:
                  - UPDATE accounts SET balance = balance + 1 WHERE id = 1
                  - UPDATE accounts SET balance = balance + 1 WHERE id = 1
              r: [SELECT balance FROM accounts WHERE id = 1 FOR UPDATE]
            """
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let (scenario, results) = try explore(text, dsn: server.dsn)
            #expect(scenario.stepCounts == [2, 2])
            #expect(results.count == 6)
            #expect(counts(results) == [.blocked: 3, .committed: 3])
            for result in results {
                let rFirst = result.interleaving.sessions.firstIndex(of: 1) ?? 0
                let rCommit = result.interleaving.sessions.lastIndex(of: 1) ?? 0
                let wBetween = result.interleaving.sessions[rFirst...rCommit].contains(0)
                #expect((result.outcome.kind == .blocked) == wBetween, "\(result.interleaving.label(names: ["w", "r"]))")
                #expect(blockedSteps(result).allSatisfy { $0.session == 0 }, "r waited: w held a lock across its steps")
            }
        }
    }

    @Test("two transactions in one session: each holds its lock until its own COMMIT, and the split cannot deadlock where one transaction does")
    func severalTransactionsPerSession() throws {
        // t1 updates row 1 and row 2 in two transactions; t2 updates row 2,
        // then row 1, in one. t1 never holds one row while waiting for the
        // other, so no order of the C(7,3) = 35 deadlocks (the same steps in
        // one transaction deadlock in 12 of 20: transfer-unordered).
        let text = """
            sessions:
              t1:
                steps:
                  - BEGIN
                  - UPDATE accounts SET balance = balance - 10 WHERE id = 1
                  - COMMIT
                  - BEGIN
                  - UPDATE accounts SET balance = balance + 10 WHERE id = 2
                  - COMMIT
              t2:
                - UPDATE accounts SET balance = balance - 5 WHERE id = 2
                - UPDATE accounts SET balance = balance + 5 WHERE id = 1
            """
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let (scenario, results) = try explore(text, dsn: server.dsn)
            #expect(scenario.stepCounts == [4, 3])
            #expect(results.count == 35)
            #expect(counts(results)[.deadlock] == nil, "\(counts(results))")
            #expect(results.allSatisfy { $0.sessions.allSatisfy { $0.failure == nil } })
            // t1.1 t2.1 t2.2 t1.2 t1.3 t1.4 t2.3: t2.2 waits for row 1, which
            // t1's first transaction holds until t1.2 (its COMMIT) — were the
            // BEGIN not sent, t1.1 would have committed by itself and t2.2
            // would not wait; then t1.3, in t1's second transaction, waits
            // for row 2 until t2 commits.
            let order = try #require(results.first { $0.interleaving == Interleaving([0, 1, 1, 0, 0, 0, 1]) })
            #expect(order.outcome.kind == .blocked)
            #expect(blockedSteps(order).map { "\(["t1", "t2"][$0.session]).\($0.step + 1)" } == ["t2.2", "t1.3"])
        }
    }

    @Test("rows: a read that sees another session's autocommitted write is 'rows differ', naming the step and both rows")
    func rowChecks() throws {
        // r reads row 1 in a transaction and expects the balance it started
        // with; w sets it to 50 in autocommit. Of the C(3,1) = 3 orders, only
        // w first makes r read 50 (READ COMMITTED: a new snapshot per statement).
        let text = """
            sessions:
              w:
                autocommit: true
                steps: [UPDATE accounts SET balance = 50 WHERE id = 1]
              r:
                - sql: SELECT id, balance FROM accounts WHERE id = 1
                  rows: [[1, 100]]
            """
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let (_, results) = try explore(text, dsn: server.dsn)
            #expect(results.count == 3)
            #expect(counts(results) == [.wrongRows: 1, .committed: 2])
            let wrong = try #require(results.first { $0.outcome.kind == .wrongRows })
            #expect(wrong.interleaving.sessions.first == 0)
            #expect(wrong.outcome.session == 1)
            let rows = try #require(wrong.sessions[1].wrongRows)
            #expect(rows.step == 0)
            #expect(rows.rows == [["1", "50"]])
            // A row check is not an error: r goes on and commits.
            #expect(wrong.sessions[1].failure == nil)
        }
    }
}
