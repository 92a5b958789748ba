import Yams

/// Decodes a workload YAML file strictly: unknown keys, wrong types and bad
/// expressions are reported together, each with file, line and column.
public struct WorkloadParser {
    private let file: String
    private var diagnostics: [Diagnostic] = []

    /// Parses and validates `text`; `file` names it in diagnostics.
    public static func parse(_ text: String, file: String) throws(WorkloadError) -> Workload {
        var parser = WorkloadParser(file: file)
        let workload = parser.parseDocument(text)
        if let workload {
            var checked = WorkloadValidator.validate(workload, file: file) + workload.checkDiagnostics(file: file)
            // A section the parser rejected leaves a transaction without steps,
            // or the workload without transactions: said already, and better.
            if !parser.diagnostics.isEmpty {
                checked.removeAll { $0.message.hasSuffix(" has no steps") || $0.message == "the workload has no transactions" }
            }
            parser.diagnostics += checked
        }
        guard parser.diagnostics.isEmpty, let workload else {
            throw WorkloadError(parser.diagnostics.isEmpty ? [Diagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "not a workload")] : parser.diagnostics)
        }
        return workload
    }

    private init(file: String) {
        self.file = file
    }

    static let topLevelKeys = ["name", "description", "params", "setup", "teardown", "defaults", "default_variant", "transactions", "variants", "invariants", "checks", "allow_unexpected_errors"]
    static let transactionKeys = ["weight", "isolation", "settings", "let", "steps", "retry", "expect", "think", "autocommit", "clients", "pipeline"]
    static let stepKeys = ["sql", "pause", "into", "on_empty", "if", "skip_if", "stop_if", "rollback_if", "count", "expect"]
    static let variantKeys = ["description", "params", "transactions"]

    private mutating func parseDocument(_ text: String) -> Workload? {
        let (node, problems) = YAMLDocument.compose(text, file: file, what: "workload", needs: "'name' and 'transactions'")
        diagnostics += problems
        guard let root = node else { return nil }
        guard let entries = mapping(root, what: "the workload", allowed: Self.topLevelKeys) else { return nil }
        var workload = Workload(name: "")
        var sawName = false, sawTransactions = false
        for (key, keyNode, value) in entries {
            switch key {
            case "name":
                sawName = true
                if let name = self.name(value, what: "'name'", expected: "the workload's name, such as transfers") { workload.name = name }
            case "description":
                workload.description = description(value)
            case "params":
                workload.parameters = parameters(value)
            case "setup":
                if let sql = self.sql(value, what: "'setup'", expected: "SQL statements") { workload.setup = SQLScript(text: sql, location: location(value)) }
            case "teardown":
                if let sql = self.sql(value, what: "'teardown'", expected: "SQL statements") { workload.teardown = SQLScript(text: sql, location: location(value)) }
            case "defaults":
                workload.defaults = defaults(value)
            case "default_variant":
                workload.defaultVariant = self.name(value, what: "'default_variant'", expected: "the name of one of the variants")
                workload.defaultVariantLocation = location(value)
            case "transactions":
                sawTransactions = true
                guard let items = mapping(value, what: "'transactions'", allowed: nil), within(items.count, "transactions", value) else { continue }
                for (name, nameNode, body) in items {
                    if let template = transaction(name: name, body, nameLocation: location(nameNode)) {
                        workload.transactions.append(template)
                    }
                }
            case "variants":
                guard let items = mapping(value, what: "'variants'", allowed: nil), within(items.count, "variants", value) else { continue }
                for (name, nameNode, body) in items {
                    if let variant = variant(name: name, body, nameLocation: location(nameNode)) { workload.variants.append(variant) }
                }
            case "invariants":
                workload.invariants = invariants(value)
            case "allow_unexpected_errors":
                if let flag = bool(value, what: "'allow_unexpected_errors'") { workload.allowUnexpectedErrors = flag }
            case "checks":
                let items = value.sequence.map(Array.init) ?? [value]
                guard within(items.count, "checks", value) else { continue }
                workload.checks = stringList(value, what: "'checks'", expected: "checks such as deadlocks == 0")
                workload.checkLocations = items.filter { $0.scalar != nil && !YAMLNodes.isNull($0) }.map(textStart)
            default:
                _ = keyNode
            }
        }
        if !sawName { error(root, "missing 'name': every workload needs a name") }
        if !sawTransactions { error(root, "missing 'transactions': a workload needs at least one transaction") }
        return workload
    }

    // MARK: Sections

    private mutating func parameters(_ node: Node) -> [Parameter] {
        guard let items = mapping(node, what: "'params'", allowed: nil) else { return [] }
        guard within(items.count, "parameters", node) else { return [] }
        var result: [Parameter] = []
        for (name, nameNode, value) in items {
            guard isIdentifier(name) else {
                error(nameNode, "parameter name '\(name)' must start with a letter or '_' and contain only letters, digits and '_'")
                continue
            }
            guard let scalar = value.scalar else {
                error(value, "parameter '\(name)' must be a single value (a number, string or boolean)")
                continue
            }
            result.append(Parameter(name: name, value: scalarValue(scalar), location: location(nameNode)))
        }
        return result
    }

    private mutating func defaults(_ node: Node) -> RunDefaults {
        var defaults = RunDefaults()
        guard let items = mapping(node, what: "'defaults'", allowed: ["clients", "duration", "transactions"]) else { return defaults }
        for (key, _, value) in items {
            switch key {
            case "clients": defaults.clients = positiveInt(value, what: "'defaults.clients'")
            case "transactions": defaults.transactionsPerClient = positiveInt(value, what: "'defaults.transactions'")
            default:
                if let nanoseconds = duration(value, what: "'defaults.duration'") { defaults.durationSeconds = Double(nanoseconds) / 1e9 }
            }
        }
        return defaults
    }

    private mutating func transaction(name: String, _ node: Node, nameLocation: SourceLocation) -> TransactionTemplate? {
        guard isIdentifier(name) else {
            diagnostics.append(Diagnostic(file: file, location: nameLocation, message: "transaction name '\(name)' must start with a letter or '_' and contain only letters, digits and '_'"))
            return nil
        }
        let parts = transactionParts(node, what: "transaction '\(name)'")
        guard let parts else { return nil }
        var template = TransactionTemplate(
            name: name, weight: parts.weight ?? 1, isolation: parts.isolation, settings: parts.settings ?? [],
            draws: parts.draws ?? [], steps: parts.steps ?? [], retry: parts.retry, expect: parts.expect ?? [], think: parts.think,
            autocommit: parts.autocommit ?? false, dedicatedClients: parts.dedicatedClients, location: nameLocation
        )
        template.pipeline = parts.pipeline ?? false
        return template
    }

    private mutating func variant(name: String, _ node: Node, nameLocation: SourceLocation) -> Variant? {
        var variant = Variant(name: name, location: nameLocation)
        if node.scalar?.string.isEmpty == true || node.null != nil { return variant }
        guard let items = mapping(node, what: "variant '\(name)'", allowed: Self.variantKeys) else { return nil }
        for (key, _, value) in items {
            switch key {
            case "description": variant.description = description(value)
            case "params": variant.parameters = parameters(value)
            default:
                guard let transactions = mapping(value, what: "'transactions' of variant '\(name)'", allowed: nil) else { continue }
                for (transactionName, transactionNode, body) in transactions {
                    guard let parts = transactionParts(body, what: "transaction '\(transactionName)' in variant '\(name)'") else { continue }
                    var override = TransactionOverride(
                        name: transactionName, weight: parts.weight, isolation: parts.isolation, settings: parts.settings,
                        draws: parts.draws, steps: parts.steps, retry: parts.retry, expect: parts.expect, think: parts.think,
                        autocommit: parts.autocommit, dedicatedClients: parts.dedicatedClients, location: location(transactionNode)
                    )
                    override.pipeline = parts.pipeline
                    variant.transactions.append(override)
                }
            }
        }
        return variant
    }

    private struct TransactionParts {
        var weight: Double?
        var isolation: IsolationLevel?
        var settings: [Setting]?
        var draws: [Draw]?
        var steps: [Step]?
        var retry: RetryPolicy?
        var expect: [ExpectedError]?
        var think: Distribution?
        var autocommit: Bool?
        var dedicatedClients: Int?
        var pipeline: Bool?
    }

    private mutating func transactionParts(_ node: Node, what: String) -> TransactionParts? {
        guard let items = mapping(node, what: what, allowed: Self.transactionKeys) else { return nil }
        var parts = TransactionParts()
        for (key, _, value) in items {
            switch key {
            case "weight":
                if let weight = number(value, what: "'weight'") {
                    if weight < 0 { error(value, "'weight' must not be negative") } else { parts.weight = weight }
                }
            case "isolation":
                if let text = self.text(value, what: "'isolation'", expected: "read committed, repeatable read or serializable") {
                    let normalized = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "_" || $0 == "-" }).joined(separator: " ")
                    if let level = IsolationLevel(rawValue: normalized) {
                        parts.isolation = level
                    } else {
                        error(value, "unknown isolation level '\(text)'\(Suggestion.didYouMean(normalized, in: IsolationLevel.allCases.map(\.rawValue)))")
                    }
                }
            case "settings":
                guard let settings = mapping(value, what: "'settings'", allowed: nil) else { continue }
                parts.settings = settings.compactMap { name, _, value in
                    guard let text = self.text(value, what: "setting '\(name)'", expected: "a single value such as 100ms") else { return nil }
                    return Setting(name: name, value: text)
                }
            case "let":
                parts.draws = draws(value)
            case "steps":
                parts.steps = steps(value)
            case "expect":
                parts.expect = expectedErrors(value)
            case "think":
                if YAMLNodes.isNull(value) {
                    error(value, "'think' has no value; expected a duration such as 10ms or uniform(0ms, 20ms)")
                } else if let text = value.scalar?.string, let (distribution, distinct) = drawExpression(text, node: value) {
                    if !distinct.isEmpty { error(value, "'think' cannot use '!='") }
                    if let unitless = unitlessDuration(text) {
                        error(value, "'think' \(unitless) needs a unit: ms, s, min or h (for example \(unitless)ms)")
                    } else {
                        parts.think = distribution
                    }
                } else if value.scalar == nil {
                    error(value, "'think' must be a duration such as 10ms or uniform(0ms, 20ms)\(YAMLNodes.found(value))")
                }
            case "autocommit":
                parts.autocommit = bool(value, what: "'autocommit'")
            case "pipeline":
                parts.pipeline = bool(value, what: "'pipeline'")
            case "clients":
                if let text = value.scalar?.string, let count = Int(text.replacingUnderscores()), count >= 0 {
                    parts.dedicatedClients = count
                } else {
                    error(value, "'clients' must be a whole number (the clients that run only this transaction; 0 for none)\(YAMLNodes.found(value))")
                }
            default:
                parts.retry = retry(value)
            }
        }
        return parts
    }

    private mutating func draws(_ node: Node) -> [Draw] {
        guard let items = mapping(node, what: "'let'", allowed: nil), within(items.count, "variables in 'let'", node) else { return [] }
        var result: [Draw] = []
        for (name, nameNode, value) in items {
            guard isIdentifier(name) else {
                error(nameNode, "variable name '\(name)' must start with a letter or '_' and contain only letters, digits and '_'")
                continue
            }
            guard let text = self.text(value, what: "'\(name)'", expected: "a draw such as uniform(1, :accounts)") else {
                // Keep the name (its error is reported) so later uses of it are not reported too.
                result.append(Draw(name: name, distribution: .constant(.constant(.null)), location: location(nameNode)))
                continue
            }
            if let distribution = drawExpression(text, node: value) {
                result.append(Draw(name: name, distribution: distribution.0, distinctFrom: distribution.1, location: location(nameNode)))
            } else {
                // Keep the name (its error is reported) so later uses of it are not reported too.
                result.append(Draw(name: name, distribution: .constant(.constant(.null)), location: location(nameNode)))
            }
        }
        return result
    }

    /// Parses `dist(args) [!= name, name…]`.
    private mutating func drawExpression(_ text: String, node: Node) -> (Distribution, [String])? {
        do {
            let (expression, restOffset) = try ExpressionParser.parsePrefix(text, stopAt: ["!="])
            guard let distribution = distribution(expression, node: node) else { return nil }
            var distinct: [String] = []
            if restOffset < text.utf8.count {
                let rest = String(text.utf8.dropFirst(restOffset + 2)) ?? ""
                for part in rest.split(separator: ",") {
                    var name = part.trimmingCharacters()
                    if name.hasPrefix(":") { name.removeFirst() }
                    guard isIdentifier(name) else {
                        error(node, "expected a variable name after '!=', found '\(part.trimmingCharacters())'")
                        return nil
                    }
                    distinct.append(name)
                }
                if distinct.isEmpty { error(node, "expected a variable name after '!='") }
            }
            return (distribution, distinct)
        } catch {
            expressionError(error, in: node)
            return nil
        }
    }

    static let distributions = ["uniform", "zipf", "hotspot", "choice"]

    private mutating func distribution(_ expression: Expression, node: Node) -> Distribution? {
        guard case .call(let name, let arguments, let offset) = expression, !Expression.functions.contains(name) else {
            // A constant or a computed value (`least(a, b)`), over parameters
            // and earlier variables: the compiler tells which.
            return .constant(expression)
        }
        switch name {
        case "uniform":
            guard arguments.count == 2 else {
                error(node, offset: offset, "uniform takes 2 arguments (lower, upper), got \(arguments.count)")
                return nil
            }
            return .uniform(arguments[0], arguments[1])
        case "zipf":
            guard arguments.count == 3 else {
                error(node, offset: offset, "zipf takes 3 arguments (lower, upper, exponent), got \(arguments.count)")
                return nil
            }
            return .zipf(arguments[0], arguments[1], exponent: arguments[2])
        case "hotspot":
            guard arguments.count == 4 else {
                error(node, offset: offset, "hotspot takes 4 arguments (lower, upper, hot fraction, hot probability), got \(arguments.count)")
                return nil
            }
            return .hotspot(arguments[0], arguments[1], fraction: arguments[2], probability: arguments[3])
        case "choice":
            guard !arguments.isEmpty else {
                error(node, offset: offset, "choice takes at least one value")
                return nil
            }
            return .choice(arguments)
        default:
            if Suggestion.closest(to: name, in: Self.distributions) == nil, Suggestion.closest(to: name, in: Expression.functions) != nil {
                error(node, offset: offset, "unknown function '\(name)'\(Suggestion.didYouMean(name, in: Expression.functions))")
            } else {
                error(node, offset: offset, "unknown distribution '\(name)'\(Suggestion.didYouMean(name, in: Self.distributions))")
            }
            return nil
        }
    }

    private mutating func steps(_ node: Node) -> [Step] {
        guard let sequence = node.sequence else {
            error(node, "'steps' must be a list of SQL statements or pauses\(YAMLNodes.found(node))")
            return []
        }
        guard within(sequence.count, "steps", node) else { return [] }
        var result: [Step] = []
        for item in sequence {
            if item.scalar != nil {
                if let sql = self.sql(item, what: "a step", expected: "SQL, or a mapping with 'sql' or 'pause'") { result.append(.sql(sql.trimmingWhitespace(), location: location(item))) }
                continue
            }
            guard let entries = mapping(item, what: "a step", allowed: Self.stepKeys) else { continue }
            let keys = entries.map(\.0)
            if keys.contains("pause") {
                if keys.contains("sql") || keys.count > 1 {
                    error(item, "a pause step has only 'pause'; 'sql', 'into', conditions and 'expect' belong to statement steps")
                    continue
                }
                let value = entries[0].2
                if YAMLNodes.isNull(value) {
                    error(value, "'pause' has no value; expected a duration such as 5ms or uniform(0ms, 2ms)")
                } else if let text = value.scalar?.string {
                    guard let (distribution, distinct) = drawExpression(text, node: value) else { continue }
                    if !distinct.isEmpty { error(value, "a pause cannot use '!='") }
                    if let unitless = unitlessDuration(text) {
                        error(value, "pause \(unitless) needs a unit: ms, s, min or h (for example \(unitless)ms)")
                        continue
                    }
                    result.append(.pause(distribution, location: location(value)))
                } else {
                    error(value, "'pause' must be a duration such as 5ms or uniform(0ms, 2ms)\(YAMLNodes.found(value))")
                }
                continue
            }
            guard let sqlEntry = entries.first(where: { $0.0 == "sql" }) else {
                error(item, "a step needs 'sql' (a statement) or 'pause'")
                continue
            }
            guard let sql = self.sql(sqlEntry.2, what: "'sql'", expected: "a SQL statement") else { continue }
            var options = StepOptions(location: location(item))
            for (key, _, value) in entries {
                switch key {
                case "into":
                    for name in stringList(value, what: "'into'", expected: "variable names", rejecting: [.bool, .number]) {
                        var name = name.trimmingWhitespace()
                        if name.hasPrefix(":") { name.removeFirst() }
                        if isIdentifier(name) { options.into.append(name) } else { error(value, "'into' names variables: '\(name)' must start with a letter or '_' and contain only letters, digits and '_'") }
                    }
                case "on_empty":
                    if let text = self.text(value, what: "'on_empty'", expected: "continue, skip, stop or rollback") {
                        if let action = EmptyAction(rawValue: text) { options.onEmpty = action } else {
                            error(value, "unknown on_empty action '\(text)': continue, skip, stop or rollback\(Self.suggestion(text, in: EmptyAction.allCases.map(\.rawValue)))")
                        }
                    }
                case "if": options.condition = conditionExpression(value, key: key)
                case "skip_if": options.skipIf = conditionExpression(value, key: key)
                case "stop_if": options.stopIf = conditionExpression(value, key: key)
                case "rollback_if": options.rollbackIf = conditionExpression(value, key: key)
                case "count":
                    if let name = self.name(value, what: "'count'", expected: "the name of a unit of work such as jobs")?.trimmingWhitespace() {
                        if isIdentifier(name) { options.count = name } else { error(value, "'count' names a unit of work such as jobs: '\(name)' must start with a letter or '_' and contain only letters, digits and '_'") }
                    }
                case "expect": options.expect = expectedErrors(value)
                default: break
                }
            }
            result.append(.sql(sql.trimmingWhitespace(), location: location(sqlEntry.2), options: options))
        }
        return result
    }

    private mutating func retry(_ node: Node) -> RetryPolicy? {
        guard let items = mapping(node, what: "'retry'", allowed: ["on", "max_attempts", "backoff", "redraw"]) else { return nil }
        var policy = RetryPolicy(on: [], maxAttempts: 3)
        var sawOn = false
        for (key, _, value) in items {
            switch key {
            case "on":
                sawOn = true
                let codes = stringList(value, what: "'retry.on'", expected: "SQLSTATEs such as 40P01")
                for code in codes {
                    if let state = SQLState.resolve(code) { policy.on.insert(state) } else { error(value, SQLState.unknownMessage(code)) }
                }
            case "max_attempts":
                if let attempts = positiveInt(value, what: "'retry.max_attempts'") { policy.maxAttempts = attempts }
            case "redraw":
                if let flag = bool(value, what: "'retry.redraw'") { policy.redraw = flag }
            default:
                if let backoff = backoff(value) { policy.backoff = backoff }
            }
        }
        if !sawOn { error(node, "'retry' needs 'on': the SQLSTATEs to retry, such as [40P01, 40001]") }
        return policy
    }

    private mutating func backoff(_ node: Node) -> Backoff? {
        guard let text = self.text(node, what: "'backoff'", expected: "none, a duration (10ms), constant(10ms) or exponential(base, cap[, jitter])") else { return nil }
        if text == "none" { return Backoff.none }
        do {
            let expression = try ExpressionParser.parse(text)
            switch expression {
            case .constant(.int(let nanoseconds)):
                return .constant(nanoseconds)
            case .call("constant", let arguments, _) where arguments.count == 1:
                if case .constant(.int(let nanoseconds)) = arguments[0] { return .constant(nanoseconds) }
            case .call("exponential", let arguments, _) where arguments.count == 2 || arguments.count == 3:
                guard case .constant(.int(let base)) = arguments[0], case .constant(.int(let cap)) = arguments[1] else { break }
                var jitter = false
                if arguments.count == 3 {
                    guard case .reference("jitter", _) = arguments[2] else { break }
                    jitter = true
                }
                return .exponential(base: base, cap: cap, jitter: jitter)
            default:
                break
            }
        } catch {
            expressionError(error, in: node)
            return nil
        }
        error(node, "'backoff' must be none, a duration (10ms), constant(10ms) or exponential(base, cap[, jitter]) with durations")
        return nil
    }

    private mutating func invariants(_ node: Node) -> [Invariant] {
        guard let sequence = node.sequence else {
            error(node, "'invariants' must be a list of {name, sql, equals}\(YAMLNodes.found(node))")
            return []
        }
        guard within(sequence.count, "invariants", node) else { return [] }
        var result: [Invariant] = []
        for item in sequence {
            guard let entries = mapping(item, what: "an invariant", allowed: ["name", "sql", "equals", "during"]) else { continue }
            var name: String?, sql: String?, expected: Expression?, during: Int64?
            for (key, _, value) in entries {
                switch key {
                case "name": name = self.name(value, what: "'name'", expected: "the invariant's name")
                case "sql": sql = self.sql(value, what: "'sql'", expected: "a SQL query")
                case "during": during = duration(value, what: "'during'")
                default:
                    // `equals: null` expects NULL; nothing at all is a mistake.
                    if YAMLNodes.isNull(value), value.scalar?.string.isEmpty == false {
                        expected = .constant(.null)
                        continue
                    }
                    guard let text = self.text(value, what: "'equals'", expected: "a value or an expression over parameters") else { continue }
                    do { expected = try ExpressionParser.parse(text) } catch { expressionError(error, in: value) }
                }
            }
            if !entries.contains(where: { $0.0 == "name" }) { error(item, "an invariant needs a 'name'") }
            if !entries.contains(where: { $0.0 == "sql" }) { error(item, "an invariant needs 'sql'") }
            if expected == nil && entries.contains(where: { $0.0 == "equals" }) == false { error(item, "an invariant needs 'equals': the expected value") }
            if let name, let sql, let expected {
                result.append(Invariant(name: name, sql: sql, expected: expected, duringInterval: during, location: location(item)))
            }
        }
        return result
    }

    /// `expect: [55P03]` (roll back) or `expect: {55P03: retry, lock_not_available: rollback}`.
    private mutating func expectedErrors(_ node: Node) -> [ExpectedError] {
        var result: [ExpectedError] = []
        if node.mapping != nil {
            guard let entries = mapping(node, what: "'expect'", allowed: nil) else { return [] }
            for (code, codeNode, value) in entries {
                guard let state = SQLState.resolve(code) else {
                    error(codeNode, SQLState.unknownMessage(code))
                    continue
                }
                guard let text = value.scalar?.string, !YAMLNodes.isNull(value), let action = ErrorAction(rawValue: text) else {
                    error(value, "the action for \(code) must be rollback or retry\(Self.suggestion(value.scalar?.string ?? "", in: ErrorAction.allCases.map(\.rawValue)))")
                    continue
                }
                result.append(ExpectedError(state: state, action: action))
            }
            return result
        }
        for code in stringList(node, what: "'expect'", expected: "SQLSTATEs such as 55P03 or condition names such as lock_not_available") {
            if let state = SQLState.resolve(code) { result.append(ExpectedError(state: state, action: .rollback)) } else { error(node, SQLState.unknownMessage(code)) }
        }
        return result
    }

    private mutating func conditionExpression(_ node: Node, key: String) -> Expression? {
        guard let text = self.text(node, what: "'\(key)'", expected: "a condition such as job_id == null or left <= 0") else { return nil }
        do {
            return try ExpressionParser.parse(text)
        } catch {
            expressionError(error, in: node)
            return nil
        }
    }

    /// A pause or think time written with bare numbers (`pause: 5`,
    /// `uniform(1, 5)`): the first such number, for the message; `nil` when
    /// every literal carries a unit (or is 0).
    private func unitlessDuration(_ text: String) -> String? {
        var body = text.trimmingWhitespace()
        var durations = Int.max
        for name in Self.distributions where body.hasPrefix(name + "(") && body.hasSuffix(")") {
            body = String(body.dropFirst(name.count + 1).dropLast())
            // zipf's exponent and hotspot's fraction and probability are plain numbers.
            if name == "zipf" || name == "hotspot" { durations = 2 }
        }
        for part in body.split(separator: ",").prefix(durations) {
            let literal = part.trimmingCharacters()
            if let number = Double(literal.replacingUnderscores()), number != 0 { return literal }
        }
        return nil
    }

    /// "; did you mean 'x'?" when a candidate is close, else nothing (for
    /// messages that already list the candidates).
    private static func suggestion(_ text: String, in candidates: [String]) -> String {
        Suggestion.closest(to: text, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    // MARK: Node helpers

    private func location(_ node: Node) -> SourceLocation {
        guard let mark = node.mark else { return SourceLocation(line: 1, column: 1) }
        return SourceLocation(line: mark.line, column: mark.column)
    }

    /// Where the text of a one-line scalar starts (after its opening quote).
    private func textStart(_ node: Node) -> SourceLocation {
        var place = location(node)
        if let style = node.scalar?.style, style == .singleQuoted || style == .doubleQuoted { place.column += 1 }
        return place
    }

    private mutating func error(_ node: Node, _ message: String) {
        diagnostics.append(Diagnostic(file: file, location: location(node), message: message))
    }

    /// Reports a problem at a character offset inside a one-line scalar.
    private mutating func error(_ node: Node, offset: Int, _ message: String) {
        var place = location(node)
        if let scalar = node.scalar, scalar.style == .plain || scalar.style == .singleQuoted || scalar.style == .doubleQuoted, !scalar.string.contains("\n") {
            place.column += offset + (scalar.style == .plain ? 0 : 1)
        }
        diagnostics.append(Diagnostic(file: file, location: place, message: message))
    }

    private mutating func expressionError(_ failure: ExpressionError, in node: Node) {
        error(node, offset: failure.offset, failure.message)
    }

    /// The entries of a mapping node in file order. With `allowed`, unknown
    /// keys are reported with a suggestion; duplicates are always reported.
    private mutating func mapping(_ node: Node, what: String, allowed: [String]?) -> [(String, Node, Node)]? {
        YAMLNodes.mapping(node, what: what, allowed: allowed) { error($0, $1) }
    }

    /// The text of a scalar that must hold `expected`; null, nothing, an
    /// empty string, a mapping or a list is reported (see `YAMLNodes.text`).
    private mutating func text(_ node: Node, what: String, expected: String, rejecting kinds: Set<YAMLNodes.PlainKind> = []) -> String? {
        switch YAMLNodes.text(node, what: what, expected: expected, rejecting: kinds) {
        case .success(let text): return text
        case .failure(let message):
            error(node, message.text)
            return nil
        }
    }

    /// Whether a section's `count` entries are within `InputLimits.maxEntries`; reports it if not.
    private mutating func within(_ count: Int, _ what: String, _ node: Node) -> Bool {
        guard count > InputLimits.maxEntries else { return true }
        error(node, InputLimits.tooMany(count, what))
        return false
    }

    /// A name: text that is not a boolean.
    private mutating func name(_ node: Node, what: String, expected: String) -> String? {
        text(node, what: what, expected: expected, rejecting: [.bool])
    }

    /// SQL: text that is neither a number nor a boolean, and has no raw
    /// `$n` placeholders (bind parameters come from `:names`).
    private mutating func sql(_ node: Node, what: String, expected: String) -> String? {
        guard let sql = self.text(node, what: what, expected: expected, rejecting: [.bool, .number]) else { return nil }
        let placeholders = SQLLexer.rawPlaceholders(sql)
        for placeholder in placeholders { error(node, offset: placeholder.offset, SQLLexer.rawPlaceholderMessage(placeholder.text)) }
        return placeholders.isEmpty ? sql : nil
    }

    /// Free text; null or nothing is the empty text.
    private mutating func description(_ node: Node) -> String {
        if YAMLNodes.isNull(node) { return "" }
        return text(node, what: "'description'", expected: "text") ?? ""
    }

    /// One text or a list of them; null items are reported.
    private mutating func stringList(_ node: Node, what: String, expected: String, rejecting kinds: Set<YAMLNodes.PlainKind> = []) -> [String] {
        if node.scalar != nil { return text(node, what: what, expected: expected, rejecting: kinds).map { [$0] } ?? [] }
        guard let sequence = node.sequence else {
            error(node, "\(what) must be a list of \(expected)\(YAMLNodes.found(node))")
            return []
        }
        return sequence.compactMap { item in
            text(item, what: "an item of \(what)", expected: expected, rejecting: kinds)
        }
    }

    private mutating func number(_ node: Node, what: String) -> Double? {
        guard let text = node.scalar?.string, let value = Double(text), value.isFinite else {
            error(node, "\(what) must be a number\(YAMLNodes.found(node))")
            return nil
        }
        return value
    }

    private mutating func positiveInt(_ node: Node, what: String) -> Int? {
        guard let text = node.scalar?.string, let value = Int(text.replacingUnderscores()), value > 0 else {
            error(node, "\(what) must be a whole number greater than 0\(YAMLNodes.found(node))")
            return nil
        }
        return value
    }

    private mutating func bool(_ node: Node, what: String) -> Bool? {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(what) must be true or false\(YAMLNodes.found(node))")
            return nil
        }
    }

    /// A duration with a unit, in nanoseconds, above 0.
    private mutating func duration(_ node: Node, what: String) -> Int64? {
        switch YAMLNodes.duration(node, what: what) {
        case .success(let nanoseconds): return nanoseconds
        case .failure(let message):
            error(node, message.text)
            return nil
        }
    }

    private func scalarValue(_ scalar: Node.Scalar) -> Value {
        if scalar.style != .plain { return .string(scalar.string) }
        let text = scalar.string
        if let int = Int64(text.replacingUnderscores()) { return .int(int) }
        if let double = Double(text) { return .double(double) }
        switch text.lowercased() {
        case "true", "yes", "on": return .bool(true)
        case "false", "no", "off": return .bool(false)
        case "null", "~", "": return .null
        default: return .string(text)
        }
    }

    private func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String { String(self).trimmingWhitespace() }
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
