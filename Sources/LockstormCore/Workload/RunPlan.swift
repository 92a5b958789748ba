/// A workload compiled for one variant and one set of parameter values:
/// every reference resolved, every statement rewritten to bind parameters,
/// ready for clients to execute without further lookups.
public struct RunPlan: Sendable {
    public var workloadName: String
    /// `nil` when the workload has no variants.
    public var variantName: String?
    /// Final parameter values (defaults, then variant, then `--set`), in file order.
    public var parameters: [(name: String, value: Value)]
    public var setup: [BoundStatement]
    public var teardown: [BoundStatement]
    public var transactions: [CompiledTransaction]
    /// Running totals of the transaction weights, for weighted choice.
    public var cumulativeWeights: [Double]
    public var invariants: [CompiledInvariant]
    public var defaults: RunDefaults
    public var checks: [String]
    /// Units of work the steps count (`count: jobs`), in order of first use;
    /// `CompiledStepOptions.counter` indexes this.
    public var counterNames: [String] = []
    /// `allow_unexpected_errors: true`: undeclared errors do not fail the run.
    public var allowUnexpectedErrors = false
    /// Every distinct text the clients send (BEGIN, settings, steps, COMMIT,
    /// ROLLBACK), numbered once when the plan is built: a statement's id is
    /// its index here, so `-M prepared` names its prepared statements without
    /// hashing SQL per send (`numberStatements`).
    public var statementTexts: [String] = []
    /// The ids of `COMMIT` and `ROLLBACK` in `statementTexts` (-1: not numbered).
    public var commitStatement: Int32 = -1
    public var rollbackStatement: Int32 = -1

    /// The variant label used in result names: the variant, or `default`.
    public var variantLabel: String { variantName ?? "default" }

    /// Picks a transaction index by weight among the shared transactions
    /// (dedicated ones have no weight here).
    public func chooseTransaction(_ random: inout RandomSource) -> Int {
        guard transactions.count > 1, let total = cumulativeWeights.last else { return 0 }
        let point = random.unit() * total
        for (index, bound) in cumulativeWeights.enumerated() where point < bound { return index }
        return cumulativeWeights.lastIndex(where: { $0 > 0 }) ?? transactions.count - 1
    }

    /// Clients that run one transaction only (`clients: N`), in total.
    public var dedicatedClientCount: Int { transactions.reduce(0) { $0 + $1.dedicatedClients } }

    /// Whether any transaction is shared by weight.
    public var hasSharedTransactions: Bool { (cumulativeWeights.last ?? 0) > 0 }

    /// The fewest clients a run needs: every dedicated client, plus one for
    /// the shared transactions.
    public var minimumClients: Int { dedicatedClientCount + (hasSharedTransactions ? 1 : 0) }

    /// The transaction client `index` of `clients` is dedicated to, if any:
    /// the last clients are dedicated, in the order the transactions are written.
    public func dedicatedTransaction(client index: Int, of clients: Int) -> Int? {
        var first = clients - dedicatedClientCount
        guard index >= first else { return nil }
        for (transaction, compiled) in transactions.enumerated() where compiled.dedicatedClients > 0 {
            if index < first + compiled.dedicatedClients { return transaction }
            first += compiled.dedicatedClients
        }
        return nil
    }
}

/// A statement with its bind parameters already known.
public struct BoundStatement: Sendable, Hashable {
    public var sql: String
    public var parameters: [String?]

