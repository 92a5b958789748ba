import Yams

/// Decodes a scenario YAML file strictly, like the workload parser: unknown
/// keys (with a suggestion), wrong types, unknown `:name` references and
/// impossible orders are all reported at once, each with file, line and column.
public struct ScenarioParser {
    private let file: String
    private var diagnostics: [Diagnostic] = []

    static let topLevelKeys = ["name", "description", "params", "setup", "teardown", "deadlock_timeout", "sessions", "interleavings", "order", "expect"]
    static let sessionKeys = ["isolation", "settings", "params", "template", "autocommit", "steps"]
    static let stepKeys = ["sql", "template_step", "rows"]
    static let expectKeys = ["outcome", "signature"]

    private init(file: String) {
        self.file = file
    }

    /// Parses, binds and validates `text`; `file` names it in diagnostics.
    public static func parse(_ text: String, file: String) throws(WorkloadError) -> Scenario {
        var parser = ScenarioParser(file: file)
        let scenario = parser.parseDocument(text)
        guard parser.diagnostics.isEmpty, let scenario else {
            throw WorkloadError(parser.diagnostics.isEmpty ? [Diagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "not a scenario")] : parser.diagnostics)
        }
        return scenario
    }

    private mutating func parseDocument(_ text: String) -> Scenario? {
        let (node, problems) = YAMLDocument.compose(text, file: file, what: "scenario", needs: "'name' and 'sessions'")
        diagnostics += problems
        guard let root = node else { return nil }
        guard let entries = mapping(root, what: "the scenario", allowed: Self.topLevelKeys) else { return nil }
        var scenario = Scenario(name: "", sessions: [])
        var parameters: [String: Value] = [:]
        var setupNode: Node?, teardownNode: Node?, sessionsNode: Node?, interleavingsNode: Node?, orderNode: Node?, expectNode: Node?
        for (key, _, value) in entries {
            switch key {
            case "name": scenario.name = self.text(value, what: "'name'", expected: "the scenario's name, such as transfer_cycle", rejecting: [.bool]) ?? ""
            case "description": scenario.description = YAMLNodes.isNull(value) ? "" : self.text(value, what: "'description'", expected: "text") ?? ""
            case "params":
                scenario.parameters = parameterList(value)
                for parameter in scenario.parameters { parameters[parameter.name] = parameter.value }
            case "setup": setupNode = value
            case "teardown": teardownNode = value
            case "deadlock_timeout":
                switch YAMLNodes.duration(value, what: "'deadlock_timeout'", minimum: 1_000_000, minimumText: "1ms") {
                case .success(let nanoseconds): scenario.deadlockTimeoutMilliseconds = Int(nanoseconds / 1_000_000)
                case .failure(let message): error(value, message.text)
                }
            case "sessions": sessionsNode = value
            case "interleavings": interleavingsNode = value
            case "order": orderNode = value
            default: expectNode = value
            }
        }
        if !entries.contains(where: { $0.0 == "name" }) { error(root, "missing 'name': every scenario needs a name") }
        if let setupNode { scenario.setup = script(setupNode, parameters: parameters, what: "setup") }
        if let teardownNode { scenario.teardown = script(teardownNode, parameters: parameters, what: "teardown") }
        guard let sessionsNode else {
            error(root, "missing 'sessions': a scenario needs at least one session with steps")
            return nil
        }
        scenario.sessions = sessions(sessionsNode, parameters: parameters)
        let names = scenario.sessions.map(\.name)
        let counts = scenario.stepCounts
        if let interleavingsNode {
            if let sequence = interleavingsNode.sequence {
                if sequence.isEmpty { error(interleavingsNode, "'interleavings' is empty: list at least one order, or leave it out to run them all") }
                scenario.interleavings = sequence.compactMap { order($0, names: names, counts: counts, what: "an interleaving") }
            } else {
                error(interleavingsNode, "'interleavings' must be a list of orders, each a list of session names such as [a, b, a, b]\(YAMLNodes.found(interleavingsNode))")
            }
        }
        if let orderNode { scenario.order = order(orderNode, names: names, counts: counts, what: "'order'") }
        if let expectNode { scenario.expectation = expectation(expectNode) }
        return scenario
    }

    // MARK: Sections

    private mutating func parameterList(_ node: Node) -> [(name: String, value: Value)] {
        guard let items = mapping(node, what: "'params'", allowed: nil) else { return [] }
        guard items.count <= InputLimits.maxEntries else {
            error(node, InputLimits.tooMany(items.count, "parameters"))
            return []
        }
        var result: [(name: String, value: Value)] = []
        for (name, nameNode, value) in items {
            guard Self.isIdentifier(name) else {
                error(nameNode, "parameter name '\(name)' must start with a letter or '_' and contain only letters, digits and '_'")
                continue
            }
            guard let scalar = value.scalar else {
                error(value, "parameter '\(name)' must be a single value (a number, string or boolean)")
                continue
            }
            result.append((name, Self.scalarValue(scalar)))
        }
        return result
    }

    private mutating func script(_ node: Node, parameters: [String: Value], what: String) -> [BoundStatement] {
        guard let text = self.sql(node, what: "'\(what)'", expected: "SQL statements") else { return [] }
        return SQLLexer.splitStatements(text).compactMap { statement in
            bind(statement.sql, parameters: parameters, at: node, what: what)
        }
    }

    private mutating func bind(_ text: String, parameters: [String: Value], at node: Node, what: String) -> BoundStatement? {
        let template = SQLTemplate(text)
        var values: [String?] = []
        var ok = true
        for name in template.names {
            if let value = parameters[name] {
                values.append(value.bindText)
            } else {
                error(node, "\(what) uses ':\(name)', which is not a parameter\(Suggestion.didYouMean(name, in: parameters.keys.sorted()))")
                ok = false
            }
        }
        return ok ? BoundStatement(sql: template.sql, parameters: values) : nil
    }

    private mutating func sessions(_ node: Node, parameters: [String: Value]) -> [ScenarioSession] {
        guard let items = mapping(node, what: "'sessions'", allowed: nil) else { return [] }
        if items.isEmpty { error(node, "'sessions' is empty: a scenario needs at least one session") }
        guard items.count <= InputLimits.maxEntries else {
            error(node, InputLimits.tooMany(items.count, "sessions"))
            return []
        }
        var result: [ScenarioSession] = []
        for (name, nameNode, body) in items {
            guard Self.isIdentifier(name) else {
                error(nameNode, "session name '\(name)' must start with a letter or '_' and contain only letters, digits and '_'")
                continue
            }
            if let session = session(name: name, body, parameters: parameters) { result.append(session) }
        }
        return result
    }

    private mutating func session(name: String, _ node: Node, parameters globals: [String: Value]) -> ScenarioSession? {
        // A bare list is shorthand for { steps: [...] }.
        if node.sequence != nil { return session(name: name, steps: node, isolation: nil, settings: [], template: nil, autocommit: false, parameters: globals) }
        guard let items = mapping(node, what: "session '\(name)'", allowed: Self.sessionKeys) else { return nil }
        var parameters = globals
        var isolation: IsolationLevel?
        var settings: [Setting] = []
        var template: String?
        var autocommit = false
        var stepsNode: Node?
        for (key, _, value) in items {
            switch key {
            case "autocommit":
                if let scalar = value.scalar, scalar.style == .plain, ["true", "false"].contains(scalar.string) {
                    autocommit = scalar.string == "true"
                } else {
                    error(value, "'autocommit' must be true or false" + (value.scalar.map { ", not '\($0.string)'" } ?? YAMLNodes.found(value)))
                }
            case "isolation":
                guard let text = self.text(value, what: "'isolation'", expected: "read committed, repeatable read or serializable") else { continue }
                let normalized = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "_" || $0 == "-" }).joined(separator: " ")
                if let level = IsolationLevel(rawValue: normalized) {
                    isolation = level
                } else {
                    error(value, "unknown isolation level '\(text)'\(Suggestion.didYouMean(normalized, in: IsolationLevel.allCases.map(\.rawValue)))")
                }
            case "settings":
                guard let entries = mapping(value, what: "'settings'", allowed: nil) else { continue }
                for (setting, _, settingValue) in entries {
                    if let text = self.text(settingValue, what: "setting '\(setting)'", expected: "a single value such as 100ms") { settings.append(Setting(name: setting, value: text)) }
                }
            case "params":
                for parameter in parameterList(value) { parameters[parameter.name] = parameter.value }
            case "template":
                template = self.text(value, what: "'template'", expected: "the name of the workload transaction this session runs", rejecting: [.bool])
            default:
                stepsNode = value
            }
        }
        guard let stepsNode else {
            error(node, "session '\(name)' needs 'steps': a list of SQL statements")
            return nil
        }
        return session(name: name, steps: stepsNode, isolation: isolation, settings: settings, template: template, autocommit: autocommit, parameters: parameters)
    }

    /// A session's steps. Without `BEGIN` lines or `autocommit: true` the
    /// session is one transaction, opened before its first step, with a
    /// COMMIT appended. Otherwise steps outside `BEGIN` … `COMMIT` run in
    /// autocommit; each `BEGIN` is not a step but is sent with the step after
    /// it, and a transaction left open at the end gets the COMMIT.
    private mutating func session(
        name: String, steps node: Node, isolation: IsolationLevel?, settings: [Setting], template: String?, autocommit: Bool, parameters: [String: Value]
    ) -> ScenarioSession? {
        guard let sequence = node.sequence else {
            error(node, "'steps' of session '\(name)' must be a list of SQL statements")
            return nil
        }
        if sequence.isEmpty {
            error(node, "session '\(name)' has no steps")
            return nil
        }
        guard sequence.count <= InputLimits.maxEntries else {
            error(node, InputLimits.tooMany(sequence.count, "steps in session '\(name)'"))
            return nil
        }
        let sessionBegin = isolation?.sql ?? "BEGIN"
        let explicit = sequence.contains { Self.beginsTransaction(TransactionBlock.words(($0.scalar ?? ($0.mapping != nil ? $0["sql"]?.scalar : nil))?.string ?? "")) }
        let multi = autocommit || explicit
        if multi, isolation != nil, !explicit {
            error(node, "session '\(name)' is autocommit and has no BEGIN: 'isolation' applies to transactions only")
        }
        // Legacy sessions are one transaction, open from the first step.
        var open = !multi
        var pendingBegin: String? = multi ? nil : sessionBegin
        var steps: [ScenarioStep] = []
        for (index, item) in sequence.enumerated() {
            var text: String?
            var templateStep: Int?
            var rows: [[Value]]?
            var textNode = item
            if item.scalar != nil {
                text = self.sql(item, what: "a step", expected: "a SQL statement, or a mapping with 'sql'")?.trimmingWhitespace()
            } else if let entries = mapping(item, what: "a step", allowed: Self.stepKeys) {
                for (key, _, value) in entries {
                    switch key {
                    case "sql":
                        text = self.sql(value, what: "'sql'", expected: "a SQL statement")?.trimmingWhitespace()
                        textNode = value
                    case "rows":
                        rows = expectedRows(value)
                    default:
                        if let number = value.scalar.flatMap({ Int($0.string) }), number >= 1 {
                            templateStep = number - 1
                        } else {
                            error(value, "'template_step' must be a whole number from 1 (the step of the template this step is)")
                        }
                    }
                }
                if !entries.contains(where: { $0.0 == "sql" }) { error(item, "a step written as a mapping needs 'sql'") }
            }
            guard let text else { continue }
            if text.isEmpty {
                error(item, "empty step")
                continue
            }
            if SQLLexer.splitStatements(text).count > 1 {
                error(textNode, "a step is one statement; split '\(Self.firstLine(text))' into several steps")
                continue
            }
            let words = TransactionBlock.words(text)
            if Self.beginsTransaction(words) {
                if rows != nil { error(item, "'rows' on a BEGIN: BEGIN is not a step and returns no rows") }
                if open || pendingBegin != nil {
                    error(textNode, "'\(Self.firstLine(text))' inside a transaction that is still open in session '\(name)': end it with COMMIT or ROLLBACK first")
                    continue
                }
                // A bare BEGIN takes the session's isolation level; one with options is sent as written.
                pendingBegin = words.count == 1 || words == ["START", "TRANSACTION"] ? sessionBegin : text
                open = true
                continue
            }
            let word = words.first ?? ""
            if Self.endsTransaction(word) && !words.contains("PREPARED") {
                if !multi && index != sequence.count - 1 {
                    error(textNode, "'\(Self.firstLine(text))' ends the transaction, so it can only be the last step of session '\(name)' (to run more than one transaction, write each one's BEGIN as a step)")
                    continue
                }
                if !open {
                    error(textNode, "'\(Self.firstLine(text))' has no transaction to end: session '\(name)' runs this step in autocommit (write BEGIN before the transaction's first step)")
                    continue
                }
            } else if open, let what = TransactionBlock.refusal(words) {
                let fix = multi ? "move it outside BEGIN … COMMIT" : "run it in a session of its own with 'autocommit: true'"
                error(textNode, "\(what) cannot run inside a transaction block, and session '\(name)' runs this step in one: \(fix)")
                continue
            }
            guard let statement = bind(text, parameters: parameters, at: textNode, what: "session '\(name)'") else { continue }
            steps.append(ScenarioStep(text: text, statement: statement, templateStep: templateStep, begin: pendingBegin, inTransaction: open, expectedRows: rows))
            pendingBegin = nil
            if Self.endsTransaction(word) { open = false }
        }
        if open {
            var commit = ScenarioStep.commit
            commit.begin = pendingBegin
            steps.append(commit)
        }
        let settingStatements = settings.map { BoundStatement(sql: "SELECT set_config($1, $2, \(multi ? "false" : "true"))", parameters: [$0.name, $0.value]) }
        return ScenarioSession(
            name: name, template: template, begin: sessionBegin, settings: multi ? [] : settingStatements, sessionSettings: multi ? settingStatements : [],
            steps: steps
        )
    }

    /// `rows:` — a list of rows, each a list of values (numbers, strings,
    /// booleans, null); `[]` means no row.
    private mutating func expectedRows(_ node: Node) -> [[Value]]? {
        let shape = "a list of rows, each a list of values, such as [[1, 'a'], [2, 'b']] ([] for no row)"
        guard let rows = node.sequence else {
            error(node, "'rows' must be \(shape)\(YAMLNodes.found(node))")
            return nil
        }
        guard rows.count <= InputLimits.maxEntries else {
            error(node, InputLimits.tooMany(rows.count, "rows"))
            return nil
        }
        var result: [[Value]] = []
        for row in rows {
            guard let cells = row.sequence else {
                error(row, "each row of 'rows' must be a list of values, such as [1, 'a']\(YAMLNodes.found(row))")
                return nil
            }
            var values: [Value] = []
            for cell in cells {
                guard let scalar = cell.scalar else {
                    error(cell, "a value in 'rows' must be a number, string, boolean or null")
                    return nil
                }
                values.append(Self.scalarValue(scalar))
            }
            result.append(values)
        }
        return result
    }

    /// An order: session names (`a`) or session steps (`a.2`), as a list or
    /// a space-separated string; steps left out run after it, session by session.
    private mutating func order(_ node: Node, names: [String], counts: [Int], what: String) -> Interleaving? {
        var items: [(String, Node)] = []
        if let sequence = node.sequence {
            for item in sequence {
                guard let text = item.scalar?.string, !YAMLNodes.isNull(item) else {
                    error(item, "items of \(what) must be session names such as a, or session steps such as a.2")
                    return nil
                }
                items.append((text, item))
            }
        } else if let text = node.scalar?.string, !YAMLNodes.isNull(node) {
            items = text.split(whereSeparator: { $0 == " " || $0 == "," }).map { (String($0), node) }
        } else {
            error(node, "\(what) must be a list of session names such as [a, b, a, b]\(YAMLNodes.found(node))")
            return nil
        }
        var sessions: [Int] = []
        var taken = Array(repeating: 0, count: names.count)
        var ok = true
        for (text, itemNode) in items {
            var name = text
            var step: Int?
            if let dot = text.lastIndex(of: "."), let number = Int(text[text.index(after: dot)...]) {
                name = String(text[..<dot])
                step = number
            }
            guard let session = names.firstIndex(of: name) else {
                error(itemNode, "\(what) names '\(name)', which is not a session\(Suggestion.didYouMean(name, in: names))")
                ok = false
                continue
            }
            if taken[session] >= counts[session] {
                error(itemNode, "\(what) has more steps of '\(name)' than its \(counts[session]) (the last is its COMMIT)")
                ok = false
                continue
            }
            if let step, step != taken[session] + 1 {
                error(itemNode, "\(what) lists '\(text)' where '\(name).\(taken[session] + 1)' comes next: a session's steps run in their own order")
                ok = false
            }
            taken[session] += 1
            sessions.append(session)
        }
        return ok ? Interleaving(sessions).completed(stepCounts: counts) : nil
    }

    private mutating func expectation(_ node: Node) -> ScenarioExpectation? {
        guard let entries = mapping(node, what: "'expect'", allowed: Self.expectKeys) else { return nil }
        var expectation = ScenarioExpectation(outcome: .deadlock)
        for (key, _, value) in entries {
            let expected = key == "signature" ? "a deadlock signature as explore prints it" : "one of \(OutcomeKind.allCases.map(\.rawValue).joined(separator: ", "))"
            guard let text = self.text(value, what: "'\(key)'", expected: expected) else { continue }
            if key == "signature" {
                expectation.signature = text
            } else if let kind = OutcomeKind(rawValue: text) {
                expectation.outcome = kind
            } else {
                error(value, "unknown outcome '\(text)'\(Suggestion.didYouMean(text, in: OutcomeKind.allCases.map(\.rawValue)))")
            }
        }
        if expectation.signature != nil && expectation.outcome != .deadlock { error(node, "'signature' goes with 'outcome: deadlock'") }
        return expectation
    }

    // MARK: Helpers


    static func endsTransaction(_ word: String) -> Bool { ["COMMIT", "END", "ROLLBACK", "ABORT"].contains(word) }

    /// `BEGIN …` or `START TRANSACTION …`.
    static func beginsTransaction(_ words: [String]) -> Bool {
        words.first == "BEGIN" || words.starts(with: ["START", "TRANSACTION"])
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        return line.count > 60 ? String(line.prefix(59)) + "…" : line
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    static func scalarValue(_ scalar: Node.Scalar) -> Value {
        if scalar.style != .plain { return .string(scalar.string) }
        let text = scalar.string
        if let int = Int64(text.filter { $0 != "_" }) { return .int(int) }
        if let double = Double(text) { return .double(double) }
        switch text.lowercased() {
        case "true", "yes", "on": return .bool(true)
        case "false", "no", "off": return .bool(false)
        case "null", "~", "": return .null
        default: return .string(text)
        }
    }

    private func location(_ node: Node) -> SourceLocation {
        guard let mark = node.mark else { return SourceLocation(line: 1, column: 1) }
        return SourceLocation(line: mark.line, column: mark.column)
    }

    private mutating func error(_ node: Node, _ message: String) {
        diagnostics.append(Diagnostic(file: file, location: location(node), message: message))
    }

    private mutating func mapping(_ node: Node, what: String, allowed: [String]?) -> [(String, Node, Node)]? {
        YAMLNodes.mapping(node, what: what, allowed: allowed) { error($0, $1) }
    }

    /// The text of a scalar that must hold `expected` (see `YAMLNodes.text`).
    private mutating func text(_ node: Node, what: String, expected: String, rejecting kinds: Set<YAMLNodes.PlainKind> = []) -> String? {
        switch YAMLNodes.text(node, what: what, expected: expected, rejecting: kinds) {
        case .success(let text): return text
        case .failure(let message):
            error(node, message.text)
            return nil
        }
    }

    /// SQL: text that is neither a number nor a boolean, and has no raw
    /// `$n` placeholders (bind parameters come from `:names`).
    private mutating func sql(_ node: Node, what: String, expected: String) -> String? {
        guard let sql = self.text(node, what: what, expected: expected, rejecting: [.bool, .number]) else { return nil }
        let placeholders = SQLLexer.rawPlaceholders(sql)
        for placeholder in placeholders { error(node, offset: placeholder.offset, SQLLexer.rawPlaceholderMessage(placeholder.text)) }
        return placeholders.isEmpty ? sql : nil
    }

    /// Reports a problem at a character offset inside a one-line scalar.
    private mutating func error(_ node: Node, offset: Int, _ message: String) {
        var place = location(node)
        if let scalar = node.scalar, scalar.style == .plain || scalar.style == .singleQuoted || scalar.style == .doubleQuoted, !scalar.string.contains("\n") {
            place.column += offset + (scalar.style == .plain ? 0 : 1)
        }
        diagnostics.append(Diagnostic(file: file, location: place, message: message))
    }
}
