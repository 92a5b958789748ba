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

    @Test("session problems: unknown parameter, BEGIN as a step, COMMIT before the end, two statements in a step")
    func sessionProblems() {
        let text = """
            name: x
            params: { id: 1 }
            sessions:
              a:
                steps:
                  - SELECT * FROM t WHERE id = :idd
                  - BEGIN
                  - COMMIT
                  - SELECT 1
              b:
                isolaton: serializable
                steps: [SELECT 1; SELECT 2]
            """
        let found = scenarioDiagnostics(text)
        #expect(found.contains("s.yaml:6:9: session 'a' uses ':idd', which is not a parameter; did you mean 'id'?"))
        #expect(found.contains { $0.hasPrefix("s.yaml:7:9: steps must not begin the transaction") })
        #expect(found.contains { $0.hasPrefix("s.yaml:8:9: 'COMMIT' ends the transaction, so it can only be the last step") })
        #expect(found.contains("s.yaml:11:5: unknown key 'isolaton' in session 'b'; did you mean 'isolation'?"))
        #expect(found.contains { $0.hasPrefix("s.yaml:12:13: a step is one statement") })
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
}
