/// A few sessions, each a list of SQL steps inside one transaction, whose
/// interleavings `lockstorm explore` runs one by one and `lockstorm replay`
/// runs in one recorded order. Every value is already bound: steps carry
/// `$n` placeholders and their parameters, never spliced values.
///
/// By default each session is one transaction: `BEGIN [ISOLATION LEVEL …]`
/// and its `SET LOCAL` settings go out just before its first step (they
/// take no locks, so they are not interleaved), then its steps, then
/// `COMMIT`. The COMMIT is a step of its own that takes part in the
/// interleavings, because when a transaction ends decides who waits; a
/// session whose last step is already `COMMIT`, `END` or `ROLLBACK` gets no
/// extra one. A session that writes `BEGIN` lines (or says `autocommit:
/// true`) runs its steps outside any `BEGIN` … `COMMIT` in autocommit, and
/// may run several transactions; each `BEGIN` is sent with the step after it.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    /// The scenario's `params`, in file order (bound into setup, teardown and steps).
    public var parameters: [(name: String, value: Value)]
    public var setup: [BoundStatement]
    public var teardown: [BoundStatement]
    /// `deadlock_timeout` for the embedded server, in milliseconds.
    public var deadlockTimeoutMilliseconds: Int?
    public var sessions: [ScenarioSession]
    /// The interleavings to run instead of all of them (`interleavings:`).
    public var interleavings: [Interleaving]?
    /// One recorded interleaving (`order:`): what `replay` runs.
    public var order: Interleaving?
    /// What a replay must see (`expect:`); `nil` means "a deadlock".
    public var expectation: ScenarioExpectation?

    public init(
        name: String, description: String = "", parameters: [(name: String, value: Value)] = [], setup: [BoundStatement] = [],
        teardown: [BoundStatement] = [], deadlockTimeoutMilliseconds: Int? = nil, sessions: [ScenarioSession],
        interleavings: [Interleaving]? = nil, order: Interleaving? = nil, expectation: ScenarioExpectation? = nil
    ) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.setup = setup
        self.teardown = teardown
        self.deadlockTimeoutMilliseconds = deadlockTimeoutMilliseconds
        self.sessions = sessions
        self.interleavings = interleavings
        self.order = order
        self.expectation = expectation
    }

    /// How many steps each session has (its COMMIT included), in session order.
    public var stepCounts: [Int] { sessions.map(\.steps.count) }

    /// `a.1` for the first step of session `a` (1-based, as people count).
    public func stepLabel(session: Int, step: Int) -> String { "\(sessions[session].name).\(step + 1)" }
}

/// One session of a scenario: one connection; one transaction, or (with
/// `BEGIN` lines or `autocommit: true`) autocommit steps and any number of
/// transactions.
public struct ScenarioSession: Sendable, Hashable {
    public var name: String
    /// The workload transaction this session stands for (reproductions
    /// written by `fuzz`), so its deadlock signature reads like the run's.
    public var template: String?
    /// `BEGIN`, with the isolation level when one is set.
    public var begin: String
    /// `SELECT set_config($1, $2, true)` for each `SET LOCAL` setting, sent
    /// after each BEGIN.
    public var settings: [BoundStatement]
    /// `SELECT set_config($1, $2, false)` for each setting of a session that
    /// has autocommit steps: sent once, when the session connects, so the
    /// settings hold for its autocommit steps and its transactions alike.
    public var sessionSettings: [BoundStatement]
    public var steps: [ScenarioStep]

    public init(
        name: String, template: String? = nil, begin: String = "BEGIN", settings: [BoundStatement] = [], sessionSettings: [BoundStatement] = [],
        steps: [ScenarioStep]
    ) {
        self.name = name
        self.template = template
        self.begin = begin
        self.settings = settings
        self.sessionSettings = sessionSettings
        self.steps = steps
    }

    /// Whether some step runs outside a transaction, or the session runs more than one.
    public var isMultiTransaction: Bool {
        steps.contains { !$0.inTransaction } || steps.filter { $0.begin != nil }.count > 1
    }
}

/// One statement of a session, bound.
public struct ScenarioStep: Sendable, Hashable {
    /// The step as written (with `:name` references), for display.
    public var text: String
    public var statement: BoundStatement
    /// The 0-based step of `ScenarioSession.template` this step is (fuzz reproductions).
    public var templateStep: Int?
    /// The COMMIT lockstorm appended.
    public var isImplicitCommit: Bool
    /// The `BEGIN` that opens a transaction just before this step (followed
    /// by the session's `settings`); `nil` when the step opens none.
    public var begin: String?
    /// Whether the step runs inside a transaction (`false`: autocommit).
    public var inTransaction: Bool
    /// The rows the step must return (`rows:`), in order; `nil`: not checked.
    public var expectedRows: [[Value]]?

    public init(
        text: String, statement: BoundStatement, templateStep: Int? = nil, isImplicitCommit: Bool = false, begin: String? = nil,
        inTransaction: Bool = true, expectedRows: [[Value]]? = nil
    ) {
        self.text = text
        self.statement = statement
        self.templateStep = templateStep
        self.isImplicitCommit = isImplicitCommit
        self.begin = begin
        self.inTransaction = inTransaction
        self.expectedRows = expectedRows
    }

    public static let commit = ScenarioStep(text: "COMMIT", statement: BoundStatement(sql: "COMMIT"), isImplicitCommit: true)

    /// Whether `rows` (as the server sent them, text or NULL) are the
    /// expected rows: the same number of rows and columns, in order, each
    /// value compared as an invariant compares (numbers by value, so `100`
    /// equals `100.00`; booleans by value, PostgreSQL's `t` is `true`; NULL
    /// only equals null; anything else as text).
    public static func rowsMatch(_ rows: [[String?]], expected: [[Value]]) -> Bool {
        guard rows.count == expected.count else { return false }
        for (row, want) in zip(rows, expected) {
            guard row.count == want.count else { return false }
            for (cell, value) in zip(row, want) where !valueMatches(cell, value) { return false }
        }
        return true
    }

    static func valueMatches(_ cell: String?, _ expected: Value) -> Bool {
        guard let cell else { return expected == .null }
        if expected == .null { return false }
        let actual = Value.parse(text: cell)
        if let want = expected.number, let got = actual.number { return want == got }
        if case .bool = expected { return actual == expected }
        return expected.bindText == cell
    }
}

/// What a replay must see for the reproduction to count as reproduced.
public struct ScenarioExpectation: Sendable, Hashable {
    public var outcome: OutcomeKind
    /// The deadlock's signature (`DeadlockSignature.text`), when it must match.
    public var signature: String?

    public init(outcome: OutcomeKind, signature: String? = nil) {
        self.outcome = outcome
        self.signature = signature
    }
}
