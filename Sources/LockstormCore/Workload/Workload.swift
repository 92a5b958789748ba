/// A workload as written in its YAML file: schema and data setup,
/// parameters, transaction templates, variants, invariants and checks.
///
/// This is the *source* model: names are unresolved and expressions
/// unevaluated. `Workload.plan(variant:overrides:)` turns it into a `RunPlan`.
public struct Workload: Sendable {
    public var name: String
    public var description: String
    /// Parameters with their defaults, in file order.
    public var parameters: [Parameter]
    public var setup: SQLScript?
    public var teardown: SQLScript?
    public var defaults: RunDefaults
    /// Transaction templates, in file order.
    public var transactions: [TransactionTemplate]
    /// Variants, in file order; empty when the workload has none.
    public var variants: [Variant]
    /// The variant run when none is named (default: the first one).
    public var defaultVariant: String?
    public var defaultVariantLocation: SourceLocation = .unknown
    public var invariants: [Invariant]
    /// Check expressions the workload asks for (`invariant_failures == 0`).
    public var checks: [String]
    /// Where each of `checks` starts in the file (its first character), for diagnostics.
    public var checkLocations: [SourceLocation] = []
    /// Errors the workload does not declare count without failing the run
    /// (`allow_unexpected_errors: true`; see `CompiledTransaction.isUnexpected`).
    public var allowUnexpectedErrors = false

    public init(
        name: String, description: String = "", parameters: [Parameter] = [], setup: SQLScript? = nil, teardown: SQLScript? = nil,
        defaults: RunDefaults = RunDefaults(), transactions: [TransactionTemplate] = [], variants: [Variant] = [],
        defaultVariant: String? = nil, invariants: [Invariant] = [], checks: [String] = []
    ) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.setup = setup
        self.teardown = teardown
        self.defaults = defaults
        self.transactions = transactions
        self.variants = variants
        self.defaultVariant = defaultVariant
        self.invariants = invariants
        self.checks = checks
    }

    /// The name of the variant that runs when the user names none.
    public var effectiveDefaultVariant: String? {
        defaultVariant ?? variants.first?.name
    }
}

/// Where a piece of the workload stands in its file, for error messages.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static let unknown = SourceLocation(line: 0, column: 0)

    public var description: String { "\(line):\(column)" }
}

/// A named workload parameter and its default value.
public struct Parameter: Sendable, Hashable {
    public var name: String
    public var value: Value
    public var location: SourceLocation

    public init(name: String, value: Value, location: SourceLocation = .unknown) {
        self.name = name
        self.value = value
        self.location = location
    }
}

/// Run settings a workload suggests; the command line overrides them.
public struct RunDefaults: Sendable, Hashable {
    public var clients: Int?
    public var durationSeconds: Double?
    public var transactionsPerClient: Int?

    public init(clients: Int? = nil, durationSeconds: Double? = nil, transactionsPerClient: Int? = nil) {
        self.clients = clients
        self.durationSeconds = durationSeconds
        self.transactionsPerClient = transactionsPerClient
    }
}

/// A script of SQL statements with `:name` parameter references.
public struct SQLScript: Sendable, Hashable {
    public var text: String
    public var location: SourceLocation

    public init(text: String, location: SourceLocation = .unknown) {
        self.text = text
        self.location = location
    }
}

/// Transaction isolation levels, as `BEGIN ISOLATION LEVEL …` spells them.
public enum IsolationLevel: String, Sendable, CaseIterable, Hashable {
    case readCommitted = "read committed"
    case repeatableRead = "repeatable read"
    case serializable = "serializable"

    public var sql: String { "BEGIN ISOLATION LEVEL \(rawValue.uppercased())" }
}

/// A random draw made once per transaction (per attempt when a retry redraws).
public struct Draw: Sendable, Hashable {
    public var name: String
    public var distribution: Distribution
    /// Variables this draw must differ from (`uniform(1, :n) != src`).
    public var distinctFrom: [String]
    public var location: SourceLocation

    public init(name: String, distribution: Distribution, distinctFrom: [String] = [], location: SourceLocation = .unknown) {
        self.name = name
        self.distribution = distribution
        self.distinctFrom = distinctFrom
        self.location = location
    }
}

/// How a drawn value is distributed. Arguments are expressions over parameters.
public enum Distribution: Sendable, Hashable {
    /// Integers uniformly in `lower...upper`.
    case uniform(Expression, Expression)
    /// A constant expression (no randomness).
    case constant(Expression)
    /// Integers in `lower...upper` with Zipf's law: the k-th value has
    /// probability proportional to 1 / k^exponent (the first is the hottest).
    case zipf(Expression, Expression, exponent: Expression)
    /// Integers in `lower...upper` where a hot set (the first `fraction` of
    /// the range) receives `probability` of the draws.
    case hotspot(Expression, Expression, fraction: Expression, probability: Expression)
    /// One of the listed values, each equally likely.
    case choice([Expression])
}

