import Foundation
import Testing
@testable import LockstormCore

/// The workload shipped in `workloads/`, read from disk relative to this file.
func transfersWorkloadText() throws -> String {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("workloads/transfers.yaml")
    return try String(contentsOf: url, encoding: .utf8)
}

/// The diagnostics `WorkloadParser.parse` throws for `text`, as `file:line:col: message`.
func diagnostics(_ text: String, file: String = "w.yaml") -> [String] {
    do {
        _ = try WorkloadParser.parse(text, file: file)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

/// The SQL texts of `steps`; pauses appear as `pause`.
func stepTexts(_ steps: [Step]) -> [String] {
    steps.map { step in
        switch step {
        case .sql(let sql, _, _): sql
        case .pause: "pause"
        }
    }
}

/// The 1-based line of the first line of the shipped transfers.yaml that
/// starts with `prefix` (after `after`): locations are checked against the
/// file itself, not against numbers that go stale when it is edited.
func transfersLine(_ prefix: String, after: Int = 0) throws -> Int {
    let lines = try transfersWorkloadText().split(separator: "\n", omittingEmptySubsequences: false)
    for (index, line) in lines.enumerated() where index + 1 > after && line.hasPrefix(prefix) { return index + 1 }
    throw WorkloadError([])
}

@Suite struct WorkloadParserTests {
    // MARK: The shipped workload

    @Test func transfersWorkloadParses() throws {
        let workload = try WorkloadParser.parse(try transfersWorkloadText(), file: "transfers.yaml")
        #expect(workload.name == "transfers")
        #expect(workload.description == "Two-account transfers; compares lock orderings (unordered deadlocks, ordered does not).")
        #expect(workload.parameters.map(\.name) == ["accounts", "initial_balance", "max_amount", "lock_namespace"])
        #expect(workload.parameters.map(\.value) == [.int(100), .int(1000), .int(50), .int(42)])
        #expect(workload.parameters.first?.location == SourceLocation(line: try transfersLine("  accounts:"), column: 3))
        #expect(workload.setup?.text == """
            CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
            INSERT INTO accounts SELECT g, :initial_balance::bigint FROM generate_series(1, :accounts::int) g;

            """)
        #expect(workload.teardown?.text == "DROP TABLE IF EXISTS accounts;")
        #expect(workload.defaults == RunDefaults(clients: 16, durationSeconds: 10, transactionsPerClient: nil))
        #expect(workload.defaultVariant == "unordered")
        #expect(workload.effectiveDefaultVariant == "unordered")
        #expect(workload.checks == ["invariant_failures == 0"])
    }

    @Test func transfersTransactionHasItsDrawsAndSteps() throws {
        let workload = try WorkloadParser.parse(try transfersWorkloadText(), file: "transfers.yaml")
        let transfer = try #require(workload.transactions.first)
        #expect(workload.transactions.count == 1)
        #expect(transfer.name == "transfer")
        #expect(transfer.weight == 1)
        #expect(transfer.isolation == .readCommitted)
        #expect(transfer.settings.isEmpty)
        #expect(transfer.retry == nil)
        let transferLine = try transfersLine("  transfer:")
        #expect(transfer.location == SourceLocation(line: transferLine, column: 3))
        #expect(transfer.draws.map(\.name) == ["src", "dst", "amount"])
        #expect(transfer.draws.map(\.distinctFrom) == [[], ["src"], []])
        #expect(transfer.draws[0].distribution == .uniform(.constant(.int(1)), .reference("accounts", offset: 11)))
        #expect(transfer.draws[2].distribution == .uniform(.constant(.int(1)), .reference("max_amount", offset: 11)))
        #expect(stepTexts(transfer.steps) == [
            "UPDATE accounts SET balance = balance - :amount WHERE id = :src",
            "UPDATE accounts SET balance = balance + :amount WHERE id = :dst",
        ])
        #expect(transfer.steps.first == .sql("UPDATE accounts SET balance = balance - :amount WHERE id = :src", location: SourceLocation(line: try transfersLine("      - UPDATE", after: transferLine), column: 9)))
    }

    @Test func transfersVariantsOverrideStepsWithPauses() throws {
        let workload = try WorkloadParser.parse(try transfersWorkloadText(), file: "transfers.yaml")
        #expect(workload.variantNames == ["unordered", "ordered", "advisory", "retry"])
        let unordered = workload.variants[0], ordered = workload.variants[1]
        #expect(unordered.description == "Debit then credit, in request order; deadlocks under contention.")
        #expect(ordered.description == "Lock both rows in id order first; never deadlocks.")
        #expect(unordered.transactions.map(\.name) == ["transfer"])
        #expect(unordered.transactions[0].weight == nil)
        #expect(unordered.transactions[0].draws == nil)
        let unorderedSteps = try #require(unordered.transactions[0].steps)
        #expect(stepTexts(unorderedSteps) == [
            "UPDATE accounts SET balance = balance - :amount WHERE id = :src",
            "pause",
            "UPDATE accounts SET balance = balance + :amount WHERE id = :dst",
        ])
        let pauseLine = try transfersLine("          - pause:", after: try transfersLine("  unordered:"))
        #expect(unorderedSteps[1] == .pause(.uniform(.constant(.int(0)), .constant(.int(1_000_000))), location: SourceLocation(line: pauseLine, column: 20)))
        let orderedSteps = try #require(ordered.transactions[0].steps)
        #expect(stepTexts(orderedSteps) == [
            "SELECT id FROM accounts WHERE id IN (:src, :dst) ORDER BY id FOR UPDATE",
            "UPDATE accounts SET balance = balance - :amount WHERE id = :src",
            "pause",
            "UPDATE accounts SET balance = balance + :amount WHERE id = :dst",
        ])
    }

    @Test func transfersInvariantParsesItsExpression() throws {
        let workload = try WorkloadParser.parse(try transfersWorkloadText(), file: "transfers.yaml")
        #expect(workload.invariants == [Invariant(
            name: "money is conserved", sql: "SELECT sum(balance) FROM accounts",
            expected: .binary(.multiply, .reference("accounts", offset: 0), .reference("initial_balance", offset: 12)),
            location: SourceLocation(line: try transfersLine("  - name: money is conserved"), column: 5)
        )])
    }

    // MARK: Other accepted forms

    @Test func retrySettingsAndIsolationAreDecoded() throws {
        let workload = try WorkloadParser.parse("""
            name: t
            transactions:
              tx:
                weight: 2.5
                isolation: REPEATABLE_READ
                settings:
                  lock_timeout: 50ms
                  statement_timeout: 1s
                retry:
                  on: [40p01, 40001]
                  max_attempts: 5
                  backoff: exponential(1ms, 100ms, jitter)
                  redraw: yes
                steps:
                  - sql: SELECT 1
                  - pause: 5ms
            """, file: "t.yaml")
        let tx = try #require(workload.transactions.first)
        #expect(tx.weight == 2.5)
        #expect(tx.isolation == .repeatableRead)
        #expect(tx.settings == [Setting(name: "lock_timeout", value: "50ms"), Setting(name: "statement_timeout", value: "1s")])
        #expect(tx.retry == RetryPolicy(on: [.deadlockDetected, .serializationFailure], maxAttempts: 5, backoff: .exponential(base: 1_000_000, cap: 100_000_000, jitter: true), redraw: true))
        #expect(stepTexts(tx.steps) == ["SELECT 1", "pause"])
        #expect(tx.steps[1] == .pause(.constant(.constant(.int(5_000_000))), location: SourceLocation(line: 16, column: 16)))
    }

    @Test(arguments: [
        ("none", Backoff.none),
        ("10ms", .constant(10_000_000)),
        ("constant(2ms)", .constant(2_000_000)),
        ("exponential(1ms, 1s)", .exponential(base: 1_000_000, cap: 1_000_000_000, jitter: false)),
    ])
    func backoffForms(text: String, expected: Backoff) throws {
        let workload = try WorkloadParser.parse("""
            name: t
            transactions:
              tx:
                retry:
                  on: 40P01
                  backoff: \(text)
                steps: [SELECT 1]
            """, file: "t.yaml")
        #expect(workload.transactions.first?.retry?.backoff == expected)
        #expect(workload.transactions.first?.retry?.maxAttempts == 3)
    }

    @Test func quotedParameterStaysAString() throws {
        let workload = try WorkloadParser.parse("""
            name: t
            params:
              label: "42"
              plain: 42
              ratio: 0.5
              flag: true
            transactions:
              tx:
                steps: [SELECT :label]
            """, file: "t.yaml")
        #expect(workload.parameters.map(\.value) == [.string("42"), .int(42), .double(0.5), .bool(true)])
    }

    // MARK: Diagnostics

    @Test func unknownTopLevelKeySuggestsTheClosest() {
        #expect(diagnostics("""
            name: t
            transactons:
              tx:
                steps: [SELECT 1]
            """) == [
            "w.yaml:1:1: missing 'transactions': a workload needs at least one transaction",
            "w.yaml:2:1: unknown key 'transactons' in the workload; did you mean 'transactions'?",
        ])
    }

    @Test func unknownKeyFarFromAnyListsTheExpectedOnes() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                steps: [SELECT 1]
                zzz: 1
            """) == [
            "w.yaml:5:5: unknown key 'zzz' in transaction 'tx' (expected one of: weight, isolation, settings, let, steps, retry, expect, think, autocommit, clients, pipeline)",
        ])
    }

    @Test func wrongTypeIsReportedAtTheValue() {
        #expect(diagnostics("""
            name: t
            defaults:
              clients: many
            transactions:
              tx:
                steps: SELECT 1
            """) == [
            "w.yaml:3:12: 'defaults.clients' must be a whole number greater than 0",
            // Not also "transaction 'tx' has no steps": that follows from the mistake.
            "w.yaml:6:12: 'steps' must be a list of SQL statements or pauses",
        ].sorted(by: lineThenColumn))
    }

    @Test func unknownDefaultVariantSuggestsTheClosest() {
        #expect(diagnostics("""
            name: t
            default_variant: orderd
            transactions:
              tx:
                steps: [SELECT 1]
            variants:
              ordered:
                description: a
              unordered:
                description: b
            """).map(dropLocation) == [
            "default_variant 'orderd' is not a variant of this workload; did you mean 'ordered'?",
        ])
    }

    @Test
    func unknownDefaultVariantIsReportedAtItsValue() {
        #expect(diagnostics("""
            name: t
            default_variant: orderd
            transactions:
              tx:
                steps: [SELECT 1]
            variants:
              ordered:
                description: a
            """) == ["w.yaml:2:18: default_variant 'orderd' is not a variant of this workload; did you mean 'ordered'?"])
    }

    @Test func undefinedParameterInAStepIsReportedAtTheStep() {
        #expect(diagnostics("""
            name: t
            params:
              accounts: 10
            transactions:
              tx:
                steps:
                  - SELECT :acounts
            """) == [
            "w.yaml:7:9: ':acounts' in transaction 'tx' is neither a parameter nor a variable set before this step; did you mean 'accounts'?",
        ])
    }

    @Test func unknownDistributionIsReportedAtItsName() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                let:
                  x: unifrom(1, 10)
                steps: [SELECT 1]
            """) == [
            "w.yaml:5:10: unknown distribution 'unifrom'; did you mean 'uniform'?",
        ])
    }

    @Test
    func brokenDrawDoesNotCascadeIntoUndefinedVariables() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                let:
                  x: unifrom(1, 10)
                steps: [SELECT :x]
            """) == [
            "w.yaml:5:10: unknown distribution 'unifrom'; did you mean 'uniform'?",
        ])
    }

    @Test func badSQLStateInRetryIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                retry:
                  on: 4001
                steps: [SELECT 1]
            """) == [
            "w.yaml:5:11: '4001' is not a SQLSTATE: write a five-character code such as 40P01 or a condition name such as deadlock_detected",
        ])
    }

    @Test func retryWithoutOnIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              tx:
                retry:
                  max_attempts: 0
                steps: [SELECT 1]
            """) == [
            "w.yaml:5:7: 'retry' needs 'on': the SQLSTATEs to retry, such as [40P01, 40001]",
            "w.yaml:5:21: 'retry.max_attempts' must be a whole number greater than 0",
        ])
    }

    @Test func durationWithoutUnitIsReported() {
        #expect(diagnostics("""
            name: t
            defaults:
              duration: 10
            transactions:
              tx:
                steps: [SELECT 1]
            """) == [
            "w.yaml:3:13: 'defaults.duration' '10' needs a unit: ms, s, min or h (for example 10s)",
        ])
    }

    @Test func durationsInDefaultsAreConvertedToSeconds() throws {
        let workload = try WorkloadParser.parse("""
            name: t
            defaults:
              duration: 1500ms
              transactions: 20
            transactions:
              tx:
                steps: [SELECT 1]
            """, file: "t.yaml")
        #expect(workload.defaults == RunDefaults(clients: nil, durationSeconds: 1.5, transactionsPerClient: 20))
    }

    @Test func weightsSummingToZeroAreReportedAtTheFirstTransaction() {
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                weight: 0
                steps: [SELECT 1]
              b:
                weight: 0
                steps: [SELECT 2]
            """) == [
            "w.yaml:3:3: transaction weights sum to zero: at least one transaction needs a weight above 0",
        ])
    }

    @Test func negativeWeightIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                weight: -1
                steps: [SELECT 1]
            """) == ["w.yaml:4:13: 'weight' must not be negative"])
    }

    @Test func unknownIsolationLevelSuggestsTheClosest() {
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                isolation: serialisable
                steps: [SELECT 1]
            """) == ["w.yaml:4:16: unknown isolation level 'serialisable'; did you mean 'serializable'?"])
    }

    @Test func duplicateKeyIsRejected() {
        let found = diagnostics("""
            name: t
            name: u
            transactions:
              a:
                steps: [SELECT 1]
            """)
        #expect(found.count == 1)
        #expect(found.first?.contains("'name'") == true)
    }

    /// YAML is read with Yams' basic resolver: scalars are text, so a plain
    /// and a quoted spelling of one key are the same key.
    @Test func plainAndQuotedSpellingsOfOneKeyAreDuplicates() {
        let found = diagnostics("""
            name: t
            transactions:
              a:
                steps: [SELECT 1]
            variants:
              true: {}
              'true': {}
            """)
        #expect(found.contains { $0.contains("duplicate key 'true'") }, "\(found)")
    }

    @Test func nullTildeAndEmptyVariantBodiesAreEmptyVariants() throws {
        let workload = try WorkloadParser.parse("""
            name: t
            transactions:
              a:
                steps: [SELECT 1]
            variants:
              one: ~
              two: null
              three:
              four: {}
            """, file: "t.yaml")
        #expect(workload.variants.map(\.name) == ["one", "two", "three", "four"])
        #expect(workload.variants.allSatisfy { $0.parameters.isEmpty && $0.transactions.isEmpty })
    }

    @Test
    func duplicateKeyIsReportedAtTheDuplicateOnOneLine() {
        #expect(diagnostics("""
            name: t
            name: u
            transactions:
              a:
                steps: [SELECT 1]
            """) == ["w.yaml:2:1: duplicate key 'name': each key may appear once in a mapping"])
    }

    @Test func distinctFromAnUndrawnVariableIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                let:
                  x: uniform(1, 10) != y
                steps: [SELECT :x]
            """) == ["w.yaml:5:7: 'x' must differ from 'y', which is not drawn before it in transaction 'a'"])
    }

    @Test func distinctDrawWithTooFewValuesIsReported() {
        #expect(diagnostics("""
            name: t
            transactions:
              a:
                let:
                  x: uniform(1, 1)
                  y: uniform(1, 1) != x
                steps:
                  - SELECT :x, :y
            """) == ["w.yaml:6:7: 'y' in transaction 'a' cannot differ from x: its draw has only 1 value"])
    }

    @Test func emptyFileIsReported() {
        #expect(diagnostics("") == ["w.yaml:1:1: the file is empty; a workload needs at least 'name' and 'transactions'"])
        #expect(diagnostics("# only a comment\n") == ["w.yaml:1:1: the file has nothing but comments; a workload needs at least 'name' and 'transactions'"])
    }

    @Test("a UTF-8 byte order mark is skipped")
    func byteOrderMarkIsSkipped() throws {
        let workload = try WorkloadParser.parse("\u{FEFF}name: t\ntransactions:\n  tx:\n    steps: [SELECT 1]\n", file: "w.yaml")
        #expect(workload.name == "t")
    }

    @Test("every repetition of a key is reported, in every mapping")
    func everyDuplicateKeyIsReported() {
        #expect(diagnostics("name: a\nname: b\nname: c\ntransactions:\n  tx:\n    steps: [SELECT 1]\n") == [
            "w.yaml:2:1: duplicate key 'name': each key may appear once in a mapping",
            "w.yaml:3:1: duplicate key 'name': each key may appear once in a mapping",
        ])
        #expect(diagnostics("name: t\ntransactions:\n  tx:\n    weight: 1\n    weight: 2\n    steps: [SELECT 1]\nparams: {a: 1, b: 2, a: 3}\n") == [
            "w.yaml:5:5: duplicate key 'weight': each key may appear once in a mapping",
            "w.yaml:7:22: duplicate key 'a': each key may appear once in a mapping",
        ])
    }

    @Test("null, ~ and nothing are not text: a name, SQL or setting that is null is reported")
    func nullIsNotText() {
        let tx = "transactions:\n  tx:\n    steps: [SELECT 1]\n"
        #expect(diagnostics("name: null\n" + tx) == ["w.yaml:1:7: 'name' is null; expected the workload's name, such as transfers"])
        #expect(diagnostics("name: \"\"\n" + tx) == ["w.yaml:1:7: 'name' is empty; expected the workload's name, such as transfers"])
        #expect(diagnostics("name: t\nsetup: ~\n" + tx) == ["w.yaml:2:8: 'setup' is null; expected SQL statements"])
        #expect(diagnostics("name: t\ntransactions:\n  tx:\n    settings:\n      lock_timeout:\n    steps: [SELECT 1, null]\n") == [
            "w.yaml:5:20: setting 'lock_timeout' has no value; expected a single value such as 100ms",
            "w.yaml:6:23: a step is null; expected SQL, or a mapping with 'sql' or 'pause'",
        ])
        #expect(diagnostics("name: t\ntransactions:\n  tx:\n    steps:\n      - sql: SELECT 1\n        into: true\n") == [
            "w.yaml:6:15: 'into' must be variable names, not the boolean true (quote it if you mean the text)",
        ])
        // A quoted 'null' is text.
        #expect(diagnostics("name: 'null'\n" + tx) == [])
    }

    @Test("raw $n placeholders in step SQL are reported where they are")
    func rawPlaceholdersAreReported() {
        #expect(diagnostics("name: t\ntransactions:\n  tx:\n    steps:\n      - SELECT * FROM t WHERE id = $1\n      - sql: \"UPDATE t SET v = '$1', w = $2\"\n      - SELECT 1\n") == [
            "w.yaml:5:36: '$1' is a raw bind placeholder: lockstorm numbers bind parameters itself from ':names', so write the parameter or variable by name (:id) instead",
            "w.yaml:6:42: '$2' is a raw bind placeholder: lockstorm numbers bind parameters itself from ':names', so write the parameter or variable by name (:id) instead",
        ])
        #expect(diagnostics("name: t\ntransactions:\n  tx:\n    steps:\n      - SELECT a$1, '$1' FROM t -- $2\n      - DO $$ BEGIN PERFORM $1; END $$\n") == [])
    }

    @Test("zero and negative durations say what is allowed")
    func zeroDurationsSayWhatIsAllowed() {
        #expect(diagnostics("name: t\ndefaults:\n  duration: 0ms\ntransactions:\n  tx:\n    steps: [SELECT 1]\n") == [
            "w.yaml:3:13: 'defaults.duration' must be above 0, such as 10s or 500ms; '0ms' is zero",
        ])
        #expect(diagnostics("name: t\ndefaults:\n  duration: -2s\ntransactions:\n  tx:\n    steps: [SELECT 1]\n") == [
            "w.yaml:3:13: 'defaults.duration' must be above 0, such as 10s or 500ms; '-2s' is negative",
        ])
    }

    @Test("more entries than the limit are reported, naming it")
    func entryLimits() {
        let params = (0...InputLimits.maxEntries).map { "  p\($0): 1" }.joined(separator: "\n")
        #expect(diagnostics("name: t\nparams:\n\(params)\ntransactions:\n  tx:\n    steps: [SELECT 1]\n") == [
            "w.yaml:3:3: too many parameters: 1001, over lockstorm's limit of 1000",
        ])
    }

    @Test func documentThatIsNotAMappingIsReported() {
        #expect(diagnostics("- a\n- b\n") == ["w.yaml:1:1: the workload must be a mapping of keys to values, found a list"])
    }

    @Test func invalidYAMLIsReportedWithItsLocation() {
        #expect(diagnostics("name: t\ntransactions: [a, b\n") == [
            "w.yaml:3:1: invalid YAML: expected ',' or ']' in a [ ] list (while parsing a flow sequence at 2:15)",
        ])
        #expect(diagnostics("name: t\n  bad: indent\n") == ["w.yaml:2:6: invalid YAML: ': ' where no key can start (quote a value that contains ': ', or check the indentation)"])
    }

    @Test func everyMistakeInOneFileIsReportedAtOnce() {
        #expect(diagnostics("""
            name: t
            params:
              accounts: 10
            defaults:
              duration: 10
            transactions:
              tx:
                isolaton: serializable
                let:
                  x: unifrom(1, :accounts)
                retry:
                  on: [40P01, 4001]
                steps:
                  - SELECT :acounts
            """) == [
            "w.yaml:5:13: 'defaults.duration' '10' needs a unit: ms, s, min or h (for example 10s)",
            "w.yaml:8:5: unknown key 'isolaton' in transaction 'tx'; did you mean 'isolation'?",
            "w.yaml:10:10: unknown distribution 'unifrom'; did you mean 'uniform'?",
            "w.yaml:12:11: '4001' is not a SQLSTATE: write a five-character code such as 40P01 or a condition name such as deadlock_detected",
            "w.yaml:14:9: ':acounts' in transaction 'tx' is neither a parameter nor a variable set before this step; did you mean 'accounts'?",
        ])
    }

    @Test func diagnosticDescriptionIsFileLineColumnMessage() {
        let diagnostic = Diagnostic(file: "a.yaml", location: SourceLocation(line: 3, column: 7), message: "boom")
        #expect(diagnostic.description == "a.yaml:3:7: boom")
        let error = WorkloadError([
            Diagnostic(file: "a.yaml", location: SourceLocation(line: 9, column: 1), message: "later"),
            diagnostic,
        ])
        #expect(error.description == "a.yaml:3:7: boom\na.yaml:9:1: later")
    }

    @Test
    func mistakeInABaseTransactionIsReportedOnceWhateverTheVariants() {
        let found = diagnostics("""
            name: t
            transactions:
              tx:
                steps: [SELECT :nope]
            variants:
              a:
                description: first
              b:
                description: second
            """)
        #expect(found.count == 1)
    }
}

/// Orders `file:line:col: message` strings the way `WorkloadError` sorts diagnostics.
func lineThenColumn(_ lhs: String, _ rhs: String) -> Bool {
    func key(_ text: String) -> (Int, Int, String) {
        let parts = text.split(separator: ":", maxSplits: 3)
        return (Int(parts[1]) ?? 0, Int(parts[2]) ?? 0, String(parts[3]))
    }
    return key(lhs) < key(rhs)
}

/// The message of a `file:line:col: message` string.
func dropLocation(_ text: String) -> String {
    String(text.split(separator: ":", maxSplits: 3)[3].dropFirst())
}