    public init(sql: String, parameters: [String?] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

/// Where a bind parameter's value comes from at run time.
public enum ParameterSource: Sendable, Hashable {
    case constant(String?)
    /// A variable slot of the current transaction.
    case variable(Int)
    /// The client's number, 0 to clients − 1 (`:client_id`).
    case clientID
}

extension RunPlan {
    /// The built-in reference to the client's own number, as pgbench's `:client_id`.
    public static let clientIDName = "client_id"

    /// Gives every statement text the clients send a small id, the same for
    /// the same text (`statementTexts`): BEGIN per transaction, settings,
    /// steps, COMMIT and ROLLBACK. Called once when the plan is built; a
    /// statement added later (the fuzzer's settings) has no id and goes out
    /// with the unnamed statement.
    public mutating func numberStatements() {
        var ids: [String: Int32] = [:]
        var texts: [String] = []
        func id(_ sql: String) -> Int32 {
            if let known = ids[sql] { return known }
            let next = Int32(texts.count)
            ids[sql] = next
            texts.append(sql)
            return next
        }
        for index in transactions.indices {
            transactions[index].beginStatement = transactions[index].autocommit ? -1 : id(transactions[index].begin)
            transactions[index].settingStatements = transactions[index].settings.map { id($0.sql) }
            transactions[index].stepStatements = transactions[index].steps.map { step in
                guard case .sql(let sql, _, _) = step else { return -1 }
                return id(sql)
            }
        }
        let transactional = transactions.contains { !$0.autocommit }
        commitStatement = transactional ? id("COMMIT") : -1
        rollbackStatement = transactional ? id("ROLLBACK") : -1
        statementTexts = texts
    }
}

/// A random or constant value source, compiled.
public enum CompiledDistribution: Sendable, Hashable {
    case uniform(Int64, Int64)
    case constant(Value)
    /// `lower + k − 1` for a Zipf-distributed k in 1…(upper − lower + 1).
    case zipf(lower: Int64, ZipfSampler)
    /// The first `hotCount` values of `lower…upper` get `probability` of the draws.
    case hotspot(lower: Int64, upper: Int64, hotCount: Int64, probability: Double)
    case choice([Value])
    /// A value computed from the variables drawn before it (`least(a, b)`,
    /// `sorted(a, b, c)`), not drawn: the client evaluates it in place of
    /// `draw`, which gives NULL.
    case computed(CompiledCondition)

    public func draw(_ random: inout RandomSource) -> Value {
        switch self {
        case .uniform(let lower, let upper): .int(random.uniform(lower, upper))
        case .constant(let value): value
        case .zipf(let lower, let sampler): .int(lower &+ sampler.sample(&random) &- 1)
        case .hotspot(let lower, let upper, let hotCount, let probability):
            // The hot set may be the whole range (`upper &- lower` fits: the compiler checks it).
            if random.unit() < probability || hotCount > upper &- lower {
                .int(random.uniform(lower, lower &+ hotCount &- 1))
            } else {
                .int(random.uniform(lower &+ hotCount, upper))
            }
        case .choice(let values): values[Int(random.uniform(0, Int64(values.count - 1)))]
        case .computed: .null
        }
    }

    /// How many distinct values it can produce (for "distinct from" checks).
    var distinctValues: Int64? {
        switch self {
        case .uniform(let lower, let upper): upper &- lower &+ 1
        case .constant: 1
        case .zipf(_, let sampler): sampler.count
        case .hotspot(let lower, let upper, _, _): upper &- lower &+ 1
        case .choice(let values): Int64(Set(values).count)
        case .computed: nil
        }
    }
}

/// A condition over parameters and the transaction's variables, compiled:
/// every name already resolved to a constant or a variable slot.
public struct CompiledCondition: Sendable, Hashable {
    public var expression: Expression
    public var constants: [String: Value]
    public var slots: [String: Int]

    /// Whether the condition holds. One that cannot be evaluated (a NULL
    /// where a number was needed, say) does not hold.
    public func holds(variables: [Value], clientID: Int) -> Bool {
        let value = try? expression.evaluate { name in
            if let slot = slots[name] { return slot < variables.count ? variables[slot] : .null }
            if name == RunPlan.clientIDName { return .int(Int64(clientID)) }
            return constants[name]
        }
        return value == .bool(true)
    }

    /// The expression's value over the variables; NULL when it cannot be
    /// evaluated (a NULL where a number was needed, say).
    public func value(variables: [Value], clientID: Int) -> Value {
        let value = try? expression.evaluate { name in
            if let slot = slots[name] { return slot < variables.count ? variables[slot] : .null }
            if name == RunPlan.clientIDName { return .int(Int64(clientID)) }
            return constants[name]
        }
        return value ?? .null
    }
}

/// What a statement step does besides running: capture, conditions, expected errors.
public struct CompiledStepOptions: Sendable, Hashable {
    /// Variable slots that receive the first row's columns, in order.
    public var captureSlots: [Int] = []
    public var onEmpty: EmptyAction = .continue
    public var condition: CompiledCondition?
    public var skipIf: CompiledCondition?
    public var stopIf: CompiledCondition?
    /// Roll the attempt back on purpose when this holds (`rollback_if:`).
    public var rollbackIf: CompiledCondition?
    /// The counter (index into `RunPlan.counterNames`) this step's row count adds to.
    public var counter: Int?
    public var expect: [SQLState: ErrorAction] = [:]

    public init() {}

    public static let plain = CompiledStepOptions()

    /// Whether the engine must hand back the first row's values.
    public var needsRow: Bool { !captureSlots.isEmpty }
}

/// What the engine reports about a statement that succeeded.
public struct StepResult: Sendable, Hashable {
    /// Rows returned, or affected by a command without RETURNING.
    public var rowCount: Int
    /// The first row's values (typed) and their text as the server sent it,
    /// when the step captures them.
    public var firstRow: [Value]
    public var firstRowText: [String?]

    public init(rowCount: Int, firstRow: [Value] = [], firstRowText: [String?] = []) {
        self.rowCount = rowCount
        self.firstRow = firstRow
        self.firstRowText = firstRowText
    }

    public static let none = StepResult(rowCount: 0)
}

/// A draw into a variable slot.
public struct CompiledDraw: Sendable, Hashable {
    public var slot: Int
    public var distribution: CompiledDistribution
    public var distinctFrom: [Int]
}

/// A compiled transaction step.
public enum CompiledStep: Sendable, Hashable {
    /// `indirect`: the payload lives in one shared box, so reading a step
    /// (on every statement) retains the box instead of copying the options'
    /// arrays, dictionaries and expression trees.
    indirect case sql(sql: String, parameters: [ParameterSource], options: CompiledStepOptions = .plain)
    /// A pause whose length in nanoseconds is drawn from the distribution.
    case pause(CompiledDistribution)
}

/// A transaction template ready to run.
public struct CompiledTransaction: Sendable {
    public var name: String
    /// `BEGIN`, with the isolation level when one is set.
    public var begin: String
    /// `SELECT set_config($1, $2, true)` statements for `SET LOCAL` settings
    /// (`false`, the session's setting, under autocommit).
    public var settings: [BoundStatement]
    public var draws: [CompiledDraw]
    public var variableNames: [String]
    public var steps: [CompiledStep]
    /// The `:name` bound to each parameter of each step (empty for pauses),
    /// parallel to `steps`: for reports that show values by name.
    public var stepParameterNames: [[String]] = []
    public var retry: RetryPolicy?
    /// Errors every statement of the transaction expects, and their actions.
    public var expect: [SQLState: ErrorAction] = [:]
    /// Think time after the transaction, in nanoseconds.
    public var think: CompiledDistribution?
    /// Steps commit one by one: no BEGIN, COMMIT or ROLLBACK.
    public var autocommit = false
    /// Clients dedicated to this transaction (0: shared by weight).
    public var dedicatedClients = 0
    /// BEGIN, settings, steps and COMMIT go out in one round trip (libpq
    /// pipeline mode); the validator allows it only when no step depends on
    /// another's result.
    public var pipeline = false
    /// Per step: a statement without captures or conditions, whose result
    /// the client need not look at (parallel to `steps`; may be empty). Saves
    /// copying the step's options on every statement.
    public var plainSteps: [Bool] = []
    /// Where each step is written in the workload file (parallel to `steps`;
    /// may be empty), for messages about a step before anything runs.
    public var stepLocations: [SourceLocation] = []
    /// Ids in `RunPlan.statementTexts` (`RunPlan.numberStatements`): of
    /// `begin` (-1 under autocommit), of each setting, and of each step (-1:
    /// a pause). Empty or -1 where a statement has none.
    public var beginStatement: Int32 = -1
    public var settingStatements: [Int32] = []
    public var stepStatements: [Int32] = []

    /// Whether the workload declares `state` for step `step` (its `expect`,
    /// the transaction's, or the retry policy's `on`).
    public func declares(_ state: SQLState, step: Int?) -> Bool {
        if let step, step < steps.count, case .sql(_, _, let options) = steps[step], options.expect[state] != nil { return true }
        return expect[state] != nil || retry?.on.contains(state) == true
    }

    /// Whether `failure` is an error the workload did not expect: outside the
    /// concurrency classes (40P01, 55P03, 40001, 57014) and a broken
    /// connection, which lockstorm measures, and not declared. Such an error
    /// means the workload is broken (a missing table, a syntax error).
    public func isUnexpected(_ failure: StatementFailure, step: Int?) -> Bool {
        guard failure.errorClass == .other else { return false }
        guard let state = failure.sqlState else { return true }
        return !declares(state, step: step)
    }

    /// What a failure with `state` in step `step` (nil: BEGIN, a setting or
    /// COMMIT) does: the step's `expect`, then the transaction's, then the
    /// retry policy's `on`; otherwise the attempt is rolled back.
    public func action(for state: SQLState?, step: Int?) -> ErrorAction {
        guard let state else { return .rollback }
        if let step, step < steps.count, case .sql(_, _, let options) = steps[step], let action = options.expect[state] { return action }
        if let action = expect[state] { return action }
        if retry?.on.contains(state) == true { return .retry }
        return .rollback
    }
}

/// An invariant ready to run: a statement and the value it must return.
public struct CompiledInvariant: Sendable, Hashable {
    public var name: String
    public var statement: BoundStatement
    public var expected: Value
    /// Also checked while the load runs, this often (nanoseconds).
    public var duringInterval: Int64? = nil
}

extension Workload {
    /// Names of the variants, in file order.
    public var variantNames: [String] { variants.map(\.name) }

    /// Compiles the workload for `variant` (the default variant when `nil`)
    /// with `overrides` applied over the parameters.
    public func plan(variant variantName: String? = nil, overrides: [(name: String, value: Value)] = [], file: String = "workload") throws(WorkloadError) -> RunPlan {
        var compiler = PlanCompiler(workload: self, file: file)
        let plan = compiler.compile(variantName: variantName, overrides: overrides)
        guard compiler.diagnostics.isEmpty, let plan else { throw WorkloadError(compiler.diagnostics) }
        return plan
    }
}

/// Checks a parsed workload by compiling every variant with default parameters.
enum WorkloadValidator {
    static func validate(_ workload: Workload, file: String) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var names: Set<String> = []
        for variant in workload.variants where !names.insert(variant.name).inserted {
            diagnostics.append(Diagnostic(file: file, location: variant.location, message: "duplicate variant '\(variant.name)'"))
        }
        if let defaultVariant = workload.defaultVariant, !workload.variantNames.contains(defaultVariant) {
            diagnostics.append(Diagnostic(file: file, location: workload.defaultVariantLocation, message: "default_variant '\(defaultVariant)' is not a variant of this workload\(Suggestion.didYouMean(defaultVariant, in: workload.variantNames))"))
        }
        let variants: [String?] = workload.variants.isEmpty ? [nil] : workload.variantNames
        for variant in variants {
            var compiler = PlanCompiler(workload: workload, file: file)
            _ = compiler.compile(variantName: variant, overrides: [])
            diagnostics += compiler.diagnostics
        }
        // The same mistake in the base transaction shows once per variant: keep one.
        var seen: Set<Diagnostic> = []
        return diagnostics.filter { seen.insert($0).inserted }
    }
}

struct PlanCompiler {
    let workload: Workload
    let file: String
    var diagnostics: [Diagnostic] = []
    /// Counters named by `count:` so far, over every transaction.
    var counterNames: [String] = []

