import Testing
@testable import LockstormCore

/// `-M`: statement ids given at plan build, the id of each statement the
/// machine sends, and the refusal of `-M simple` for what it cannot send.
@Suite struct ProtocolModeTests {
    static let transfer = """
        name: t
        params: { accounts: 10 }
        transactions:
          transfer:
            isolation: repeatable read
            settings:
              lock_timeout: 2s
            let:
              src: uniform(1, :accounts)
              dst: uniform(1, :accounts) != src
            steps:
              - UPDATE accounts SET balance = balance - 1 WHERE id = :src
              - pause: 1ms
              - UPDATE accounts SET balance = balance + 1 WHERE id = :dst
          audit:
            steps:
              - UPDATE accounts SET balance = balance - 1 WHERE id = :accounts
              - SELECT 1
          sweep:
            autocommit: true
            steps:
              - SELECT 1
        """

    @Test func everyDistinctTextGetsOneIdAtPlanBuild() throws {
        let plan = try makePlan(Self.transfer)
        #expect(plan.statementTexts == [
            "BEGIN ISOLATION LEVEL REPEATABLE READ", "SELECT set_config($1, $2, true)",
            "UPDATE accounts SET balance = balance - 1 WHERE id = $1", "UPDATE accounts SET balance = balance + 1 WHERE id = $1",
            "BEGIN", "SELECT 1", "COMMIT", "ROLLBACK",
        ])
        let transfer = plan.transactions[0], audit = plan.transactions[1], sweep = plan.transactions[2]
        #expect(transfer.beginStatement == 0)
        #expect(transfer.settingStatements == [1])
        // A pause has no statement.
        #expect(transfer.stepStatements == [2, -1, 3])
        // The same text is the same statement, in any transaction.
        #expect(audit.beginStatement == 4)
        #expect(audit.stepStatements == [2, 5])
        // Autocommit sends no BEGIN.
        #expect(sweep.beginStatement == -1)
        #expect(sweep.stepStatements == [5])
        #expect(plan.commitStatement == 6)
        #expect(plan.rollbackStatement == 7)
        #expect(ProtocolMode.statementName(6) == "ls_6")
    }

    @Test func anAutocommitOnlyPlanHasNoCommitOrRollback() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              sweep:
                autocommit: true
                steps:
                  - SELECT 1
            """)
        #expect(plan.statementTexts == ["SELECT 1"])
        #expect(plan.commitStatement == -1)
        #expect(plan.rollbackStatement == -1)
    }

    @Test func theMachineNamesTheIdOfEachStatementItSends() throws {
        let yaml = """
            name: t
            transactions:
              transfer:
                settings:
                  lock_timeout: 2s
                let: { src: 3 }
                steps:
                  - UPDATE accounts SET balance = balance - 1 WHERE id = :src
                  - SELECT 2
            """
        let plan = try makePlan(yaml)
        func id(_ sql: String) -> Int32 { Int32(plan.statementTexts.firstIndex(of: sql) ?? -2) }
        var script = try MachineScript(yaml, limit: 2)
        #expect(script.start() == .send(sql: "BEGIN", parameters: []))
        #expect(script.machine.statementInFlight() == id("BEGIN"))
        _ = script.ok()
        #expect(script.machine.statementInFlight() == id("SELECT set_config($1, $2, true)"))
        _ = script.ok()
        #expect(script.machine.statementInFlight() == id("UPDATE accounts SET balance = balance - 1 WHERE id = $1"))
        _ = script.ok()
        #expect(script.machine.statementInFlight() == id("SELECT 2"))
        #expect(script.ok() == .send(sql: "COMMIT", parameters: []))
        #expect(script.machine.statementInFlight() == id("COMMIT"))
        _ = script.ok()
        _ = script.ok()
        #expect(script.fail(.deadlockDetected) == .send(sql: "ROLLBACK", parameters: []))
        #expect(script.machine.statementInFlight() == id("ROLLBACK"))

        // Combined with BEGIN: the id is the statement's after BEGIN (BEGIN's is the transaction's `beginStatement`).
        var combined = try MachineScript(yaml, limit: 1, combineBegin: true)
        guard case .beginAndSend = combined.start() else {
            Issue.record("expected BEGIN with the first setting")
            return
        }
        #expect(combined.machine.statementInFlight() == id("SELECT set_config($1, $2, true)"))
    }

    @Test func aPipelinedTransactionCarriesEachStatementsId() throws {
        let yaml = """
            name: t
            transactions:
              bump:
                pipeline: true
                settings:
                  lock_timeout: 2s
                steps:
                  - UPDATE counter SET n = n + 1 WHERE id = 1
                  - UPDATE counter SET n = n + 1 WHERE id = 2
            """
        let plan = try makePlan(yaml)
        var script = try MachineScript(yaml, limit: 1)
        guard case .pipeline(let statements) = script.start() else {
            Issue.record("expected a pipeline")
            return
        }
        #expect(statements.map(\.statement) == statements.map { Int32(plan.statementTexts.firstIndex(of: $0.sql) ?? -2) })
        #expect(statements.map(\.statement) == [0, 1, 2, 3, 4])
    }

    @Test func simpleIsRefusedForTheFirstStepWithParametersNamingItsLine() throws {
        let plan = try makePlan("""
            name: t
            params: { accounts: 10 }
            transactions:
              plain:
                steps:
                  - SELECT 1
              transfer:
                let:
                  src: uniform(1, 10)
                steps:
                  - SELECT 2
                  - UPDATE accounts SET balance = balance - :accounts WHERE id = :src
            """)
        #expect(ProtocolMode.simpleRefusal(plan, file: "t.yaml") == "t.yaml:12:9: -M simple cannot send step 2 of transaction 'transfer': it uses :accounts, :src, sent as bind parameters, and lockstorm never splices values into SQL; use -M extended or -M prepared")
    }

    @Test func simpleIsRefusedForSettingsAndPipelinesAndAllowedWithoutParameters() throws {
        let settings = try makePlan("""
            name: t
            transactions:
              slow:
                settings:
                  lock_timeout: 2s
                steps:
                  - SELECT 1
            """)
        #expect(ProtocolMode.simpleRefusal(settings, file: "t.yaml") == "-M simple cannot send transaction 'slow': its setting 'lock_timeout' goes out as set_config with bind parameters, and lockstorm never splices values into SQL; use -M extended or -M prepared")
        let pipelined = try makePlan("""
            name: t
            transactions:
              bump:
                pipeline: true
                steps:
                  - SELECT 1
            """)
        #expect(ProtocolMode.simpleRefusal(pipelined, file: "t.yaml")?.contains("transaction 'bump': it has 'pipeline: true', and the simple protocol sends one statement per round trip") == true)
        let plain = try makePlan("""
            name: t
            transactions:
              bump:
                steps:
                  - UPDATE counter SET n = n + 1
                  - pause: 1ms
                  - SELECT 1
            """)
        #expect(ProtocolMode.simpleRefusal(plain, file: "t.yaml") == nil)
    }
}
