import Foundation
import Testing
@testable import LockstormCore

/// Parses `text` as an expression, for comparing with the parsed model.
private func expression(_ text: String) throws -> LockstormCore.Expression {
    try ExpressionParser.parse(text)
}

/// The options of step `index` of `steps` (a statement step).
private func options(_ steps: [Step], _ index: Int) -> StepOptions? {
    guard index < steps.count, case .sql(_, _, let options) = steps[index] else { return nil }
    return options
}

/// The compiled options of step `index` of `transaction`.
private func compiledOptions(_ transaction: CompiledTransaction, _ index: Int) -> CompiledStepOptions? {
    guard index < transaction.steps.count, case .sql(_, _, let options) = transaction.steps[index] else { return nil }
    return options
}

/// The file of deliberate mistakes shared with the CLI tests.
func mistakesFixtureText() throws -> String {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("lockstormTests/Fixtures/mistakes.yaml")
    return try String(contentsOf: url, encoding: .utf8)
}

/// A workload using every feature of the language at once.
private let everyFeatureYAML = """
    name: lang
    params:
      n: 100
      timeout: 25ms
    transactions:
      claim:
        weight: 2
        expect: [lock_not_available, 40p01]
        think: uniform(1ms, 5ms)
        settings:
          lock_timeout: :timeout
          statement_timeout: 1s
        let:
          a: zipf(1, :n, 1.1)
          b: hotspot(1, :n, 0.1, 0.9) != a
          c: choice('red', 'green', 'blue')
          d: choice(1, 2, 3) != a, b
        steps:
          - sql: SELECT id, token FROM jobs WHERE k = :a LIMIT 1
            into: [job_id, token]
            on_empty: skip
            if: a > 0
            skip_if: token == null
            stop_if: job_id < 0
            expect: { 55P03: retry, deadlock_detected: rollback }
          - UPDATE jobs SET owner = :client_id WHERE id = :job_id AND token = :token
      report:
        clients: 2
        autocommit: true
        settings:
          work_mem: 64MB
        steps:
          - sql: SELECT count(*) FROM jobs
            into: :left
            on_empty: stop
          - sql: SELECT :left
            if: left > 0
    invariants:
      - name: none left
        sql: SELECT count(*) FROM jobs
        equals: 0
        during: 500ms
    """

@Suite struct WorkloadLanguageTests {
    // MARK: Every feature parses into the model