    init(workload: Workload, file: String) {
        self.workload = workload
        self.file = file
    }

    private mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(file: file, location: location, message: message))
    }

    mutating func compile(variantName requested: String?, overrides: [(name: String, value: Value)]) -> RunPlan? {
        var variant: Variant?
        if let requested {
            guard let found = workload.variants.first(where: { $0.name == requested }) else {
                let known = workload.variantNames
                let hint = known.isEmpty ? "; this workload has no variants" : Suggestion.didYouMean(requested, in: known)
                error(SourceLocation(line: 1, column: 1), "unknown variant '\(requested)'\(hint)")
                return nil
            }
            variant = found
        } else if let name = workload.effectiveDefaultVariant {
            variant = workload.variants.first(where: { $0.name == name })
        }

        // Parameters: defaults, then the variant's, then the command line's.
        var parameters = workload.parameters.map { (name: $0.name, value: $0.value) }
        for parameter in variant?.parameters ?? [] {
            if let index = parameters.firstIndex(where: { $0.name == parameter.name }) {
                parameters[index].value = parameter.value
            } else {
                parameters.append((parameter.name, parameter.value))
            }
        }
        for override in overrides {
            guard let index = parameters.firstIndex(where: { $0.name == override.name }) else {
                error(SourceLocation(line: 1, column: 1), "--set \(override.name): no such parameter\(Suggestion.didYouMean(override.name, in: parameters.map(\.name)))")
                continue
            }
            parameters[index].value = override.value
        }
        var lookup: [String: Value] = [:]
        for parameter in parameters { lookup[parameter.name] = parameter.value }

        // Transactions with the variant's overrides applied.
        var templates = workload.transactions
        for override in variant?.transactions ?? [] {
            guard let index = templates.firstIndex(where: { $0.name == override.name }) else {
                error(override.location, "variant '\(variant?.name ?? "")' overrides unknown transaction '\(override.name)'\(Suggestion.didYouMean(override.name, in: templates.map(\.name)))")
                continue
            }
            if let weight = override.weight { templates[index].weight = weight }
            if let isolation = override.isolation { templates[index].isolation = isolation }
            if let settings = override.settings { templates[index].settings = settings }
            if let draws = override.draws { templates[index].draws = draws }
            if let steps = override.steps { templates[index].steps = steps }
            if let retry = override.retry { templates[index].retry = retry }
            if let expect = override.expect { templates[index].expect = expect }
            if let think = override.think { templates[index].think = think }
            if let autocommit = override.autocommit { templates[index].autocommit = autocommit }
            if let clients = override.dedicatedClients { templates[index].dedicatedClients = clients }
            if let pipeline = override.pipeline { templates[index].pipeline = pipeline }
        }
        if workload.transactions.isEmpty {
            error(SourceLocation(line: 1, column: 1), "the workload has no transactions")
        }

        let transactions = templates.map { compileTransaction($0, parameters: lookup) }
        var cumulative: [Double] = []
        var total = 0.0
        for template in templates {
            // Dedicated transactions are not chosen by weight.
            if (template.dedicatedClients ?? 0) == 0 { total += template.weight }
            cumulative.append(total)
        }
        if !templates.isEmpty && total <= 0 && !templates.contains(where: { ($0.dedicatedClients ?? 0) > 0 }) {
            error(templates[0].location, "transaction weights sum to zero: at least one transaction needs a weight above 0")
        }

        let setup = compileScript(workload.setup, parameters: lookup, what: "setup")
        let teardown = compileScript(workload.teardown, parameters: lookup, what: "teardown")
        let invariants: [CompiledInvariant] = workload.invariants.compactMap { (invariant) -> CompiledInvariant? in
            let statement = bind(SQLTemplate(invariant.sql), parameters: lookup, location: invariant.location, what: "invariant '\(invariant.name)'")
            do {
                let expected = try invariant.expected.evaluate { lookup[$0] }
                guard let statement else { return nil }
                return CompiledInvariant(name: invariant.name, statement: statement, expected: expected, duringInterval: invariant.duringInterval)
            } catch {
                self.error(invariant.location, "invariant '\(invariant.name)': 'equals' \((error as? ExpressionError)?.message ?? "\(error)")")
                return nil
            }
        }
        var plan = RunPlan(
            workloadName: workload.name, variantName: variant?.name, parameters: parameters, setup: setup, teardown: teardown,
            transactions: transactions, cumulativeWeights: cumulative, invariants: invariants, defaults: workload.defaults, checks: workload.checks
        )
        plan.counterNames = counterNames
        plan.allowUnexpectedErrors = workload.allowUnexpectedErrors
        plan.numberStatements()
        return plan
    }

    private mutating func compileScript(_ script: SQLScript?, parameters: [String: Value], what: String) -> [BoundStatement] {
        guard let script else { return [] }
        return SQLLexer.splitStatements(script.text).compactMap { statement in
            bind(SQLTemplate(statement.sql), parameters: parameters, location: script.location, what: what)
        }
    }

    /// Binds a template whose references must all be parameters.
    private mutating func bind(_ template: SQLTemplate, parameters: [String: Value], location: SourceLocation, what: String) -> BoundStatement? {
        var values: [String?] = []
        var ok = true
        for name in template.names {
            if let value = parameters[name] {
                values.append(value.bindText)
            } else {
                error(location, "\(what) uses ':\(name)', which is not a parameter\(Suggestion.didYouMean(name, in: Array(parameters.keys).sorted()))")
                ok = false
            }
        }
        return ok ? BoundStatement(sql: template.sql, parameters: values) : nil
    }

    private mutating func compileTransaction(_ template: TransactionTemplate, parameters: [String: Value]) -> CompiledTransaction {
        var variables: [String] = []
        var draws: [CompiledDraw] = []
        // The variant is left out of messages: a mistake in a base transaction
        // then reads the same for every variant and is reported once.
        let context = "transaction '\(template.name)'"
        for draw in template.draws {
            if parameters[draw.name] != nil {
                error(draw.location, "variable '\(draw.name)' in \(context) has the same name as a parameter")
            }
            if variables.contains(draw.name) {
                error(draw.location, "variable '\(draw.name)' is drawn twice in \(context)")
                continue
            }
            var distinct: [Int] = []
            for other in draw.distinctFrom {
                if let slot = variables.firstIndex(of: other) {
                    distinct.append(slot)
                } else {
                    error(draw.location, "'\(draw.name)' must differ from '\(other)', which is not drawn before it in \(context)\(Suggestion.didYouMean(other, in: variables))")
                }
            }
            if case .constant(let expression) = draw.distribution, expression.references.contains(where: { variables.contains($0.name) || $0.name == RunPlan.clientIDName }) {
                // Computed from earlier variables: evaluated by each client after their draws.
                if !draw.distinctFrom.isEmpty {
                    error(draw.location, "'\(draw.name)' in \(context) is computed from other variables, not drawn: it cannot be redrawn until it differs ('!= \(draw.distinctFrom.joined(separator: ", "))'); make the variables it is computed from differ instead")
                }
                if let computed = compileComputed(expression, variables: variables, draws: draws, parameters: parameters, location: draw.location, what: "'\(draw.name)' in \(context)") {
                    draws.append(CompiledDraw(slot: variables.count, distribution: .computed(computed), distinctFrom: []))
                }
                variables.append(draw.name)
                continue
            }
            guard let distribution = compileDistribution(draw.distribution, parameters: parameters, location: draw.location, what: "'\(draw.name)' in \(context)") else {
                variables.append(draw.name)
                continue
            }
            if !distinct.isEmpty, let count = distribution.distinctValues, count <= Int64(distinct.count) {
                error(draw.location, "'\(draw.name)' in \(context) cannot differ from \(draw.distinctFrom.joined(separator: ", ")): its draw has only \(count) value\(count == 1 ? "" : "s")")
            }
            draws.append(CompiledDraw(slot: variables.count, distribution: distribution, distinctFrom: distinct))
            variables.append(draw.name)
        }

        var steps: [CompiledStep] = []
        var stepNames: [[String]] = []
        var stepLocations: [SourceLocation] = []
        /// Resolves a condition's names: variables known so far, parameters, `client_id`.
        func condition(_ expression: Expression?, key: String, location: SourceLocation) -> CompiledCondition? {
            guard let expression else { return nil }
            let (compiled, unknown) = Self.resolve(expression, variables: variables, parameters: parameters)
            for name in unknown {
                error(location, "'\(key)' in \(context) uses '\(name)', which is neither a parameter nor a variable set before it\(Suggestion.didYouMean(name, in: variables + Array(parameters.keys).sorted()))")
            }
            return compiled
        }
        for step in template.steps {
            switch step {
            case .sql(let text, let location, let options):
                let words = text.uppercased().split(whereSeparator: { $0.isWhitespace })
                if words.first == "COPY" && (words.contains("STDIN") || words.contains("STDOUT")) {
                    error(location, "COPY … FROM STDIN / TO STDOUT cannot run as a step in \(context): lockstorm does not stream COPY data; use INSERT … SELECT")
                }
                if template.autocommit, let first = words.first, ["BEGIN", "COMMIT", "ROLLBACK", "START", "END"].contains(String(first)) {
                    error(location, "\(context) is autocommit: a step cannot be \(first); drop 'autocommit' to run the steps in one transaction")
                }
                if !template.autocommit, let what = TransactionBlock.refusal(TransactionBlock.words(text)) {
                    error(location, "\(what) cannot run inside a transaction block, and \(context) runs its steps in one: give it 'autocommit: true'")
                }
                let sqlTemplate = SQLTemplate(text)
                var sources: [ParameterSource] = []
                for name in sqlTemplate.names {
                    if let slot = variables.firstIndex(of: name) {
                        sources.append(.variable(slot))
                    } else if let value = parameters[name] {
                        sources.append(.constant(value.bindText))
                    } else if name == RunPlan.clientIDName {
                        sources.append(.clientID)
                    } else {
                        error(location, "':\(name)' in \(context) is neither a parameter nor a variable set before this step\(Suggestion.didYouMean(name, in: variables + Array(parameters.keys).sorted()))")
                    }
                }
                var compiled = CompiledStepOptions()
                compiled.condition = condition(options.condition, key: "if", location: options.location)
                compiled.onEmpty = options.onEmpty
                for expected in options.expect { compiled.expect[expected.state] = expected.action }
                // Captured names become variables for the steps after this one.
                for name in options.into {
                    if parameters[name] != nil {
                        error(options.location, "'into' variable '\(name)' in \(context) has the same name as a parameter")
                    }
                    if let slot = variables.firstIndex(of: name) {
                        if draws.contains(where: { $0.slot == slot }) {
                            // A retry replays its draws: a capture over one would replay the capture instead.
                            error(options.location, "'into' variable '\(name)' in \(context) is drawn in 'let'; capture into another name")
                        }
                        compiled.captureSlots.append(slot)
                    } else {
                        compiled.captureSlots.append(variables.count)
                        variables.append(name)
                    }
                }
                compiled.skipIf = condition(options.skipIf, key: "skip_if", location: options.location)
                compiled.stopIf = condition(options.stopIf, key: "stop_if", location: options.location)
                compiled.rollbackIf = condition(options.rollbackIf, key: "rollback_if", location: options.location)
                if template.autocommit && (options.rollbackIf != nil || options.onEmpty == .rollback) {
                    error(options.location, "\(context) is autocommit: each step commits on its own, so there is nothing for 'rollback_if' or 'on_empty: rollback' to roll back; drop 'autocommit' to run the steps in one transaction")
                }
                if let counter = options.count {
                    // Its columns (`N`, `N_per_s`) and metrics sit beside the fixed summary columns.
                    if let column = SummaryColumn.allCases.first(where: { [$0.name, $0.metric?.name].contains(counter) || $0.name == counter + "_per_s" }) {
                        error(options.location, "'count: \(counter)' in \(context) would clash with the summary column '\(column.name)'; name the unit of work something else (jobs, orders, lines)")
                    }
                    if let index = counterNames.firstIndex(of: counter) {
                        compiled.counter = index
                    } else {
                        compiled.counter = counterNames.count
                        counterNames.append(counter)
                    }
                }
                steps.append(.sql(sql: sqlTemplate.sql, parameters: sources, options: compiled))
                stepNames.append(sqlTemplate.names)
                stepLocations.append(location)
            case .pause(let distribution, let location):
                if let compiled = compileDistribution(distribution, parameters: parameters, location: location, what: "a pause in \(context)") {
                    steps.append(.pause(compiled))
                    stepNames.append([])
                    stepLocations.append(location)
                }
            }
        }
        if template.steps.isEmpty {
            error(template.location, "\(context) has no steps")
        }
        if template.pipeline {
            // Pipelined statements are all sent before any result is back:
            // nothing may wait, or depend on an earlier step's result.
            if template.autocommit {
                error(template.location, "\(context) has 'pipeline: true' and 'autocommit: true': a pipeline runs as one transaction; drop one of them")
            }
            for step in template.steps {
                switch step {
                case .pause(_, let location):
                    error(location, "\(context) has 'pipeline: true': it cannot pause between steps (all statements are sent at once); drop the pause or 'pipeline'")
                case .sql(_, _, let options):
                    var uses: [String] = []
                    if !options.into.isEmpty { uses.append("'into'") }
                    if options.condition != nil { uses.append("'if'") }
                    if options.skipIf != nil { uses.append("'skip_if'") }
                    if options.stopIf != nil { uses.append("'stop_if'") }
                    if options.onEmpty != .continue { uses.append("'on_empty'") }
                    if options.rollbackIf != nil { uses.append("'rollback_if'") }
                    if options.count != nil {
                        error(options.location, "\(context) has 'pipeline: true': a step cannot use 'count' (a pipelined transaction's row counts are not read step by step); drop 'count' or 'pipeline'")
                    }
                    if !uses.isEmpty {
                        error(options.location, "\(context) has 'pipeline: true': a step cannot use \(uses.joined(separator: ", ")) (it needs the results of earlier steps, and a pipeline sends every step before any result is back); drop them or 'pipeline'")
                    }
                }
            }
        }
        if template.autocommit, template.isolation != nil {
            error(template.location, "\(context) is autocommit: it cannot set an isolation level (each statement is its own transaction)")
        }
        // A setting's value may be a parameter (`lock_timeout: :timeout`), sent as its value.
        let settings = template.settings.map { setting -> BoundStatement in
            var value: String? = setting.value
            let trimmed = setting.value.trimmingWhitespace()
            if trimmed.hasPrefix(":") {
                let name = String(trimmed.dropFirst())
                if let parameter = parameters[name] {
                    value = parameter.bindText
                } else {
                    error(template.location, "setting '\(setting.name)' of \(context) uses ':\(name)', which is not a parameter\(Suggestion.didYouMean(name, in: Array(parameters.keys).sorted()))")
                }
            }
            return BoundStatement(sql: template.autocommit ? "SELECT set_config($1, $2, false)" : "SELECT set_config($1, $2, true)", parameters: [setting.name, value])
        }
        var expect: [SQLState: ErrorAction] = [:]
        for expected in template.expect { expect[expected.state] = expected.action }
        var think: CompiledDistribution?
        if let distribution = template.think {
            think = compileDistribution(distribution, parameters: parameters, location: template.location, what: "'think' of \(context)")
        }
        var compiled = CompiledTransaction(
            name: template.name, begin: template.isolation?.sql ?? "BEGIN", settings: settings, draws: draws,
            variableNames: variables, steps: steps, stepParameterNames: stepNames, retry: template.retry
        )
        compiled.expect = expect
        compiled.think = think
        compiled.autocommit = template.autocommit
        compiled.dedicatedClients = template.dedicatedClients ?? 0
        compiled.pipeline = template.pipeline
        compiled.stepLocations = stepLocations
        compiled.plainSteps = steps.map { step in
            guard case .sql(_, _, let options) = step else { return false }
            return options.captureSlots.isEmpty && options.condition == nil && options.skipIf == nil && options.stopIf == nil && options.onEmpty == .continue
                && options.rollbackIf == nil && options.counter == nil
        }
        return compiled
    }

    /// `expression` with each name it uses bound: a variable known so far (by
    /// slot), a parameter (by value) or `client_id`; the names that are none
    /// of these, in order, for the caller's message.
    private static func resolve(_ expression: Expression, variables: [String], parameters: [String: Value]) -> (CompiledCondition, unknown: [String]) {
        var compiled = CompiledCondition(expression: expression, constants: [:], slots: [:])
        var unknown: [String] = []
        for (name, _) in expression.references {
            if let slot = variables.firstIndex(of: name) {
                compiled.slots[name] = slot
            } else if let value = parameters[name] {
                compiled.constants[name] = value
            } else if name != RunPlan.clientIDName {
                unknown.append(name)
            }
        }
        return (compiled, unknown)
    }

    /// Compiles a `let` value computed from earlier variables, and checks it
    /// the way `validate` can without a database: evaluated once over a value
    /// each earlier variable can take, so a type mistake (`least(id, 'x')`)
    /// or a constant subscript outside its list is reported here, not as a
    /// NULL at run time.
    private mutating func compileComputed(
        _ expression: Expression, variables: [String], draws: [CompiledDraw], parameters: [String: Value], location: SourceLocation, what: String
    ) -> CompiledCondition? {
        if expression.callsDraw {
            error(location, "\(what): a random draw must be the whole value (uniform(1, :n)), not part of an expression; draw it into a variable of its own and use that")
            return nil
        }
        let (compiled, unknown) = Self.resolve(expression, variables: variables, parameters: parameters)
        if let name = unknown.first {
            error(location, "\(what) uses '\(name)', which is neither a parameter nor a variable drawn before it\(Suggestion.didYouMean(name, in: variables + Array(parameters.keys).sorted()))")
            return nil
        }
        // A value each earlier variable can take, in slot order.
        var sample: [Value] = []
        for draw in draws {
            while sample.count < draw.slot { sample.append(.null) }
            let value: Value
            switch draw.distribution {
            case .uniform(let lower, _), .zipf(let lower, _), .hotspot(let lower, _, _, _): value = .int(lower)
            case .constant(let constant): value = constant
            case .choice(let values): value = values.first ?? .null
            case .computed(let earlier): value = earlier.value(variables: sample, clientID: 0)
            }
            sample.append(value)
        }
        do {
            _ = try expression.evaluate(strictIndex: true) { name in
                if let slot = compiled.slots[name] { return slot < sample.count ? sample[slot] : .null }
                if name == RunPlan.clientIDName { return .int(0) }
                return compiled.constants[name]
            }
        } catch {
            self.error(location, "\(what): \(error.message)")
            return nil
        }
        return compiled
    }

    private mutating func compileDistribution(_ distribution: Distribution, parameters: [String: Value], location: SourceLocation, what: String) -> CompiledDistribution? {
        func constant(_ expression: Expression) -> Value? {
            do {
                return try expression.evaluate { parameters[$0] }
            } catch {
                self.error(location, "\(what): \(error.message)")
                return nil
            }
        }
        func bounds(_ lowerExpression: Expression, _ upperExpression: Expression, name: String) -> (Int64, Int64)? {
            guard let lowerValue = constant(lowerExpression), let upperValue = constant(upperExpression) else { return nil }
            guard let lower = lowerValue.integer, let upper = upperValue.integer else {
                error(location, "\(what): \(name) needs whole numbers, got \(lowerValue) and \(upperValue)")
                return nil
            }
            guard lower <= upper else {
                error(location, "\(what): \(name)(\(lower), \(upper), …) has its lower bound above its upper bound")
                return nil
            }
            // The count of values, upper − lower + 1, must fit in an Int64.
            let (span, overflow) = upper.subtractingReportingOverflow(lower)
            guard !overflow, span < Int64.max else {
                error(location, "\(what): \(name)(\(lower), \(upper), …) spans more values than a draw can take")
                return nil
            }
            return (lower, upper)
        }
        switch distribution {
        case .constant(let expression):
            return constant(expression).map { .constant($0) }
        case .uniform(let lowerExpression, let upperExpression):
            guard let lowerValue = constant(lowerExpression), let upperValue = constant(upperExpression) else { return nil }
            guard let lower = lowerValue.integer, let upper = upperValue.integer else {
                error(location, "\(what): uniform needs whole numbers or durations, got \(lowerValue) and \(upperValue)")
                return nil
            }
            guard lower <= upper else {
                error(location, "\(what): uniform(\(lower), \(upper)) has its lower bound above its upper bound")
                return nil
            }
            return .uniform(lower, upper)
        case .zipf(let lowerExpression, let upperExpression, let exponentExpression):
            guard let (lower, upper) = bounds(lowerExpression, upperExpression, name: "zipf"),
                  let exponentValue = constant(exponentExpression) else { return nil }
            guard let exponent = exponentValue.number, exponent > 0, exponent <= 100 else {
                error(location, "\(what): zipf's exponent must be a number above 0 and at most 100 (1.1 is a common choice), got \(exponentValue)")
                return nil
            }
            return .zipf(lower: lower, ZipfSampler(count: upper - lower + 1, exponent: exponent))
        case .hotspot(let lowerExpression, let upperExpression, let fractionExpression, let probabilityExpression):
            guard let (lower, upper) = bounds(lowerExpression, upperExpression, name: "hotspot"),
                  let fractionValue = constant(fractionExpression), let probabilityValue = constant(probabilityExpression) else { return nil }
            guard let fraction = fractionValue.number, fraction > 0, fraction <= 1 else {
                error(location, "\(what): hotspot's hot fraction must be above 0 and at most 1 (0.01: the first 1% of the range), got \(fractionValue)")
                return nil
            }
            guard let probability = probabilityValue.number, probability >= 0, probability <= 1 else {
                error(location, "\(what): hotspot's probability must be between 0 and 1 (0.9: 90% of draws hit the hot set), got \(probabilityValue)")
                return nil
            }
            // `bounds` checked that the count fits; Double(count) may round up to 2^63, so clamp in Int64.
            let count = upper - lower + 1
            let hotDouble = (Double(count) * fraction).rounded()
            let hot = hotDouble >= Double(count) ? count : max(1, Int64(hotDouble))
            return .hotspot(lower: lower, upper: upper, hotCount: hot, probability: probability)
        case .choice(let expressions):
            var values: [Value] = []
            for expression in expressions {
                guard let value = constant(expression) else { return nil }
                values.append(value)
            }
            guard !values.isEmpty else {
                error(location, "\(what): choice needs at least one value")
                return nil
            }
            return .choice(values)
        }

    }
}
