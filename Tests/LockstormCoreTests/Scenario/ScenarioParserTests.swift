import Foundation
import Testing
@testable import LockstormCore

/// A shipped scenario's text, read relative to this file.
func scenarioText(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("workloads/scenarios/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

func scenarioDiagnostics(_ text: String) -> [String] {
    do {
        _ = try ScenarioParser.parse(text, file: "s.yaml")
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

@Suite("Scenario parser: strict, bound, every problem with its place")
struct ScenarioParserTests {
    @Test("the shipped scenarios parse: step counts include the appended COMMIT, values are bind parameters")
    func shippedScenarios() throws {
        let unordered = try ScenarioParser.parse(try scenarioText("transfer-unordered.yaml"), file: "u")
        #expect(unordered.sessions.map(\.name) == ["t1", "t2"])
        #expect(unordered.stepCounts == [3, 3])
        let first = unordered.sessions[0].steps[0]
        #expect(first.statement.sql == "UPDATE accounts SET balance = balance - $1 WHERE id = $2")
        #expect(first.statement.parameters == ["10", "1"])
        #expect(unordered.sessions[1].steps[2].isImplicitCommit)
        #expect(unordered.setup.count == 2)
        // A name used twice is bound once: VALUES ($1, $2), ($3, $2).
        #expect(unordered.setup[1].parameters == ["1", "100", "2"])
        #expect(try ScenarioParser.parse(try scenarioText("transfer-ordered.yaml"), file: "o").stepCounts == [4, 4])
        #expect(try ScenarioParser.parse(try scenarioText("nowait.yaml"), file: "n").stepCounts == [2, 2])
    }

    @Test("unknown keys get a suggestion and a line:column")
    func unknownKeys() {
        let text = """
            name: x
            sesions: {}
            """
        let found = scenarioDiagnostics(text)
        #expect(found.contains("s.yaml:2:1: unknown key 'sesions' in the scenario; did you mean 'sessions'?"))
        #expect(found.contains { $0.contains("missing 'sessions'") })
    }

    @Test("session problems: unknown parameter, BEGIN inside a transaction, COMMIT before the end, two statements in a step")
    func sessionProblems() {
        let text = """
            name: x
            params: { id: 1 }
            sessions:
              a:
                steps:
                  - SELECT * FROM t WHERE id = :idd
                  - COMMIT
                  - SELECT 1
              b:
                isolaton: serializable
                steps: [SELECT 1; SELECT 2]
              c:
                steps: [BEGIN, SELECT 1, BEGIN, COMMIT, COMMIT]
            """
        let found = scenarioDiagnostics(text)
        #expect(found.contains("s.yaml:6:9: session 'a' uses ':idd', which is not a parameter; did you mean 'id'?"))
        #expect(found.contains { $0.hasPrefix("s.yaml:7:9: 'COMMIT' ends the transaction, so it can only be the last step") })
        #expect(found.contains("s.yaml:13:30: 'BEGIN' inside a transaction that is still open in session 'c': end it with COMMIT or ROLLBACK first"))
        #expect(found.contains("s.yaml:13:45: 'COMMIT' has no transaction to end: session 'c' runs this step in autocommit (write BEGIN before the transaction's first step)"))
        #expect(found.contains("s.yaml:10:5: unknown key 'isolaton' in session 'b'; did you mean 'isolation'?"))
        #expect(found.contains { $0.hasPrefix("s.yaml:11:13: a step is one statement") })
        #expect(found.count == 6, "\(found)")
    }

    @Test("session params override the scenario's; an explicit last ROLLBACK replaces the implicit COMMIT")
    func sessionParamsAndRollback() throws {
        let text = """
            name: x
            params: { id: 1 }
            sessions:
              a:
                params: { id: 7 }
                isolation: repeatable_read
                settings: { lock_timeout: 100ms }
                steps: [SELECT :id, ROLLBACK]
              b: [SELECT :id]
            """
        let scenario = try ScenarioParser.parse(text, file: "s.yaml")
        #expect(scenario.sessions[0].steps[0].statement.parameters == ["7"])
        #expect(scenario.sessions[0].steps.count == 2)
        #expect(scenario.sessions[0].begin == "BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(scenario.sessions[0].settings == [BoundStatement(sql: "SELECT set_config($1, $2, true)", parameters: ["lock_timeout", "100ms"])])
        #expect(scenario.sessions[1].steps[0].statement.parameters == ["1"])
        #expect(scenario.stepCounts == [2, 2])
    }

    @Test("an order names sessions or session steps, is completed, and must keep each session's order")
    func orders() throws {
        let base = """
            name: x
            sessions:
              a: [SELECT 1, SELECT 2]
              b: [SELECT 3]
            """
        let scenario = try ScenarioParser.parse(base + "\norder: [a, b.1, a.2]\ninterleavings: [[b, a], 'a b a']", file: "s.yaml")
        #expect(scenario.order == Interleaving([0, 1, 0, 0, 1]))
        #expect(scenario.interleavings == [Interleaving([1, 0, 0, 0, 1]), Interleaving([0, 1, 0, 0, 1])])
        let found = scenarioDiagnostics(base + "\norder: [a.2, c, b, b, b]")
        #expect(found.contains("s.yaml:5:9: 'order' lists 'a.2' where 'a.1' comes next: a session's steps run in their own order"))
        #expect(found.contains("s.yaml:5:14: 'order' names 'c', which is not a session; did you mean 'a'?"))
        #expect(found.contains("s.yaml:5:23: 'order' has more steps of 'b' than its 2 (the last is its COMMIT)"))
    }

    @Test("expect takes a known outcome and a signature; deadlock_timeout needs a unit")
    func expectations() throws {
        let base = """
            name: x
            sessions: { a: [SELECT 1] }
            """
        let scenario = try ScenarioParser.parse(base + "\ndeadlock_timeout: 20ms\nexpect: { outcome: deadlock, signature: 'a:0/ShareLock/transaction' }", file: "s.yaml")
        #expect(scenario.expectation == ScenarioExpectation(outcome: .deadlock, signature: "a:0/ShareLock/transaction"))
        #expect(scenario.deadlockTimeoutMilliseconds == 20)
        let found = scenarioDiagnostics(base + "\ndeadlock_timeout: 20\nexpect: { outcome: deadlocked }")
        #expect(found.contains("s.yaml:3:19: 'deadlock_timeout' '20' needs a unit: ms, s, min or h (for example 20s)"))
        #expect(found.contains("s.yaml:4:20: unknown outcome 'deadlocked'; did you mean 'deadlock'?"))
        // 0ms is a duration, too short: the message says what is allowed.
        #expect(scenarioDiagnostics(base + "\ndeadlock_timeout: 0ms") == ["s.yaml:3:19: 'deadlock_timeout' must be at least 1ms, such as 10s or 500ms; '0ms' is too short"])
    }

    @Test("null steps, raw placeholders, YAML errors and every duplicate key are reported in lockstorm's words")
    func badInput() {
        #expect(scenarioDiagnostics("name: x\nsessions:\n  a: [null, 'SELECT $1']\n") == [
            "s.yaml:3:7: a step is null; expected a SQL statement, or a mapping with 'sql'",
            "s.yaml:3:21: '$1' is a raw bind placeholder: lockstorm numbers bind parameters itself from ':names', so write the parameter or variable by name (:id) instead",
        ])
        #expect(scenarioDiagnostics("name: x\nsessions:\n  a: [SELECT 1]\n  a: [SELECT 2]\n  a: [SELECT 3]\n") == [
            "s.yaml:4:3: duplicate key 'a': each key may appear once in a mapping",
            "s.yaml:5:3: duplicate key 'a': each key may appear once in a mapping",
        ])
        // Not Yams' multi-line description with a snippet.
        #expect(scenarioDiagnostics("name: 'x\nsessions: {}\n") == ["s.yaml:3:1: invalid YAML: the file ends inside a quoted string (a quote is not closed) (while scanning a quoted scalar at 1:7)"])
    }

    // MARK: Autocommit, several transactions, row checks, validate's count

    @Test("autocommit steps: no BEGIN, no COMMIT appended; settings hold for the session")
    func autocommitSession() throws {
        let text = """
            name: x
            sessions:
              a:
                autocommit: true
                settings: { lock_timeout: 100ms }
                steps: [UPDATE t SET v = 1, SELECT v FROM t]
              b: [SELECT 1]
            """
        let scenario = try ScenarioParser.parse(text, file: "s.yaml")
        let a = scenario.sessions[0]
        #expect(a.steps.map(\.text) == ["UPDATE t SET v = 1", "SELECT v FROM t"])
        #expect(a.steps.allSatisfy { !$0.inTransaction && $0.begin == nil })
        #expect(a.settings.isEmpty)
        #expect(a.sessionSettings == [BoundStatement(sql: "SELECT set_config($1, $2, false)", parameters: ["lock_timeout", "100ms"])])
        #expect(a.isMultiTransaction)
        // The one-transaction session is unchanged: BEGIN with its first step, COMMIT appended.
        #expect(scenario.sessions[1].steps.map(\.begin) == ["BEGIN", nil])
        #expect(scenario.sessions[1].steps.allSatisfy { $0.inTransaction })
        #expect(!scenario.sessions[1].isMultiTransaction)
        #expect(scenario.stepCounts == [2, 2])
        // An isolation level needs a transaction.
        #expect(scenarioDiagnostics("name: x\nsessions:\n  a:\n    autocommit: true\n    isolation: serializable\n    steps: [SELECT 1]\n")
            == ["s.yaml:6:12: session 'a' is autocommit and has no BEGIN: 'isolation' applies to transactions only"])
        #expect(scenarioDiagnostics("name: x\nsessions:\n  a:\n    autocommit: yes\n    steps: [SELECT 1]\n")
            == ["s.yaml:4:17: 'autocommit' must be true or false, not 'yes'"])
    }

    @Test("several transactions per session: BEGIN is sent with the next step and not counted; steps between run in autocommit; an open last transaction gets the COMMIT")
    func severalTransactions() throws {
        let text = """
            name: x
            sessions:
              a:
                isolation: repeatable read
                steps:
                  - BEGIN
                  - SELECT 1
                  - COMMIT
                  - UPDATE t SET v = 2
                  - BEGIN ISOLATION LEVEL SERIALIZABLE
                  - SELECT 2
              b: [SELECT 3]
            """
        let scenario = try ScenarioParser.parse(text, file: "s.yaml")
        let a = scenario.sessions[0]
        #expect(a.steps.map(\.text) == ["SELECT 1", "COMMIT", "UPDATE t SET v = 2", "SELECT 2", "COMMIT"])
        // A bare BEGIN takes the session's isolation; one with options is sent as written.
        #expect(a.steps.map(\.begin) == ["BEGIN ISOLATION LEVEL REPEATABLE READ", nil, nil, "BEGIN ISOLATION LEVEL SERIALIZABLE", nil])
        #expect(a.steps.map(\.inTransaction) == [true, true, false, true, true])
        #expect(a.steps[4].isImplicitCommit)
        #expect(scenario.stepCounts == [5, 2])
        #expect(Interleavings.count(stepCounts: scenario.stepCounts) == 21)
    }

    @Test("rows: the rows a step must return, compared as invariants compare; bad shapes are reported where they are")
    func rowChecks() throws {
        let text = """
            name: x
            sessions:
              a:
                - sql: SELECT id, name, ok, note FROM t ORDER BY id
                  rows: [[1, alice, true, null], [2.50, '007', false, ~]]
                - sql: DELETE FROM t WHERE false RETURNING id
                  rows: []
            """
        let scenario = try ScenarioParser.parse(text, file: "s.yaml")
        let expected = try #require(scenario.sessions[0].steps[0].expectedRows)
        #expect(expected == [[.int(1), .string("alice"), .bool(true), .null], [.double(2.5), .string("007"), .bool(false), .null]])
        #expect(scenario.sessions[0].steps[1].expectedRows == [])
        #expect(scenario.sessions[0].steps[2].expectedRows == nil)
        // As the server sends them: text, t/f, NULL as nil.
        #expect(ScenarioStep.rowsMatch([["1", "alice", "t", nil], ["2.5000", "007", "f", nil]], expected: expected))
        #expect(!ScenarioStep.rowsMatch([["1", "alice", "t", nil], ["2.5", "7", "f", nil]], expected: expected), "'007' is text: compared as text")
        #expect(!ScenarioStep.rowsMatch([["1", "alice", "t", ""], ["2.5", "007", "f", nil]], expected: expected), "an empty string is not NULL")
        #expect(!ScenarioStep.rowsMatch([["1", "alice", "t", nil]], expected: expected), "a row missing")
        #expect(!ScenarioStep.rowsMatch([["1", "alice", "t"], ["2.5", "007", "f"]], expected: expected), "a column missing")
        #expect(!ScenarioStep.rowsMatch([["2.5", "007", "f", nil], ["1", "alice", "t", nil]], expected: expected), "rows compare in order")
        #expect(ScenarioStep.rowsMatch([], expected: []))
        let found = scenarioDiagnostics("name: x\nsessions:\n  a:\n    - { sql: SELECT 1, rows: [1] }\n    - { sql: SELECT 1, rows: 1 }\n    - { sql: SELECT 1, rows: [[[1]]] }\n")
        #expect(found == [
            "s.yaml:4:31: each row of 'rows' must be a list of values, such as [1, 'a']",
            "s.yaml:5:30: 'rows' must be a list of rows, each a list of values, such as [[1, 'a'], [2, 'b']] ([] for no row)",
            "s.yaml:6:32: a value in 'rows' must be a number, string, boolean or null",
        ])
    }

    @Test("statements PostgreSQL refuses inside a transaction block are rejected there, with file:line:col, and allowed in autocommit")
    func nonTransactionalStatements() throws {
        let text = """
            name: x
            sessions:
              a:
                - CREATE INDEX CONCURRENTLY i ON t (v)
                - vacuum t
                - CREATE UNIQUE INDEX CONCURRENTLY j ON t (v)
                - /* maintenance */ ALTER SYSTEM SET work_mem = '8MB'
                - DROP DATABASE d
                - REINDEX TABLE CONCURRENTLY t
                - SELECT 'VACUUM'
                - CREATE INDEX i2 ON t (v)
              b:
                steps:
                  - VACUUM t
                  - BEGIN
                  - CREATE DATABASE d
                  - COMMIT
            """
        let found = scenarioDiagnostics(text)
        #expect(found == [
            "s.yaml:4:7: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and session 'a' runs this step in one: run it in a session of its own with 'autocommit: true'",
            "s.yaml:5:7: VACUUM cannot run inside a transaction block, and session 'a' runs this step in one: run it in a session of its own with 'autocommit: true'",
            "s.yaml:6:7: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and session 'a' runs this step in one: run it in a session of its own with 'autocommit: true'",
            "s.yaml:7:7: ALTER SYSTEM cannot run inside a transaction block, and session 'a' runs this step in one: run it in a session of its own with 'autocommit: true'",
            "s.yaml:8:7: DROP DATABASE cannot run inside a transaction block, and session 'a' runs this step in one: run it in a session of its own with 'autocommit: true'",
            "s.yaml:9:7: REINDEX … CONCURRENTLY cannot run inside a transaction block, and session 'a' runs this step in one: run it in a session of its own with 'autocommit: true'",
            "s.yaml:16:9: CREATE DATABASE cannot run inside a transaction block, and session 'b' runs this step in one: move it outside BEGIN … COMMIT",
        ], "\(found)")
        // In autocommit they are fine.
        let scenario = try ScenarioParser.parse("name: x\nsessions:\n  a:\n    autocommit: true\n    steps: [VACUUM t, CREATE INDEX CONCURRENTLY i ON t (v)]\n", file: "s.yaml")
        #expect(scenario.stepCounts == [2])
    }
}