    @Test func drawsParseIntoTheirDistributions() throws {
        let workload = try WorkloadParser.parse(everyFeatureYAML, file: "w.yaml")
        let claim = try #require(workload.transactions.first)
        #expect(claim.draws.map(\.name) == ["a", "b", "c", "d"])
        #expect(claim.draws[0].distribution == .zipf(.constant(.int(1)), .reference("n", offset: 8), exponent: .constant(.double(1.1))))
        #expect(claim.draws[1].distribution == .hotspot(
            .constant(.int(1)), .reference("n", offset: 11), fraction: .constant(.double(0.1)), probability: .constant(.double(0.9))
        ))
        #expect(claim.draws[2].distribution == .choice([.constant(.string("red")), .constant(.string("green")), .constant(.string("blue"))]))
        #expect(claim.draws[3].distribution == .choice([.constant(.int(1)), .constant(.int(2)), .constant(.int(3))]))
        #expect(claim.draws.map(\.distinctFrom) == [[], ["a"], [], ["a", "b"]])
        #expect(claim.draws.map(\.location) == [
            SourceLocation(line: 14, column: 7), SourceLocation(line: 15, column: 7),
            SourceLocation(line: 16, column: 7), SourceLocation(line: 17, column: 7),
        ])
    }

    @Test func drawsCompileToSamplers() throws {
        let plan = try makePlan(everyFeatureYAML)
        let claim = plan.transactions[0]
        #expect(claim.draws.map(\.slot) == [0, 1, 2, 3])
        #expect(claim.draws[0].distribution == .zipf(lower: 1, ZipfSampler(count: 100, exponent: 1.1)))
        // The hot set is the first 10% of 1…100.
        #expect(claim.draws[1].distribution == .hotspot(lower: 1, upper: 100, hotCount: 10, probability: 0.9))
        #expect(claim.draws[1].distinctFrom == [0])
        #expect(claim.draws[2].distribution == .choice([.string("red"), .string("green"), .string("blue")]))
        #expect(claim.draws[3].distinctFrom == [0, 1])
    }

    @Test func statementStepOptionsParse() throws {
        let workload = try WorkloadParser.parse(everyFeatureYAML, file: "w.yaml")
        let claim = workload.transactions[0]
        #expect(stepTexts(claim.steps) == [
            "SELECT id, token FROM jobs WHERE k = :a LIMIT 1",
            "UPDATE jobs SET owner = :client_id WHERE id = :job_id AND token = :token",
        ])
        let first = try #require(options(claim.steps, 0))
        #expect(first.into == ["job_id", "token"])
        #expect(first.onEmpty == .skip)
        #expect(first.condition == (try expression("a > 0")))
        #expect(first.skipIf == (try expression("token == null")))
        #expect(first.stopIf == (try expression("job_id < 0")))
        #expect(first.expect == [
            ExpectedError(state: .lockNotAvailable, action: .retry), ExpectedError(state: .deadlockDetected, action: .rollback),
        ])
        #expect(first.location == SourceLocation(line: 19, column: 9))  // the step, at its first key
        // A plain string step has default options.
        let second = try #require(options(claim.steps, 1))
        #expect(second.into.isEmpty && second.onEmpty == .continue && second.condition == nil && second.expect.isEmpty)
        // `into: :left` drops the colon.
        #expect(options(workload.transactions[1].steps, 0)?.into == ["left"])
        #expect(options(workload.transactions[1].steps, 0)?.onEmpty == .stop)
    }

    @Test func transactionKeysParse() throws {
        let workload = try WorkloadParser.parse(everyFeatureYAML, file: "w.yaml")
        let claim = workload.transactions[0], report = workload.transactions[1]
        #expect(claim.weight == 2)
        #expect(claim.expect == [ExpectedError(state: .lockNotAvailable, action: .rollback), ExpectedError(state: .deadlockDetected, action: .rollback)])
        #expect(claim.think == .uniform(.constant(.int(1_000_000)), .constant(.int(5_000_000))))
        #expect(claim.settings == [Setting(name: "lock_timeout", value: ":timeout"), Setting(name: "statement_timeout", value: "1s")])
        #expect(!claim.autocommit)
        #expect(claim.dedicatedClients == nil)
        #expect(report.autocommit)
        #expect(report.dedicatedClients == 2)
        #expect(report.think == nil)
        #expect(workload.invariants.map(\.duringInterval) == [500_000_000])
    }

    @Test func capturedNamesBecomeVariablesOfLaterSteps() throws {
        let plan = try makePlan(everyFeatureYAML)
        let claim = plan.transactions[0]
        #expect(claim.variableNames == ["a", "b", "c", "d", "job_id", "token"])
        #expect(claim.steps.count == 2)
        guard case .sql(let sql, let parameters, _) = claim.steps[0], case .sql(let update, let updateParameters, _) = claim.steps[1] else {
            Issue.record("expected two statement steps")
            return
        }
        #expect(sql == "SELECT id, token FROM jobs WHERE k = $1 LIMIT 1")
        #expect(parameters == [.variable(0)])
        #expect(update == "UPDATE jobs SET owner = $1 WHERE id = $2 AND token = $3")
        #expect(updateParameters == [.clientID, .variable(4), .variable(5)])
        #expect(claim.stepParameterNames == [["a"], ["client_id", "job_id", "token"]])

        let first = try #require(compiledOptions(claim, 0))
        #expect(first.captureSlots == [4, 5])
        #expect(first.needsRow)
        #expect(first.onEmpty == .skip)
        #expect(first.expect == [.lockNotAvailable: .retry, .deadlockDetected: .rollback])
        #expect(first.condition?.slots == ["a": 0])
        #expect(first.skipIf?.slots == ["token": 5])
        #expect(first.stopIf?.slots == ["job_id": 4])
        #expect(compiledOptions(claim, 1)?.needsRow == false)
    }

    @Test func transactionKeysCompile() throws {
        let plan = try makePlan(everyFeatureYAML)
        let claim = plan.transactions[0], report = plan.transactions[1]
        #expect(claim.expect == [.lockNotAvailable: .rollback, .deadlockDetected: .rollback])
        #expect(claim.think == .uniform(1_000_000, 5_000_000))
        // A setting naming a parameter is sent as the parameter's value.
        #expect(claim.settings == [
            BoundStatement(sql: "SELECT set_config($1, $2, true)", parameters: ["lock_timeout", "25ms"]),
            BoundStatement(sql: "SELECT set_config($1, $2, true)", parameters: ["statement_timeout", "1s"]),
        ])
        #expect(!claim.autocommit && claim.dedicatedClients == 0)
        // Under autocommit a setting lasts for the session.
        #expect(report.settings == [BoundStatement(sql: "SELECT set_config($1, $2, false)", parameters: ["work_mem", "64MB"])])
        #expect(report.autocommit && report.dedicatedClients == 2)
        #expect(report.variableNames == ["left"])
        #expect(compiledOptions(report, 1)?.condition?.slots == ["left": 0])
        #expect(plan.invariants.map(\.duringInterval) == [500_000_000])
    }

    @Test func settingNamingAParameterFollowsSet() throws {
        let plan = try makePlan(everyFeatureYAML, overrides: [(name: "timeout", value: .string("3s"))])
        #expect(plan.transactions[0].settings[0].parameters == ["lock_timeout", "3s"])
    }

    @Test func dedicatedClientsAreTheLastClients() throws {
        let plan = try makePlan(everyFeatureYAML)
        #expect(plan.dedicatedClientCount == 2)
        #expect(plan.hasSharedTransactions)
        #expect(plan.minimumClients == 3)
        // The report is dedicated and not chosen by weight.
        #expect(plan.cumulativeWeights == [2, 2])
        #expect((0..<5).map { plan.dedicatedTransaction(client: $0, of: 5) } == [nil, nil, nil, 1, 1])
        #expect((0..<3).map { plan.dedicatedTransaction(client: $0, of: 3) } == [nil, 1, 1])
    }

    @Test func dedicatedClientsFollowTheOrderOfTheTransactions() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              shared:
                steps: [SELECT 1]
              first:
                clients: 1
                steps: [SELECT 2]
              other:
                weight: 0
                steps: [SELECT 3]
              second:
                clients: 2
                steps: [SELECT 4]
            """)
        #expect(plan.dedicatedClientCount == 3)
        #expect(plan.minimumClients == 4)
        #expect((0..<6).map { plan.dedicatedTransaction(client: $0, of: 6) } == [nil, nil, nil, 1, 3, 3])
    }

    @Test func onlyDedicatedTransactionsNeedNoSharedClient() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              idle:
                weight: 0
                steps: [SELECT 1]
              worker:
                clients: 3
                steps: [SELECT 2]
            """)
        #expect(!plan.hasSharedTransactions)
        #expect(plan.minimumClients == 3)
        #expect((0..<3).map { plan.dedicatedTransaction(client: $0, of: 3) } == [1, 1, 1])
    }

    @Test func chooseTransactionNeverPicksWeightZeroOrDedicatedTransactions() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              a:
                steps: [SELECT 1]
              zero:
                weight: 0
                steps: [SELECT 2]
              dedicated:
                weight: 5
                clients: 1
                steps: [SELECT 3]
              d:
                weight: 3
                steps: [SELECT 4]
            """)
        var random = RandomSource(seed: 11)
        var counts = [0, 0, 0, 0]
        for _ in 0..<40_000 { counts[plan.chooseTransaction(&random)] += 1 }
        #expect(counts[1] == 0)
        #expect(counts[2] == 0)
        // a : d = 1 : 3.
        #expect((9_000...11_000).contains(counts[0]))
        #expect((29_000...31_000).contains(counts[3]))
    }

    @Test func actionPrecedenceIsStepThenTransactionThenRetryThenRollback() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                retry:
                  on: [40P01, 55P03]
                expect: { 55P03: rollback, 40001: retry }
                steps:
                  - sql: SELECT 1
                    expect: { lock_not_available: retry, deadlock_detected: rollback }
                  - pause: 1ms
                  - SELECT 2
            """)
        let tx = plan.transactions[0]
        // Step 0's own expectations win.
        #expect(tx.action(for: .deadlockDetected, step: 0) == .rollback)
        #expect(tx.action(for: .lockNotAvailable, step: 0) == .retry)
        #expect(tx.action(for: .serializationFailure, step: 0) == .retry)
        // Elsewhere the transaction's expect comes before retry.on.
        #expect(tx.action(for: .lockNotAvailable, step: 2) == .rollback)
        #expect(tx.action(for: .serializationFailure, step: 2) == .retry)
        #expect(tx.action(for: .deadlockDetected, step: 2) == .retry)
        #expect(tx.action(for: .uniqueViolation, step: 2) == .rollback)
        // A pause, BEGIN/COMMIT (no step) and an out-of-range step use the transaction's rules.
        #expect(tx.action(for: .lockNotAvailable, step: 1) == .rollback)
        #expect(tx.action(for: .deadlockDetected, step: nil) == .retry)
        #expect(tx.action(for: .lockNotAvailable, step: nil) == .rollback)
        #expect(tx.action(for: .deadlockDetected, step: 99) == .retry)
        // No SQLSTATE at all: roll back.
        #expect(tx.action(for: nil, step: 0) == .rollback)
    }

    @Test func expectAsAListRollsBackAndAsAMappingNamesTheAction() throws {
        let workload = try WorkloadParser.parse("""
            name: t
            transactions:
              listed:
                expect: [55P03, serialization_failure]
                steps: [SELECT 1]
              single:
                expect: deadlock_detected
                steps: [SELECT 1]
              mapped:
                expect:
                  lock_not_available: retry
                  40001: rollback
                steps: [SELECT 1]
            """, file: "w.yaml")
        #expect(workload.transactions.map(\.expect) == [
            [ExpectedError(state: .lockNotAvailable, action: .rollback), ExpectedError(state: .serializationFailure, action: .rollback)],
            [ExpectedError(state: .deadlockDetected, action: .rollback)],
            [ExpectedError(state: .lockNotAvailable, action: .retry), ExpectedError(state: .serializationFailure, action: .rollback)],
        ])
    }

    @Test func variantsOverrideEveryNewKey() throws {
        let yaml = """
            name: t
            params:
              ms: 5
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    into: x
              side:
                steps: [SELECT 2]
            variants:
              base:
              changed:
                transactions:
                  tx:
                    expect: { 55P03: retry }
                    think: :ms * 1ms
                    autocommit: true
                    settings:
                      lock_timeout: :ms
                    steps:
                      - sql: SELECT 3
                        into: y
                        stop_if: y == 0
                  side:
                    clients: 2
            """
        let base = try makePlan(yaml, variant: "base")
        #expect(base.transactions[0].expect.isEmpty)
        #expect(base.transactions[0].think == nil)
        #expect(!base.transactions[0].autocommit)
        #expect(base.transactions[0].variableNames == ["x"])
        #expect(base.dedicatedClientCount == 0)

        let changed = try makePlan(yaml, variant: "changed")
        let tx = changed.transactions[0]
        #expect(tx.expect == [.lockNotAvailable: .retry])
        #expect(tx.think == .constant(.int(5_000_000)))
        #expect(tx.autocommit)
        #expect(tx.settings == [BoundStatement(sql: "SELECT set_config($1, $2, false)", parameters: ["lock_timeout", "5"])])
        #expect(tx.variableNames == ["y"])
        #expect(compiledOptions(tx, 0)?.stopIf?.slots == ["y": 0])
        #expect(changed.transactions[1].dedicatedClients == 2)
        #expect(changed.dedicatedTransaction(client: 2, of: 3) == 1)
    }

    @Test func variantCanTurnAutocommitOffAgain() throws {
        let yaml = """
            name: t
            transactions:
              tx:
                autocommit: true
                steps: [SELECT 1]
            variants:
              on:
              off:
                transactions:
                  tx:
                    autocommit: false
                    isolation: serializable
            """
        #expect(try makePlan(yaml, variant: "on").transactions[0].autocommit)
        let off = try makePlan(yaml, variant: "off").transactions[0]
        #expect(!off.autocommit)
        #expect(off.begin == "BEGIN ISOLATION LEVEL SERIALIZABLE")
    }

    @Test func shippedWorkloadsParseWithEveryVariant() throws {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("workloads")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 7)
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            let workload = try WorkloadParser.parse(text, file: file)
            #expect(!workload.variants.isEmpty, "\(file)")
            for variant in workload.variantNames {
                let plan = try workload.plan(variant: variant, file: file)
                #expect(plan.minimumClients >= 1, "\(file) \(variant)")
            }
        }
    }

    @Test func shippedQueueUsesTheNewKeys() throws {
        let text = try String(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("workloads/queue.yaml"), encoding: .utf8)
        let workload = try WorkloadParser.parse(text, file: "queue.yaml")
        let reaper = try workload.plan(variant: "reaper", file: "queue.yaml")
        let work = reaper.transactions[0], reap = reaper.transactions[1]
        #expect(work.autocommit)
        #expect(work.variableNames == ["crash", "left", "job_id", "token"])
        #expect(reap.dedicatedClients == 1)
        #expect(reap.think == .constant(.int(10_000_000)))
        #expect(reaper.minimumClients == 2)
        #expect(try workload.plan(variant: "nowait", file: "queue.yaml").transactions[0].expect == [.lockNotAvailable: .rollback])
        // Without the reaper variant the reap transaction has weight 0 and no clients: never run.
        let skipLocked = try workload.plan(variant: "skip-locked", file: "queue.yaml")
        #expect(skipLocked.cumulativeWeights == [1, 1])
        #expect(skipLocked.dedicatedClientCount == 0)
    }

    // MARK: SQLSTATE by code or condition name

    @Test func sqlStateResolvesCodesAndConditionNames() {
        #expect(SQLState.resolve("40P01") == .deadlockDetected)
        #expect(SQLState.resolve("40p01") == .deadlockDetected)
        #expect(SQLState.resolve(" 55P03 ") == .lockNotAvailable)
        #expect(SQLState.resolve("deadlock_detected") == .deadlockDetected)
        #expect(SQLState.resolve("Serialization_Failure") == .serializationFailure)
        #expect(SQLState.resolve("lock_not_available") == .lockNotAvailable)
        // A name that is both a warning and an error resolves to the error.
        #expect(SQLState.resolve("string_data_right_truncation") == SQLState("22001"))
        #expect(SQLState.resolve("40P02") == nil)
        #expect(SQLState.resolve("deadlock") == nil)
        #expect(SQLState.resolve("") == nil)
        #expect(SQLState.deadlockDetected.conditionName == "deadlock_detected")
        #expect(SQLState.deadlockDetected.isKnown)
        #expect(!SQLState("40P02").isKnown)
        #expect(SQLState.catalog.count > 200)
        #expect(Set(SQLState.catalog.map(\.code)).count == SQLState.catalog.count)
    }

    @Test func unknownSQLStateMessagesSuggestTheClosest() {
        #expect(SQLState.unknownMessage("4OP01") == "unknown SQLSTATE '4OP01': PostgreSQL defines no such code; did you mean 40P01?")
        #expect(SQLState.unknownMessage("ZZZZZ") == "unknown SQLSTATE 'ZZZZZ': PostgreSQL defines no such code")
        #expect(SQLState.unknownMessage("deadlock_detcted") == "unknown condition name 'deadlock_detcted'; did you mean 'deadlock_detected'?")
        #expect(SQLState.unknownMessage("lock_not_avaliable") == "unknown condition name 'lock_not_avaliable'; did you mean 'lock_not_available'?")
        #expect(SQLState.unknownMessage("4001") == "'4001' is not a SQLSTATE: write a five-character code such as 40P01 or a condition name such as deadlock_detected")
    }

    // MARK: Errors, each with its exact message and place

    @Test func unknownStepKeySuggestsTheClosest() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    skipif: true
                    int: x
            """) == [
            "w.yaml:6:9: unknown key 'skipif' in a step; did you mean 'skip_if'?",
            "w.yaml:7:9: unknown key 'int' in a step; did you mean 'into'?",
        ])
    }

    @Test func unknownOnEmptyActionIsReportedAtItsValue() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    on_empty: skp
                  - sql: SELECT 2
                    on_empty: abort
            """) == [
            "w.yaml:6:19: unknown on_empty action 'skp': continue, skip, stop or rollback; did you mean 'skip'?",
            "w.yaml:8:19: unknown on_empty action 'abort': continue, skip, stop or rollback",
        ])
    }

    @Test func badExpectedErrorActionIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                expect: { 55P03: retri, 40P01: abort }
                steps: [SELECT 1]
            """) == [
            "w.yaml:4:22: the action for 55P03 must be rollback or retry; did you mean 'retry'?",
            "w.yaml:4:36: the action for 40P01 must be rollback or retry",
        ])
    }

    @Test func unknownSQLStatesAndConditionNamesAreReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                expect:
                  4OP01: retry
                  lock_not_avaliable: rollback
                steps:
                  - sql: SELECT 1
                    expect: [serialisation_failure]
            """) == [
            "w.yaml:5:7: unknown SQLSTATE '4OP01': PostgreSQL defines no such code; did you mean 40P01?",
            "w.yaml:6:7: unknown condition name 'lock_not_avaliable'; did you mean 'lock_not_available'?",
            "w.yaml:9:17: unknown condition name 'serialisation_failure'; did you mean 'serialization_failure'?",
        ])
    }

    @Test func retryOnAcceptsConditionNames() throws {
        let workload = try WorkloadParser.parse("""
            name: t
            transactions:
              tx:
                retry:
                  on: [deadlock_detected, 40001]
                steps: [SELECT 1]
            """, file: "w.yaml")
        #expect(workload.transactions[0].retry?.on == [.deadlockDetected, .serializationFailure])
    }

    @Test func badIntoNameIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT 1, 2
                    into: [ok, job-id]
                  - sql: SELECT 3
                    into: 1st
            """) == [
            "w.yaml:6:15: 'into' names variables: 'job-id' must start with a letter or '_' and contain only letters, digits and '_'",
            "w.yaml:8:15: 'into' names variables: '1st' must start with a letter or '_' and contain only letters, digits and '_'",
        ])
    }

    @Test func intoANameThatIsAParameterIsReported() {
        #expect(diagnostics("""
            name: t
            params:
              n: 1
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    into: n
            """) == ["w.yaml:7:9: 'into' variable 'n' in transaction 'tx' has the same name as a parameter"])
    }

    @Test func conditionsUsingUndefinedNamesAreReported() {
        #expect(diagnostics("""
            name: t
            params:
              limit: 3
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    into: left
                    if: lefft > 0
                  - sql: SELECT 2
                    skip_if: left > limt
                  - sql: SELECT 3
                    stop_if: nothing
            """) == [
            "w.yaml:7:9: 'if' in transaction 'tx' uses 'lefft', which is neither a parameter nor a variable set before it (expected one of: limit)",
            "w.yaml:10:9: 'skip_if' in transaction 'tx' uses 'limt', which is neither a parameter nor a variable set before it; did you mean 'limit'?",
            "w.yaml:12:9: 'stop_if' in transaction 'tx' uses 'nothing', which is neither a parameter nor a variable set before it (expected one of: left, limit)",
        ])
    }

    @Test func skipIfMayUseTheValuesItsOwnStepCaptures() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    into: got
                    skip_if: "!got"
                    stop_if: got == null
            """)
        #expect(compiledOptions(plan.transactions[0], 0)?.skipIf?.slots == ["got": 0])
    }

    @Test func variableUsedBeforeTheStepThatCapturesItIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps:
                  - UPDATE jobs SET done = true WHERE id = :job_id
                  - sql: SELECT id FROM jobs LIMIT 1
                    into: job_id
            """) == ["w.yaml:5:9: ':job_id' in transaction 'tx' is neither a parameter nor a variable set before this step"])
    }

    @Test func zipfHotspotAndChoiceArgumentCountsAreReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                let:
                  a: zipf(1, 10)
                  b: hotspot(1, 10, 0.1)
                  c: choice()
                  d:   zipf(1, 2, 3, 4)
                steps:
                  - SELECT :a, :b, :c, :d
            """) == [
            "w.yaml:5:10: zipf takes 3 arguments (lower, upper, exponent), got 2",
            "w.yaml:6:10: hotspot takes 4 arguments (lower, upper, hot fraction, hot probability), got 3",
            "w.yaml:7:10: choice takes at least one value",
            "w.yaml:8:12: zipf takes 3 arguments (lower, upper, exponent), got 4",
        ])
    }

    @Test func zipfHotspotAndChoiceArgumentRangesAreReported() {
        #expect(diagnostics("""
            name: t
            params:
              n: 10
            transactions:
              tx:
                let:
                  a: zipf(1, :n, 0)
                  b: zipf(:n, 1, 1.1)
                  c: zipf(1, :n, 'steep')
                  d: hotspot(1, :n, 0, 0.9)
                  e: hotspot(1, :n, 1.5, 0.9)
                  f: hotspot(1, :n, 0.1, 1.2)
                  g: hotspot(1.5, :n, 0.1, 0.9)
                  h: zipf(1, :n, 1000)
                  i: choice(1, :nope)
                steps:
                  - SELECT :a, :b, :c, :d, :e, :f, :g, :h, :i
            """) == [
            "w.yaml:7:7: 'a' in transaction 'tx': zipf's exponent must be a number above 0 and at most 100 (1.1 is a common choice), got 0",
            "w.yaml:8:7: 'b' in transaction 'tx': zipf(10, 1, …) has its lower bound above its upper bound",
            "w.yaml:9:7: 'c' in transaction 'tx': zipf's exponent must be a number above 0 and at most 100 (1.1 is a common choice), got 'steep'",
            "w.yaml:10:7: 'd' in transaction 'tx': hotspot's hot fraction must be above 0 and at most 1 (0.01: the first 1% of the range), got 0",
            "w.yaml:11:7: 'e' in transaction 'tx': hotspot's hot fraction must be above 0 and at most 1 (0.01: the first 1% of the range), got 1.5",
            "w.yaml:12:7: 'f' in transaction 'tx': hotspot's probability must be between 0 and 1 (0.9: 90% of draws hit the hot set), got 1.2",
            "w.yaml:13:7: 'g' in transaction 'tx': hotspot needs whole numbers, got 1.5 and 10",
            "w.yaml:14:7: 'h' in transaction 'tx': zipf's exponent must be a number above 0 and at most 100 (1.1 is a common choice), got 1000",
            "w.yaml:15:7: 'i' in transaction 'tx': unknown name 'nope'",
        ])
    }

    @Test func rangesTooWideToDrawAreReportedNotTrapped() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                let:
                  a: zipf(0, 9223372036854775807, 1.1)
                  b: hotspot(-1, 9223372036854775807, 0.5, 0.5)
                  c: hotspot(1, 9223372036854775807, 1, 0.5)
                steps:
                  - SELECT :a, :b, :c
            """) == [
            "w.yaml:5:7: 'a' in transaction 'tx': zipf(0, 9223372036854775807, …) spans more values than a draw can take",
            "w.yaml:6:7: 'b' in transaction 'tx': hotspot(-1, 9223372036854775807, …) spans more values than a draw can take",
        ])
    }

    @Test func distinctFromWithTooFewChoicesIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                let:
                  a: choice(1, 2)
                  b: choice(1, 1) != a
                steps:
                  - SELECT :a, :b
            """) == ["w.yaml:6:7: 'b' in transaction 'tx' cannot differ from a: its draw has only 1 value"])
    }

    @Test func pauseAndThinkWithoutAUnitAreReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                think: 10
                steps:
                  - SELECT 1
                  - pause: 5
                  - pause: uniform(1, 5ms)
                  - pause: 0
            """) == [
            "w.yaml:4:12: 'think' 10 needs a unit: ms, s, min or h (for example 10ms)",
            "w.yaml:7:16: pause 5 needs a unit: ms, s, min or h (for example 5ms)",
            "w.yaml:8:16: pause 1 needs a unit: ms, s, min or h (for example 1ms)",
        ])
    }

    @Test func skewedPausesAndThinkTimesNeedUnitsOnlyOnTheirBounds() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                think: hotspot(1ms, 100ms, 0.1, 0.9)
                steps:
                  - SELECT 1
                  - pause: zipf(1ms, 10ms, 1.1)
                  - pause: choice(1ms, 2ms, 5ms)
            """)
        let tx = plan.transactions[0]
        #expect(tx.think == .hotspot(lower: 1_000_000, upper: 100_000_000, hotCount: 9_900_000, probability: 0.9))
        #expect(tx.steps[1] == .pause(.zipf(lower: 1_000_000, ZipfSampler(count: 9_000_001, exponent: 1.1))))
        #expect(tx.steps[2] == .pause(.choice([.int(1_000_000), .int(2_000_000), .int(5_000_000)])))
    }

    @Test func pauseAndThinkCannotUseDistinctFrom() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                think: uniform(1ms, 2ms) != x
                steps:
                  - SELECT 1
                  - pause: uniform(1ms, 2ms) != y
            """) == [
            "w.yaml:4:12: 'think' cannot use '!='",
            "w.yaml:7:16: a pause cannot use '!='",
        ])
    }

    @Test func pauseStepWithOtherKeysIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps:
                  - SELECT 1
                  - pause: 1ms
                    into: x
                  - into: y
            """) == [
            "w.yaml:6:9: a pause step has only 'pause'; 'sql', 'into', conditions and 'expect' belong to statement steps",
            "w.yaml:8:9: a step needs 'sql' (a statement) or 'pause'",
        ])
    }

    @Test func autocommitWithAnIsolationLevelIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                autocommit: true
                isolation: serializable
                steps: [SELECT 1]
            """) == ["w.yaml:3:3: transaction 'tx' is autocommit: it cannot set an isolation level (each statement is its own transaction)"])
    }

    @Test func autocommitWithTransactionControlStepsIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                autocommit: true
                steps:
                  - BEGIN
                  - SELECT 1
                  - commit
            """) == [
            "w.yaml:6:9: transaction 'tx' is autocommit: a step cannot be BEGIN; drop 'autocommit' to run the steps in one transaction",
            "w.yaml:8:9: transaction 'tx' is autocommit: a step cannot be COMMIT; drop 'autocommit' to run the steps in one transaction",
        ])
    }

    @Test func autocommitAndClientsMustHaveTheRightType() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                autocommit: sometimes
                clients: -1
                steps: [SELECT 1]
            """) == [
            "w.yaml:4:17: 'autocommit' must be true or false",
            "w.yaml:5:14: 'clients' must be a whole number (the clients that run only this transaction; 0 for none)",
        ])
    }

    @Test func weightsSummingToZeroAreReportedUnlessAClientIsDedicated() throws {
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                weight: 0
                steps: [SELECT 1]
              b:
                weight: 0
                steps: [SELECT 2]
            """) == ["w.yaml:3:3: transaction weights sum to zero: at least one transaction needs a weight above 0"])
        // A dedicated client runs the work: the weights need not sum above zero.
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                weight: 0
                steps: [SELECT 1]
              b:
                clients: 1
                steps: [SELECT 2]
            """) == [])
        // `clients: 0` dedicates no one.
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                weight: 0
                clients: 0
                steps: [SELECT 1]
            """) == ["w.yaml:3:3: transaction weights sum to zero: at least one transaction needs a weight above 0"])
    }

    @Test func settingThatNamesAnUnknownParameterIsReported() {
        #expect(diagnostics("""
            name: t
            params:
              timeout_ms: 5
            transactions:
              tx:
                settings:
                  lock_timeout: :timeout
                steps: [SELECT 1]
            """) == ["w.yaml:5:3: setting 'lock_timeout' of transaction 'tx' uses ':timeout', which is not a parameter (expected one of: timeout_ms)"])
    }

    @Test func invariantDuringNeedsAUnit() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps: [SELECT 1]
            invariants:
              - name: ok
                sql: SELECT 1
                equals: 1
                during: 500
              - name: never
                sql: SELECT 1
                equals: 1
                during: 0ms
            """) == [
            "w.yaml:9:13: 'during' '500' needs a unit: ms, s, min or h (for example 500s)",
            "w.yaml:13:13: 'during' must be above 0, such as 10s or 500ms; '0ms' is zero",
        ])
    }

    @Test func unknownTransactionKeySuggestsTheNewKeys() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                thinks: 1ms
                autocomit: true
                client: 2
                steps: [SELECT 1]
            """) == [
            "w.yaml:4:5: unknown key 'thinks' in transaction 'tx'; did you mean 'think'?",
            "w.yaml:5:5: unknown key 'autocomit' in transaction 'tx'; did you mean 'autocommit'?",
            "w.yaml:6:5: unknown key 'client' in transaction 'tx'; did you mean 'clients'?",
        ])
    }

    @Test func mistakeInAVariantOverrideIsReportedOnce() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps: [SELECT 1]
            variants:
              a:
                transactions:
                  tx:
                    expect: { 55P03: retry }
                    steps:
                      - sql: SELECT 2
                        on_empty: halt
              b:
            """) == ["w.yaml:12:23: unknown on_empty action 'halt': continue, skip, stop or rollback"])
    }

    // MARK: Every mistake at once

    @Test func fileOfDeliberateMistakesYieldsOneLinePerMistake() throws {
        let text = try mistakesFixtureText()
        let found = diagnostics(text, file: "mistakes.yaml")
        #expect(found == [
            "mistakes.yaml:14:13: 'defaults.duration' '30' needs a unit: ms, s, min or h (for example 30s)",
            "mistakes.yaml:19:5: unknown key 'isolaton' in transaction 'book'; did you mean 'isolation'?",
            "mistakes.yaml:20:12: 'think' 5 needs a unit: ms, s, min or h (for example 5ms)",
            "mistakes.yaml:22:11: unknown SQLSTATE '4OP01': PostgreSQL defines no such code; did you mean 40P01?",
            "mistakes.yaml:24:10: unknown distribution 'unifrom'; did you mean 'uniform'?",
            "mistakes.yaml:25:10: zipf takes 3 arguments (lower, upper, exponent), got 2",
            "mistakes.yaml:26:7: 'hot' in transaction 'book': hotspot's probability must be between 0 and 1 (0.9: 90% of draws hit the hot set), got 2",
            "mistakes.yaml:28:9: ':job_id' in transaction 'book' is neither a parameter nor a variable set before this step (expected one of: x, z, hot, seat, seats)",
            "mistakes.yaml:31:9: unknown key 'skipif' in a step; did you mean 'skip_if'?",
            "mistakes.yaml:32:19: unknown on_empty action 'stp': continue, skip, stop or rollback; did you mean 'stop'?",
            "mistakes.yaml:33:17: unknown condition name 'lock_not_avaliable'; did you mean 'lock_not_available'?",
            "mistakes.yaml:34:16: pause 3 needs a unit: ms, s, min or h (for example 3ms)",
            "mistakes.yaml:35:9: 'if' in transaction 'book' uses 'jobid', which is neither a parameter nor a variable set before it; did you mean 'job_id'?",
            "mistakes.yaml:37:3: transaction 'report' is autocommit: it cannot set an isolation level (each statement is its own transaction)",
            "mistakes.yaml:41:9: transaction 'report' is autocommit: a step cannot be BEGIN; drop 'autocommit' to run the steps in one transaction",
            "mistakes.yaml:42:9: 'into' variable 'seats' in transaction 'report' has the same name as a parameter",
            "mistakes.yaml:44:3: setting 'lock_timeout' of transaction 'idle' uses ':timeout', which is not a parameter (expected one of: seat, seats)",
            "mistakes.yaml:54:26: the action for 40001 must be rollback or retry; did you mean 'retry'?",
            "mistakes.yaml:60:13: 'during' '500' needs a unit: ms, s, min or h (for example 500s)",
        ])
        // One line per commented mistake in the file.
        let marked = text.split(separator: "\n").filter { $0.contains("# ") && !$0.hasPrefix("#") && !$0.contains("# fine") }
        #expect(found.count == marked.count)
    }
}

@Suite struct IntoOverDrawTests {
    @Test func capturingIntoADrawnVariableIsRejected() {
        let yaml = """
            name: t
            transactions:
              tx:
                let:
                  id: uniform(1, 10)
                steps:
                  - sql: SELECT :id
                    into: id
            """
        do {
            _ = try WorkloadParser.parse(yaml, file: "w.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["w.yaml:7:9: 'into' variable 'id' in transaction 'tx' is drawn in 'let'; capture into another name"])
        }
    }
}