/// One step of a transaction.
public enum Step: Sendable, Hashable {
    /// A statement with `:name` references bound as parameters, and what to
    /// do with its result.
    case sql(String, location: SourceLocation, options: StepOptions = StepOptions())
    /// A pause inside the transaction, its length in nanoseconds drawn from a distribution.
    case pause(Distribution, location: SourceLocation)
}

/// What a statement step does with its result, and when it runs.
public struct StepOptions: Sendable, Hashable {
    /// Variables that receive the columns of the first row (`into:`), in column order.
    public var into: [String]
    /// What happens when the statement returns no row (`on_empty:`).
    public var onEmpty: EmptyAction
    /// The step runs only when this holds (`if:`).
    public var condition: Expression?
    /// After the step: end the transaction early (`skip_if:`) or end the client (`stop_if:`).
    public var skipIf: Expression?
    public var stopIf: Expression?
    /// After the step: roll the attempt back on purpose (`rollback_if:`), a
    /// business outcome such as "out of stock", not a failure.
    public var rollbackIf: Expression?
    /// The unit of work this step counts (`count: jobs`): rows it affected or
    /// returned are added to the counter when the attempt commits.
    public var count: String?
    /// Errors this step expects, with what to do about them (`expect:`).
    public var expect: [ExpectedError]
    public var location: SourceLocation

    public init(
        into: [String] = [], onEmpty: EmptyAction = .continue, condition: Expression? = nil, skipIf: Expression? = nil,
        stopIf: Expression? = nil, rollbackIf: Expression? = nil, count: String? = nil, expect: [ExpectedError] = [],
        location: SourceLocation = .unknown
    ) {
        self.into = into
        self.onEmpty = onEmpty
        self.condition = condition
        self.skipIf = skipIf
        self.stopIf = stopIf
        self.rollbackIf = rollbackIf
        self.count = count
        self.expect = expect
        self.location = location
    }
}

/// What a step does when its statement returns no row.
public enum EmptyAction: String, Sendable, Hashable, CaseIterable {
    /// Carry on (captured variables are NULL).
    case `continue`
    /// Skip the remaining steps and commit: nothing to do this time.
    case skip
    /// Commit and end this client: the work is done (a queue is drained).
    case stop
    /// Roll the attempt back on purpose (a business outcome, not a failure).
    case rollback
}

/// An error a step or transaction expects, and the action it takes.
public struct ExpectedError: Sendable, Hashable {
    public var state: SQLState
    public var action: ErrorAction

    public init(state: SQLState, action: ErrorAction) {
        self.state = state
        self.action = action
    }
}

/// What an expected error does to the transaction. Either way the error is
/// counted by its SQLSTATE class.
public enum ErrorAction: String, Sendable, Hashable, CaseIterable {
    /// Roll back and go on with the next transaction.
    case rollback
    /// Roll back and retry under the transaction's retry policy (its backoff
    /// and attempt limit; `RetryPolicy.expectedDefault` when it has none).
    case retry
}

/// What to do when an attempt fails with one of the listed SQLSTATEs.
public struct RetryPolicy: Sendable, Hashable {
    public var on: Set<SQLState>
    /// Attempts in total, the first included.
    public var maxAttempts: Int
    public var backoff: Backoff
    /// Whether a retry draws new random values (`false`: replays the same).
    public var redraw: Bool

    public init(on: Set<SQLState>, maxAttempts: Int, backoff: Backoff = .none, redraw: Bool = false) {
        self.on = on
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.redraw = redraw
    }

    /// The policy an `expect: … retry` uses when the transaction declares no
    /// `retry:`: 3 attempts, exponential backoff from 1 ms to 50 ms with jitter.
    public static let expectedDefault = RetryPolicy(on: [], maxAttempts: 3, backoff: .exponential(base: 1_000_000, cap: 50_000_000, jitter: true))
}

/// Delay before a retry, in nanoseconds.
public enum Backoff: Sendable, Hashable {
    case none
    case constant(Int64)
    /// `base × 2^(retry-1)` capped at `cap`; with jitter, uniform in `0...delay`.
    case exponential(base: Int64, cap: Int64, jitter: Bool)

