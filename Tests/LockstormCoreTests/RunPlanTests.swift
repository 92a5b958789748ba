import Testing
@testable import LockstormCore

/// Parses `yaml` and compiles it; for tests of plans and clients.
func makePlan(_ yaml: String, variant: String? = nil, overrides: [(name: String, value: Value)] = []) throws -> RunPlan {
    try WorkloadParser.parse(yaml, file: "t.yaml").plan(variant: variant, overrides: overrides, file: "t.yaml")
}

/// The diagnostics `Workload.plan` throws, as `file:line:col: message`.
func planDiagnostics(_ workload: Workload, variant: String? = nil, overrides: [(name: String, value: Value)] = []) -> [String] {
    do {
        _ = try workload.plan(variant: variant, overrides: overrides, file: "t.yaml")
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

@Suite struct RunPlanTests {
    private func transfers() throws -> Workload {
        try WorkloadParser.parse(try transfersWorkloadText(), file: "transfers.yaml")
    }

    @Test func defaultVariantIsUsedWhenNoneIsNamed() throws {
        let plan = try transfers().plan()
        #expect(plan.workloadName == "transfers")
        #expect(plan.variantName == "unordered")
        #expect(plan.variantLabel == "unordered")
        let transfer = try #require(plan.transactions.first)
        #expect(transfer.name == "transfer")
        #expect(transfer.begin == "BEGIN ISOLATION LEVEL READ COMMITTED")
        #expect(transfer.variableNames == ["src", "dst", "amount"])
        #expect(transfer.draws == [
            CompiledDraw(slot: 0, distribution: .uniform(1, 100), distinctFrom: []),
            CompiledDraw(slot: 1, distribution: .uniform(1, 100), distinctFrom: [0]),
            CompiledDraw(slot: 2, distribution: .uniform(1, 50), distinctFrom: []),
        ])
        #expect(transfer.steps == [
            .sql(sql: "UPDATE accounts SET balance = balance - $1 WHERE id = $2", parameters: [.variable(2), .variable(0)]),
            .pause(.uniform(0, 1_000_000)),
            .sql(sql: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", parameters: [.variable(2), .variable(1)]),
        ])
    }

    @Test func variantOverridesTheSteps() throws {
        let plan = try transfers().plan(variant: "ordered")
        #expect(plan.variantName == "ordered")
        let steps = try #require(plan.transactions.first?.steps)
        #expect(steps == [
            .sql(sql: "SELECT id FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE", parameters: [.variable(0), .variable(1)]),
            .sql(sql: "UPDATE accounts SET balance = balance - $1 WHERE id = $2", parameters: [.variable(2), .variable(0)]),
            .pause(.uniform(0, 1_000_000)),
            .sql(sql: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", parameters: [.variable(2), .variable(1)]),
        ])
        // Draws are not overridden, so they come from the base transaction.
        #expect(plan.transactions.first?.variableNames == ["src", "dst", "amount"])
    }

    @Test func workloadWithoutVariantsHasTheDefaultLabel() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                steps: [SELECT 1]
            """)
        #expect(plan.variantName == nil)
        #expect(plan.variantLabel == "default")
        #expect(plan.transactions.first?.begin == "BEGIN")
    }

    @Test func setupAndTeardownAreSplitAndBoundAsText() throws {
        let plan = try transfers().plan()
        #expect(plan.setup == [
            BoundStatement(sql: "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)"),
            BoundStatement(sql: "INSERT INTO accounts SELECT g, $1::bigint FROM generate_series(1, $2::int) g", parameters: ["1000", "100"]),
        ])
        #expect(plan.teardown == [BoundStatement(sql: "DROP TABLE IF EXISTS accounts")])
    }

    @Test func setOverridesParameterEverywhere() throws {
        let plan = try transfers().plan(overrides: [(name: "accounts", value: .int(10))])
        #expect(plan.parameters.map(\.name) == ["accounts", "initial_balance", "max_amount", "lock_namespace"])
        #expect(plan.parameters.map(\.value) == [.int(10), .int(1000), .int(50), .int(42)])
        #expect(plan.setup.last?.parameters == ["1000", "10"])
        #expect(plan.transactions.first?.draws.first?.distribution == .uniform(1, 10))
        #expect(plan.invariants.first?.expected == .int(10_000))
    }

    @Test func setOfAnUnknownParameterIsAnError() throws {
        #expect(planDiagnostics(try transfers(), overrides: [(name: "acounts", value: .int(10))]) == [
            "t.yaml:1:1: --set acounts: no such parameter; did you mean 'accounts'?",
        ])
    }

    @Test func unknownVariantIsAnError() throws {
        #expect(planDiagnostics(try transfers(), variant: "orderd") == [
            "t.yaml:1:1: unknown variant 'orderd'; did you mean 'ordered'?",
        ])
    }

    @Test func variantParametersOverrideDefaultsAndSetOverridesBoth() throws {
        let yaml = """
            name: t
            params:
              n: 1
            transactions:
              tx:
                steps: [SELECT :n]
            variants:
              big:
                params:
                  n: 1000
            """
        #expect(try makePlan(yaml).transactions[0].steps == [.sql(sql: "SELECT $1", parameters: [.constant("1000")])])
        #expect(try makePlan(yaml, overrides: [(name: "n", value: .int(7))]).transactions[0].steps == [.sql(sql: "SELECT $1", parameters: [.constant("7")])])
    }

    @Test func parametersAreBoundNotSpliced() throws {
        let plan = try makePlan("""
            name: t
            params:
              who: "O'Brien'; DROP TABLE t; --"
            transactions:
              tx:
                steps: [SELECT * FROM people WHERE name = :who]
            """)
        #expect(plan.transactions[0].steps == [
            .sql(sql: "SELECT * FROM people WHERE name = $1", parameters: [.constant("O'Brien'; DROP TABLE t; --")]),
        ])
    }

    @Test func settingsBecomeSetConfigWithBoundValues() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                isolation: serializable
                settings:
                  lock_timeout: 50ms
                steps: [SELECT 1]
            """)
        let tx = plan.transactions[0]
        #expect(tx.begin == "BEGIN ISOLATION LEVEL SERIALIZABLE")
        #expect(tx.settings == [BoundStatement(sql: "SELECT set_config($1, $2, true)", parameters: ["lock_timeout", "50ms"])])
    }

    @Test func invariantExpectedValueIsComputedFromParameters() throws {
        let plan = try transfers().plan()
        #expect(plan.invariants == [CompiledInvariant(
            name: "money is conserved", statement: BoundStatement(sql: "SELECT sum(balance) FROM accounts"), expected: .int(100_000)
        )])
        #expect(plan.checks == ["invariant_failures == 0"])
        #expect(plan.defaults == RunDefaults(clients: 16, durationSeconds: 10))
    }

    @Test func cumulativeWeightsFollowFileOrder() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              a:
                weight: 3
                steps: [SELECT 1]
              b:
                steps: [SELECT 2]
              c:
                weight: 0
                steps: [SELECT 3]
            """)
        #expect(plan.transactions.map(\.name) == ["a", "b", "c"])
        #expect(plan.cumulativeWeights == [3, 4, 4])
    }

    @Test func chooseTransactionRespectsWeights() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              never_first:
                weight: 0
                steps: [SELECT 1]
              often:
                weight: 3
                steps: [SELECT 2]
              rare:
                weight: 1
                steps: [SELECT 3]
              never_last:
                weight: 0
                steps: [SELECT 4]
            """)
        var random = RandomSource(seed: 1, stream: 0)
        var counts = [0, 0, 0, 0]
        for _ in 0..<8_000 { counts[plan.chooseTransaction(&random)] += 1 }
        #expect(counts[0] == 0)
        #expect(counts[3] == 0)
        // Expected 6 000 and 2 000; the margins are many standard deviations wide.
        #expect((5_700...6_300).contains(counts[1]))
        #expect((1_700...2_300).contains(counts[2]))
    }

    @Test func singleTransactionIsAlwaysChosen() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              only:
                steps: [SELECT 1]
            """)
        var random = RandomSource(seed: 3)
        for _ in 0..<10 { #expect(plan.chooseTransaction(&random) == 0) }
    }

    @Test func pauseAndDrawBoundsMustBeOrdered() throws {
        let workload = Workload(name: "t", transactions: [TransactionTemplate(
            name: "tx",
            draws: [Draw(name: "x", distribution: .uniform(.constant(.int(5)), .constant(.int(1))), location: SourceLocation(line: 4, column: 7))],
            steps: [.sql("SELECT :x", location: SourceLocation(line: 6, column: 9))],
            location: SourceLocation(line: 3, column: 3)
        )])
        #expect(planDiagnostics(workload) == ["t.yaml:4:7: 'x' in transaction 'tx': uniform(5, 1) has its lower bound above its upper bound"])
    }

    @Test func variableNamedLikeAParameterIsAnError() throws {
        #expect(diagnostics("""
            name: t
            params:
              n: 1
            transactions:
              tx:
                let:
                  n: uniform(1, 2)
                steps: [SELECT :n]
            """) == ["w.yaml:7:7: variable 'n' in transaction 'tx' has the same name as a parameter"])
    }

    @Test func variantOverridingAnUnknownTransactionIsAnError() throws {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps: [SELECT 1]
            variants:
              v:
                transactions:
                  tz:
                    weight: 2
            """) == ["w.yaml:8:7: variant 'v' overrides unknown transaction 'tz'; did you mean 'tx'?"])
    }

    @Test func invariantDivisionByZeroIsReported() throws {
        #expect(diagnostics("""
            name: t
            params:
              n: 0
            transactions:
              tx:
                steps: [SELECT 1]
            invariants:
              - name: ratio
                sql: SELECT 1
                equals: 10 / :n
            """) == ["w.yaml:8:5: invariant 'ratio': 'equals' division by zero"])
    }
}

@Suite struct NonTransactionalStepTests {
    @Test("VACUUM or CREATE INDEX CONCURRENTLY in a transaction is rejected at its place; in an autocommit transaction it is fine")
    func rejectedInsideATransactionOnly() throws {
        let yaml = """
            name: t
            transactions:
              maintain:
                steps:
                  - VACUUM t
                  - CREATE INDEX CONCURRENTLY i ON t (v)
                  - SELECT 'VACUUM'
              fine:
                autocommit: true
                steps: [VACUUM t]
            """
        let error = #expect(throws: WorkloadError.self) { try WorkloadParser.parse(yaml, file: "w.yaml") }
        #expect(error?.diagnostics.map(\.description) == [
            "w.yaml:5:9: VACUUM cannot run inside a transaction block, and transaction 'maintain' runs its steps in one: give it 'autocommit: true'",
            "w.yaml:6:9: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and transaction 'maintain' runs its steps in one: give it 'autocommit: true'",
        ])
        _ = try WorkloadParser.parse(yaml.replacingOccurrences(of: "  maintain:\n    steps:", with: "  maintain:\n    autocommit: true\n    steps:"), file: "w.yaml")
    }
}

@Suite struct CopyStepTests {
    @Test func copyFromStdinIsRejectedWithAReason() {
        let yaml = """
            name: t
            transactions:
              load:
                steps: [COPY t FROM STDIN]
            """
        let error = #expect(throws: WorkloadError.self) { try WorkloadParser.parse(yaml, file: "w.yaml") }
        #expect(error?.diagnostics.map(\.message) == ["COPY … FROM STDIN / TO STDOUT cannot run as a step in transaction 'load': lockstorm does not stream COPY data; use INSERT … SELECT"])
    }
}
