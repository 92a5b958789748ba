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

    /// The variant label used in result names: the variant, or `default`.
    public var variantLabel: String { variantName ?? "default" }

    /// Picks a transaction index by weight.
    public func chooseTransaction(_ random: inout RandomSource) -> Int {
        guard transactions.count > 1, let total = cumulativeWeights.last else { return 0 }
        let point = random.unit() * total
        for (index, bound) in cumulativeWeights.enumerated() where point < bound { return index }
        return transactions.count - 1
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
}

/// A random or constant value source, compiled.
public enum CompiledDistribution: Sendable, Hashable {
    case uniform(Int64, Int64)
    case constant(Value)

    func draw(_ random: inout RandomSource) -> Value {
        switch self {
        case .uniform(let lower, let upper): .int(random.uniform(lower, upper))
        case .constant(let value): value
        }
    }
}

/// A draw into a variable slot.
public struct CompiledDraw: Sendable, Hashable {
    public var slot: Int
    public var distribution: CompiledDistribution
    public var distinctFrom: [Int]
}

/// A compiled transaction step.
public enum CompiledStep: Sendable, Hashable {
    case sql(sql: String, parameters: [ParameterSource])
    /// A pause whose length in nanoseconds is drawn from the distribution.
    case pause(CompiledDistribution)
}

/// A transaction template ready to run.
public struct CompiledTransaction: Sendable {
    public var name: String
    /// `BEGIN`, with the isolation level when one is set.
    public var begin: String
    /// `SELECT set_config($1, $2, true)` statements for `SET LOCAL` settings.
    public var settings: [BoundStatement]
    public var draws: [CompiledDraw]
    public var variableNames: [String]
    public var steps: [CompiledStep]
    /// The `:name` bound to each parameter of each step (empty for pauses),
    /// parallel to `steps`: for reports that show values by name.
    public var stepParameterNames: [[String]] = []
    public var retry: RetryPolicy?
}

/// An invariant ready to run: a statement and the value it must return.
public struct CompiledInvariant: Sendable, Hashable {
    public var name: String
    public var statement: BoundStatement
    public var expected: Value
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
        }
        if workload.transactions.isEmpty {
            error(SourceLocation(line: 1, column: 1), "the workload has no transactions")
        }

        let transactions = templates.map { compileTransaction($0, parameters: lookup) }
        var cumulative: [Double] = []
        var total = 0.0
        for template in templates {
            total += template.weight
            cumulative.append(total)
        }
        if !templates.isEmpty && total <= 0 {
            error(templates[0].location, "transaction weights sum to zero: at least one transaction needs a weight above 0")
        }

        let setup = compileScript(workload.setup, parameters: lookup, what: "setup")
        let teardown = compileScript(workload.teardown, parameters: lookup, what: "teardown")
        let invariants: [CompiledInvariant] = workload.invariants.compactMap { (invariant) -> CompiledInvariant? in
            let statement = bind(SQLTemplate(invariant.sql), parameters: lookup, location: invariant.location, what: "invariant '\(invariant.name)'")
            do {
                let expected = try invariant.expected.evaluate { lookup[$0] }
                guard let statement else { return nil }
                return CompiledInvariant(name: invariant.name, statement: statement, expected: expected)
            } catch {
                self.error(invariant.location, "invariant '\(invariant.name)': 'equals' \((error as? ExpressionError)?.message ?? "\(error)")")
                return nil
            }
        }
        return RunPlan(
            workloadName: workload.name, variantName: variant?.name, parameters: parameters, setup: setup, teardown: teardown,
            transactions: transactions, cumulativeWeights: cumulative, invariants: invariants, defaults: workload.defaults, checks: workload.checks
        )
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
            guard let distribution = compileDistribution(draw.distribution, parameters: parameters, location: draw.location, what: "'\(draw.name)' in \(context)") else {
                variables.append(draw.name)
                continue
            }
            if case .uniform(let lower, let upper) = distribution, !distinct.isEmpty, upper - lower + 1 <= Int64(distinct.count) {
                error(draw.location, "'\(draw.name)' in \(context) cannot differ from \(draw.distinctFrom.joined(separator: ", ")): uniform(\(lower), \(upper)) has too few values")
            }
            draws.append(CompiledDraw(slot: variables.count, distribution: distribution, distinctFrom: distinct))
            variables.append(draw.name)
        }

        var steps: [CompiledStep] = []
        var stepNames: [[String]] = []
        for step in template.steps {
            switch step {
            case .sql(let text, let location):
                let words = text.uppercased().split(whereSeparator: { $0.isWhitespace })
                if words.first == "COPY" && (words.contains("STDIN") || words.contains("STDOUT")) {
                    error(location, "COPY … FROM STDIN / TO STDOUT cannot run as a step in \(context): lockstorm does not stream COPY data; use INSERT … SELECT")
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
                        error(location, "':\(name)' in \(context) is neither a parameter nor a variable\(Suggestion.didYouMean(name, in: variables + Array(parameters.keys).sorted()))")
                    }
                }
                steps.append(.sql(sql: sqlTemplate.sql, parameters: sources))
                stepNames.append(sqlTemplate.names)
            case .pause(let distribution, let location):
                if let compiled = compileDistribution(distribution, parameters: parameters, location: location, what: "a pause in \(context)") {
                    steps.append(.pause(compiled))
                    stepNames.append([])
                }
            }
        }
        if template.steps.isEmpty {
            error(template.location, "\(context) has no steps")
        }
        let settings = template.settings.map { BoundStatement(sql: "SELECT set_config($1, $2, true)", parameters: [$0.name, $0.value]) }
        return CompiledTransaction(
            name: template.name, begin: template.isolation?.sql ?? "BEGIN", settings: settings, draws: draws,
            variableNames: variables, steps: steps, stepParameterNames: stepNames, retry: template.retry
        )
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
        }
    }
}
