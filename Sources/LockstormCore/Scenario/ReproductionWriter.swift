/// Writes a scenario file that reproduces one deadlock: the participating
/// transactions only, with their concrete values as bind parameters, and an
/// order of their steps that closes the cycle. `fuzz` builds one per new
/// signature; `replay` runs it.
public struct Reproduction: Sendable, Hashable {
    /// One participant of the cycle: a transaction as it ran, up to and
    /// including the statement that waited.
    public struct Session: Sendable, Hashable {
        public var name: String
        public var template: String?
        public var isolation: IsolationLevel?
        public var settings: [Setting]
        /// Steps with `:name` references, each with the template step it is (0-based).
        public var steps: [(text: String, templateStep: Int?)]
        /// The values of the names the steps use, as sent (text form; `nil` is NULL).
        public var parameters: [(name: String, value: String?)]

        public init(name: String, template: String?, isolation: IsolationLevel?, settings: [Setting], steps: [(text: String, templateStep: Int?)], parameters: [(name: String, value: String?)]) {
            self.name = name
            self.template = template
            self.isolation = isolation
            self.settings = settings
            self.steps = steps
            self.parameters = parameters
        }

        public static func == (lhs: Session, rhs: Session) -> Bool {
            lhs.name == rhs.name && lhs.template == rhs.template && lhs.isolation == rhs.isolation && lhs.settings == rhs.settings
                && lhs.steps.map(\.text) == rhs.steps.map(\.text) && lhs.steps.map(\.templateStep) == rhs.steps.map(\.templateStep)
                && lhs.parameters.map(\.name) == rhs.parameters.map(\.name) && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(steps.map(\.text))
        }
    }

    public var name: String
    public var description: String
    public var parameters: [(name: String, value: Value)]
    public var setup: String?
    public var teardown: String?
    public var deadlockTimeoutMilliseconds: Int?
    public var sessions: [Session]
    public var signature: String
    /// The order to write, as session indices; `nil` writes `closingOrder`.
    public var recordedOrder: [Int]?