    /// The delay before retry number `retry` (1 for the first retry).
    public func delay(retry: Int, random: inout RandomSource) -> Int64 {
        switch self {
        case .none:
            return 0
        case .constant(let nanoseconds):
            return nanoseconds
        case .exponential(let base, let cap, let jitter):
            let shift = min(max(retry - 1, 0), 40)
            let (scaled, overflow) = base.multipliedReportingOverflow(by: Int64(1) << shift)
            let delay = overflow ? cap : min(scaled, cap)
            return jitter ? random.uniform(0, delay) : delay
        }
    }
}

/// A transaction template: what one client runs, many times.
public struct TransactionTemplate: Sendable, Hashable {
    public var name: String
    public var weight: Double
    public var isolation: IsolationLevel?
    /// `SET LOCAL` settings applied after BEGIN, in order.
    public var settings: [Setting]
    public var draws: [Draw]
    public var steps: [Step]
    public var retry: RetryPolicy?
    /// Errors any statement of the transaction expects (`expect:`).
    public var expect: [ExpectedError]
    /// Time between the end of this transaction and the client's next one (`think:`).
    public var think: Distribution?
    /// Each step commits on its own, without BEGIN/COMMIT (`autocommit: true`).
    public var autocommit: Bool
    /// Clients that run only this transaction (`clients: N`); `nil`: shared by weight.
    public var dedicatedClients: Int?
    /// BEGIN, settings, steps and COMMIT go out together in one round trip
    /// (`pipeline: true`, libpq pipeline mode).
    public var pipeline = false
    public var location: SourceLocation

    public init(
        name: String, weight: Double = 1, isolation: IsolationLevel? = nil, settings: [Setting] = [], draws: [Draw] = [],
        steps: [Step] = [], retry: RetryPolicy? = nil, expect: [ExpectedError] = [], think: Distribution? = nil,
        autocommit: Bool = false, dedicatedClients: Int? = nil, location: SourceLocation = .unknown
    ) {
        self.name = name
        self.weight = weight
        self.isolation = isolation
        self.settings = settings
        self.draws = draws
        self.steps = steps
        self.retry = retry
        self.expect = expect
        self.think = think
        self.autocommit = autocommit
        self.dedicatedClients = dedicatedClients
        self.location = location
    }
}

/// A server setting applied with `set_config(name, value, true)` (`SET LOCAL`).
public struct Setting: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A named variation of the workload that overrides parameters and parts of
/// transactions, so that one file compares strategies.
public struct Variant: Sendable, Hashable {
    public var name: String
    public var description: String
    public var parameters: [Parameter]
    public var transactions: [TransactionOverride]
    public var location: SourceLocation

    public init(name: String, description: String = "", parameters: [Parameter] = [], transactions: [TransactionOverride] = [], location: SourceLocation = .unknown) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.transactions = transactions
        self.location = location
    }
}

/// The parts of a transaction template a variant replaces; `nil` keeps the base.
public struct TransactionOverride: Sendable, Hashable {
    public var name: String
    public var weight: Double?
    public var isolation: IsolationLevel?
    public var settings: [Setting]?
    public var draws: [Draw]?
    public var steps: [Step]?
    public var retry: RetryPolicy?
    public var expect: [ExpectedError]?
    public var think: Distribution?
    public var autocommit: Bool?
    public var dedicatedClients: Int?
    public var pipeline: Bool?
    public var location: SourceLocation

    public init(
        name: String, weight: Double? = nil, isolation: IsolationLevel? = nil, settings: [Setting]? = nil, draws: [Draw]? = nil,
        steps: [Step]? = nil, retry: RetryPolicy? = nil, expect: [ExpectedError]? = nil, think: Distribution? = nil,
        autocommit: Bool? = nil, dedicatedClients: Int? = nil, location: SourceLocation = .unknown
    ) {
        self.name = name
        self.weight = weight
        self.isolation = isolation
        self.settings = settings
        self.draws = draws
        self.steps = steps
        self.retry = retry
        self.expect = expect
        self.think = think
        self.autocommit = autocommit
        self.dedicatedClients = dedicatedClients
        self.location = location
    }
}

/// A statement run after the load whose first value must match `expected`.
public struct Invariant: Sendable, Hashable {
    public var name: String
    public var sql: String
    /// The expected value of the first column of the first row.
    public var expected: Expression
    /// Also checked every so often while the load runs (`during: 500ms`), in nanoseconds.
    public var duringInterval: Int64?
    public var location: SourceLocation

    public init(name: String, sql: String, expected: Expression, duringInterval: Int64? = nil, location: SourceLocation = .unknown) {
        self.name = name
        self.sql = sql
        self.expected = expected
        self.duringInterval = duringInterval
        self.location = location
    }
}