    public init(name: String, description: String, parameters: [(name: String, value: Value)], setup: String?, teardown: String?, deadlockTimeoutMilliseconds: Int?, sessions: [Session], signature: String) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.setup = setup
        self.teardown = teardown
        self.deadlockTimeoutMilliseconds = deadlockTimeoutMilliseconds
        self.sessions = sessions
        self.signature = signature
    }

    public static func == (lhs: Reproduction, rhs: Reproduction) -> Bool { lhs.yaml == rhs.yaml }
    public func hash(into hasher: inout Hasher) { hasher.combine(yaml) }

    /// The order written, as session names (each stands for its session's
    /// next step): the statements as they were sent in the run
    /// (`recordedOrder`), or else `closingOrder`. In `closingOrder`, every session's steps but its last,
    /// session by session (these locks were all held at once when the
    /// deadlock happened, so none of them waits), then each session's last
    /// step in turn: each waits for the next, and the last one closes the cycle.
    public var order: [String] {
        if let recordedOrder { return recordedOrder.map { sessions[$0].name } }
        return closingOrder
    }

    /// Every session's steps but its last, session by session, then each
    /// session's last step in cycle order.
    public var closingOrder: [String] {
        var order: [String] = []
        for session in sessions {
            order += Array(repeating: session.name, count: max(session.steps.count - 1, 0))
        }
        for session in sessions where !session.steps.isEmpty { order.append(session.name) }
        return order
    }

    /// The scenario file's text.
    public var yaml: String {
        var out = "# A deadlock reproduction written by lockstorm fuzz. Run it with:\n#   lockstorm replay THIS_FILE\n"
        out += "name: \(Self.quoted(name))\n"
        out += "description: \(Self.quoted(description))\n"
        if !parameters.isEmpty {
            out += "params:\n"
            for parameter in parameters { out += "  \(parameter.name): \(Self.scalar(parameter.value))\n" }
        }
        if let setup { out += "setup: " + Self.block(setup) }
        if let teardown { out += "teardown: " + Self.block(teardown) }
        if let deadlockTimeoutMilliseconds { out += "deadlock_timeout: \(deadlockTimeoutMilliseconds)ms\n" }
        out += "sessions:\n"
        for session in sessions {
            out += "  \(session.name):\n"
            if let template = session.template { out += "    template: \(Self.quoted(template))\n" }
            if let isolation = session.isolation { out += "    isolation: \(isolation.rawValue)\n" }
            if !session.settings.isEmpty {
                out += "    settings:\n"
                for setting in session.settings { out += "      \(setting.name): \(Self.quoted(setting.value))\n" }
            }
            if !session.parameters.isEmpty {
                out += "    params:\n"
                for parameter in session.parameters {
                    out += "      \(parameter.name): \(parameter.value.map { Int64($0) != nil ? $0 : Self.quoted($0) } ?? "null")\n"
                }
            }
            out += "    steps:\n"
            for step in session.steps {
                if let templateStep = step.templateStep {
                    out += "      - { sql: \(Self.quoted(step.text)), template_step: \(templateStep + 1) }\n"
                } else {
                    out += "      - \(Self.quoted(step.text))\n"
                }
            }
        }
        // Session names only: each takes its session's next step. Steps are
        // numbered one way, by `template_step` (the template's steps as
        // listed, pauses included), as run and fuzz print them.
        out += "order: [\(order.joined(separator: ", "))]\n"
        out += "expect:\n  outcome: deadlock\n  signature: \(Self.quoted(signature))\n"
        return out
    }

    /// A YAML double-quoted scalar (JSON escaping is valid YAML).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\x" + String(repeating: "0", count: max(0, 2 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func scalar(_ value: Value) -> String {
        switch value {
        case .int(let number): String(number)
        case .double(let number): Value.format(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        case .string(let text): quoted(text)
        // Parameters are scalars; a list (only `let` computes one) is written as its array literal.
        case .list: quoted(value.bindText ?? "{}")
        }
    }

    /// A bound statement for people to read: each `$n` (outside quotes and
    /// comments) shown as the value it is bound to, numbers as they are,
    /// other text as a SQL literal, NULL for nil. For display only: values
    /// still reach the server as bind parameters.
    public static func showingValues(_ sql: String, parameters: [String?]) -> String {
        let names = parameters.indices.map { "\u{1}\($0)" }
        var replacements: [String: String] = [:]
        for (name, value) in zip(names, parameters) {
            guard let value else {
                replacements[name] = "NULL"
                continue
            }
            replacements[name] = Int64(value) != nil || (Double(value) != nil && value.allSatisfy { $0.isNumber || $0 == "." || $0 == "-" }) ? value : "'" + value.replacingAll("'", with: "''") + "'"
        }
        return restoringNames(sql, names: names, replacing: replacements)
    }

    /// A SQL identifier in double quotes (so its case and any reserved word survive).
    public static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A literal block scalar, indented by two spaces.
    static func block(_ text: String) -> String {
        let lines = text.trimmingWhitespace().split(separator: "\n", omittingEmptySubsequences: false)
        return "|\n" + lines.map { $0.isEmpty ? "\n" : "  \($0)\n" }.joined()
    }

    /// Turns `$1`, `$2`… back into the `:name` each stands for (outside
    /// quotes and comments), so a reproduction reads like its workload; a
    /// name in `replacing` becomes its SQL expression instead.
    public static func restoringNames(_ sql: String, names: [String], replacing: [String: String] = [:]) -> String {
        let bytes = Array(sql.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if let end = SQLLexer.skipQuotedOrComment(bytes, at: index) {
                output.append(contentsOf: bytes[index..<end])
                index = end
                continue
            }
            if bytes[index] == 36, index + 1 < bytes.count, (48...57).contains(bytes[index + 1]) {  // $n
                var end = index + 1
                while end < bytes.count, (48...57).contains(bytes[end]) { end += 1 }
                if let number = Int(String(decoding: bytes[(index + 1)..<end], as: UTF8.self)), number >= 1, number <= names.count {
                    if let expression = replacing[names[number - 1]] {
                        output.append(contentsOf: Array(expression.utf8))
                    } else {
                        output.append(58)
                        output.append(contentsOf: Array(names[number - 1].utf8))
                    }
                    index = end
                    continue
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension String {
    /// The text with one trailing `suffix` removed, if it ends with it.
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)).trimmingWhitespace() : self
    }

    /// Every occurrence of `target` replaced (LockstormCore does not import Foundation).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
