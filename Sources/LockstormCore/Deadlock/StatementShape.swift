/// What a statement does, in the words a person uses for it in a deadlock
/// explanation: `UPDATE inventory`, `INSERT INTO order_lines`,
/// `SELECT … FOR UPDATE FROM jobs`, `LOCK TABLE ledger`,
/// `pg_advisory_xact_lock`, with the row or key its values name
/// (`product_id=7`, `(7, 1)`).
///
/// Read from the SQL as lockstorm sent it (`$n` placeholders) and the bound
/// values, by a small tokenizer that knows the statement heads and clauses
/// deadlocks are made of. It never guesses: what it cannot read is left out
/// (`table` nil, no key), and an unknown statement is named by its first word.
public struct StatementShape: Hashable, Sendable, CustomStringConvertible {
    /// How the statement takes its locks.
    public enum Kind: String, Hashable, Sendable {
        case update = "UPDATE"
        case delete = "DELETE FROM"
        case insert = "INSERT INTO"
        case merge = "MERGE INTO"
        /// `SELECT … FOR UPDATE` and the other row-locking clauses (see `rowLock`).
        case selectLocking = "SELECT … FOR"
        case select = "SELECT"
        case lockTable = "LOCK TABLE"
        /// `pg_advisory_lock` and friends (the function name is in `function`).
        case advisory
        /// Anything else (DDL, CALL, a function call): named by its head words.
        case other
    }

    public var kind: Kind
    /// The table it works on, as written (unquoted names folded to lower case,
    /// as PostgreSQL does); nil when the statement names none or it is unclear.
    public var table: String?
    /// For `.selectLocking`: `UPDATE`, `NO KEY UPDATE`, `SHARE` or `KEY SHARE`.
    public var rowLock: String?
    /// For `.lockTable`: the mode as written (`SHARE ROW EXCLUSIVE`); nil for the default.
    public var lockMode: String?
    /// For `.advisory` the function's name; for `.other` the head words (`ALTER TABLE`).
    public var function: String?

    public init(kind: Kind, table: String? = nil, rowLock: String? = nil, lockMode: String? = nil, function: String? = nil) {
        self.kind = kind
        self.table = table
        self.rowLock = rowLock
        self.lockMode = lockMode
        self.function = function
    }

    /// `UPDATE inventory`, `SELECT … FOR SHARE FROM jobs`, `pg_advisory_xact_lock`.
    public var description: String {
        let on = table.map { " \($0)" } ?? ""
        switch kind {
        case .selectLocking:
            return "SELECT … FOR \(rowLock ?? "UPDATE")" + (table.map { " FROM \($0)" } ?? "")
        case .select:
            return table.map { "SELECT FROM \($0)" } ?? (function.map { "SELECT \($0)(…)" } ?? "SELECT")
        case .advisory:
            return function ?? "pg_advisory_lock"
        case .other:
            return (function ?? "statement") + on
        default:
            return kind.rawValue + on
        }
    }

    /// Whether it reads rows with a shared row lock (`FOR SHARE`, `FOR KEY SHARE`).
    public var readLocksRows: Bool { kind == .selectLocking && (rowLock == "SHARE" || rowLock == "KEY SHARE") }

    /// Whether it takes rows exclusively: UPDATE, DELETE, MERGE, `FOR UPDATE`, `FOR NO KEY UPDATE`.
    public var writesRows: Bool {
        switch kind {
        case .update, .delete, .merge: true
        case .selectLocking: !readLocksRows
        default: false
        }
    }

    /// The shape of `sql`; nil for empty text.
    public init?(sql: String) {
        let tokens = SQLTokens(sql).tokens
        guard !tokens.isEmpty else { return nil }
        self = Self.read(tokens)
    }

    /// The row or key the statement names with `values` bound to `$1`, `$2`…:
    /// `product_id=7` from `WHERE product_id = $2 AND stock >= $1`,
    /// `order_id=12, product_id=7` from an INSERT's column and value lists,
    /// `(7, 1)` or `42` from an advisory call. Nil when nothing simple is there.
    public static func key(sql: String, values: [String?]) -> String? {
        let tokens = SQLTokens(sql).tokens
        guard let shape = StatementShape(sql: sql) else { return nil }
        func value(_ token: SQLTokens.Token) -> String? {
            switch token {
            case let .parameter(index): index >= 1 && index <= values.count ? (values[index - 1] ?? "NULL") : nil
            case let .number(text), let .string(text): text
            case let .word(word) where word.uppercased() == "NULL": "NULL"
            default: nil
            }
        }
        switch shape.kind {
        case .advisory:
            guard let call = tokens.firstIndex(where: { $0.word?.lowercased() == shape.function }),
                  call + 1 < tokens.count, tokens[call + 1] == .symbol("(") else { return nil }
            var arguments: [String] = []
            var index = call + 2
            while index < tokens.count {
                guard let text = value(tokens[index]) else { return nil }
                arguments.append(text)
                index += 1
                // A cast of the key (`:src::int`, `$1::bigint`) names the same key.
                while index + 1 < tokens.count, tokens[index] == .symbol("::"), tokens[index + 1].word != nil { index += 2 }
                if index < tokens.count, tokens[index] == .symbol(",") { index += 1; continue }
                if index < tokens.count, tokens[index] == .symbol(")") { break }
                return nil
            }
            switch arguments.count {
            case 1: return arguments[0]
            case 2: return "(\(arguments[0]), \(arguments[1]))"
            default: return nil
            }
        case .insert:
            return insertKey(tokens, value: value)
        default:
            return whereKey(tokens, value: value)
        }
    }

    // MARK: - Reading

    private static func read(_ all: [SQLTokens.Token]) -> StatementShape {
        var tokens = all[...]
        // WITH …: the statement proper is the first top-level verb after the
        // CTEs, whose bodies are all inside parentheses.
        if tokens.first?.isKeyword("WITH") == true {
            var depth = 0
            var index = tokens.startIndex
            while index < tokens.endIndex {
                let token = tokens[index]
                if token == .symbol("(") { depth += 1 } else if token == .symbol(")") { depth -= 1 }
                if depth == 0, index > tokens.startIndex, ["SELECT", "UPDATE", "DELETE", "INSERT", "MERGE"].contains(where: token.isKeyword) { break }
                index += 1
            }
            tokens = tokens[index...]
        }
        if let advisory = all.lazy.compactMap(\.word).first(where: Self.isAdvisoryFunction) {
            return StatementShape(kind: .advisory, function: advisory.lowercased())
        }
        guard let head = tokens.first?.word?.uppercased() else { return StatementShape(kind: .other) }
        var rest = tokens.dropFirst()
        switch head {
        case "UPDATE":
            return StatementShape(kind: .update, table: table(&rest))
        case "DELETE":
            guard rest.first?.isKeyword("FROM") == true else { break }
            rest = rest.dropFirst()
            return StatementShape(kind: .delete, table: table(&rest))
        case "INSERT", "MERGE":
            guard rest.first?.isKeyword("INTO") == true else { break }
            rest = rest.dropFirst()
            return StatementShape(kind: head == "INSERT" ? .insert : .merge, table: table(&rest))
        case "LOCK":
            if rest.first?.isKeyword("TABLE") == true { rest = rest.dropFirst() }
            let name = table(&rest)
            var mode: [String] = []
            if rest.first?.isKeyword("IN") == true {
                for token in rest.dropFirst() {
                    guard let word = token.word?.uppercased(), word != "MODE" else { break }
                    mode.append(word)
                }
            }
            return StatementShape(kind: .lockTable, table: name, lockMode: mode.isEmpty ? nil : mode.joined(separator: " "))
        case "SELECT":
            return select(rest)
        default:
            break
        }
        return other(head: head, rest)
    }

    private static func isAdvisoryFunction(_ word: String) -> Bool {
        let lower = word.lowercased()
        return (lower.hasPrefix("pg_advisory_") || lower.hasPrefix("pg_try_advisory_")) && !lower.contains("unlock")
    }

    /// SELECT: a locking clause at the top level makes it `.selectLocking`;
    /// the table is the first one after the top-level FROM.
    private static func select(_ tokens: ArraySlice<SQLTokens.Token>) -> StatementShape {
        var depth = 0
        var table: String?
        var rowLock: String?
        var function: String?
        var index = tokens.startIndex
        if let first = tokens.first?.word, tokens.dropFirst().first == .symbol("(") { function = first.lowercased() }
        while index < tokens.endIndex {
            let token = tokens[index]
            if token == .symbol("(") { depth += 1 } else if token == .symbol(")") { depth -= 1 }
            if depth == 0, token.isKeyword("FROM"), table == nil {
                var rest = tokens[(index + 1)...]
                table = Self.table(&rest)
            }
            if depth == 0, token.isKeyword("FOR"), rowLock == nil {
                let words = tokens[(index + 1)...].prefix(3).compactMap { $0.word?.uppercased() }
                for candidate in ["NO KEY UPDATE", "KEY SHARE", "UPDATE", "SHARE"] {
                    let parts = candidate.split(separator: " ").map(String.init)
                    if Array(words.prefix(parts.count)) == parts { rowLock = candidate; break }
                }
            }
            index += 1
        }
        if rowLock != nil { return StatementShape(kind: .selectLocking, table: table, rowLock: rowLock) }
        return StatementShape(kind: .select, table: table, function: table == nil ? function : nil)
    }

    /// Statements that are not DML: the head words and, for the common DDL
    /// forms, the table (`ALTER TABLE accounts`, `TRUNCATE accounts`,
    /// `CREATE INDEX ON accounts`).
    private static func other(head: String, _ tokens: ArraySlice<SQLTokens.Token>) -> StatementShape {
        var rest = tokens
        switch head {
        case "ALTER", "DROP":
            guard let object = rest.first?.word?.uppercased() else { break }
            rest = rest.dropFirst()
            return StatementShape(kind: .other, table: object == "TABLE" ? table(&rest) : nil, function: "\(head) \(object)")
        case "TRUNCATE", "VACUUM", "ANALYZE", "REINDEX", "CLUSTER", "CALL":
            if rest.first?.isKeyword("TABLE") == true { rest = rest.dropFirst() }
            return StatementShape(kind: .other, table: table(&rest), function: head)
        case "CREATE":
            // CREATE [UNIQUE] INDEX [CONCURRENTLY] [name] ON [ONLY] table
            let words = rest.prefix(2).compactMap { $0.word?.uppercased() }
            guard words.contains("INDEX"), let on = rest.firstIndex(where: { $0.isKeyword("ON") }) else {
                return StatementShape(kind: .other, function: "CREATE" + (words.first.map { " \($0)" } ?? ""))
            }
            var after = rest[(on + 1)...]
            return StatementShape(kind: .other, table: table(&after), function: "CREATE INDEX ON")
        default:
            break
        }
        return StatementShape(kind: .other, function: head)
    }

    /// A possibly schema-qualified table name at the start of `tokens`
    /// (after ONLY / IF EXISTS), consumed; nil when there is none.
    private static func table(_ tokens: inout ArraySlice<SQLTokens.Token>) -> String? {
        while let word = tokens.first?.word?.uppercased(), ["ONLY", "IF", "EXISTS", "LATERAL"].contains(word) { tokens = tokens.dropFirst() }
        var parts: [String] = []
        while let part = tokens.first?.identifier {
            parts.append(part)
            tokens = tokens.dropFirst()
            guard tokens.first == .symbol(".") else { break }
            tokens = tokens.dropFirst()
        }
        guard let last = parts.last, !Self.reserved.contains(last.uppercased()) || tokens.first == nil else { return nil }
        return parts.joined(separator: ".")
    }

    private static let reserved: Set<String> = ["SET", "WHERE", "SELECT", "VALUES", "DEFAULT", "USING", "AS", "ON", "IN"]

    /// `col = value` conditions joined by AND at the top level of the WHERE
    /// clause, in order: `id=7`, `product_id=3, warehouse=2`.
    private static func whereKey(_ tokens: [SQLTokens.Token], value: (SQLTokens.Token) -> String?) -> String? {
        var depth = 0
        guard let start = tokens.indices.first(where: { index in
            if tokens[index] == .symbol("(") { depth += 1 } else if tokens[index] == .symbol(")") { depth -= 1 }
            return depth == 0 && tokens[index].isKeyword("WHERE")
        }) else { return nil }
        var pairs: [String] = []
        var index = start + 1
        depth = 0
        while index < tokens.count {
            let token = tokens[index]
            if token == .symbol("(") { depth += 1 } else if token == .symbol(")") { depth -= 1 }
            if depth == 0, ["RETURNING", "FOR", "ORDER", "LIMIT", "GROUP"].contains(where: token.isKeyword) { break }
            let startsCondition = ["WHERE", "AND"].contains(where: tokens[index - 1].isKeyword) || tokens[index - 1] == .symbol(".")
            if depth == 0, startsCondition, index + 2 < tokens.count, tokens[index + 1] == .symbol("="), endsCondition(tokens, after: index + 2) {
                // Column on the left (the last part of a qualified name) and a value on the right, or the reverse.
                if let column = token.identifier, let text = value(tokens[index + 2]) {
                    pairs.append("\(column)=\(text)")
                } else if let text = value(token), let column = tokens[index + 2].identifier {
                    pairs.append("\(column)=\(text)")
                }
            }
            index += 1
        }
        return pairs.isEmpty ? nil : pairs.joined(separator: ", ")
    }

    /// Whether the value at `index` is the whole right-hand side: the
    /// condition ends there (AND, the end, a closing word), so `id = $1 + 1`
    /// is not read as `id=$1`.
    private static func endsCondition(_ tokens: [SQLTokens.Token], after index: Int) -> Bool {
        guard index + 1 < tokens.count else { return true }
        let next = tokens[index + 1]
        if next == .symbol(";") || next == .symbol(")") { return true }
        // A cast (`$1::int`) belongs to the value.
        if next == .symbol("::"), index + 2 < tokens.count, tokens[index + 2].word != nil { return endsCondition(tokens, after: index + 2) }
        return ["AND", "RETURNING", "FOR", "ORDER", "LIMIT", "GROUP", "OR"].contains(where: next.isKeyword)
    }

    /// `INSERT INTO t (a, b) VALUES ($1, $2)`: `a=…, b=…` for the first row.
    private static func insertKey(_ tokens: [SQLTokens.Token], value: (SQLTokens.Token) -> String?) -> String? {
        guard let open = tokens.firstIndex(of: .symbol("(")), let values = tokens.firstIndex(where: { $0.isKeyword("VALUES") }), open < values else { return nil }
        var columns: [String] = []
        var index = open + 1
        while index < values, let column = tokens[index].identifier {
            columns.append(column)
            index += 1
            if tokens[index] == .symbol(",") { index += 1 } else { break }
        }
        guard index < values, tokens[index] == .symbol(")"), values + 1 < tokens.count, tokens[values + 1] == .symbol("(") else { return nil }
        var pairs: [String] = []
        index = values + 2
        for column in columns {
            guard index < tokens.count else { break }
            if let text = value(tokens[index]), index + 1 < tokens.count, [SQLTokens.Token.symbol(","), .symbol(")")].contains(tokens[index + 1]) {
                pairs.append("\(column)=\(text)")
            }
            // Skip to the next top-level comma of the value list.
            var depth = 0
            while index < tokens.count {
                let token = tokens[index]
                if token == .symbol("(") { depth += 1 }
                if token == .symbol(")") {
                    if depth == 0 { break }
                    depth -= 1
                }
                if token == .symbol(","), depth == 0 { break }
                index += 1
            }
            guard index < tokens.count, tokens[index] == .symbol(",") else { break }
            index += 1
        }
        return pairs.isEmpty ? nil : pairs.joined(separator: ", ")
    }
}

/// The tokens of one SQL statement, enough to read its shape: words,
/// quoted identifiers, string and number literals, `$n` parameters and
/// punctuation. Comments and whitespace are dropped; `::type` casts are kept
/// as symbols so a value followed by a cast still ends its condition.
struct SQLTokens {
    enum Token: Hashable {
        case word(String)
        case quoted(String)
        case string(String)
        case number(String)
        case parameter(Int)
        case symbol(String)

        var word: String? {
            if case let .word(text) = self { return text }
            return nil
        }

        /// An identifier as PostgreSQL reads it: unquoted folded to lower case, quoted kept.
        var identifier: String? {
            switch self {
            case let .word(text): text.lowercased()
            case let .quoted(text): "\"\(text)\""
            default: nil
            }
        }

        func isKeyword(_ keyword: String) -> Bool { word?.uppercased() == keyword }
    }

    private(set) var tokens: [Token] = []

    init(_ sql: String) {
        let characters = Array(sql.unicodeScalars)
        var index = 0
        func peek(_ offset: Int = 0) -> Unicode.Scalar? { index + offset < characters.count ? characters[index + offset] : nil }
        func isWordStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" }
        func isWordPart(_ c: Unicode.Scalar) -> Bool { isWordStart(c) || ("0"..."9").contains(c) || c == "$" }
        while let c = peek() {
            if c.properties.isWhitespace {
                index += 1
            } else if c == "-", peek(1) == "-" {
                while let next = peek(), next != "\n" { index += 1 }
            } else if c == "/", peek(1) == "*" {
                index += 2
                var depth = 1
                while depth > 0, let next = peek() {
                    if next == "*", peek(1) == "/" { depth -= 1; index += 2 } else if next == "/", peek(1) == "*" { depth += 1; index += 2 } else { index += 1 }
                }
            } else if c == "'" || c == "\"" {
                index += 1
                var text = String.UnicodeScalarView()
                while let next = peek() {
                    index += 1
                    if next == c {
                        if peek() == c { text.append(c); index += 1; continue }
                        break
                    }
                    text.append(next)
                }
                tokens.append(c == "'" ? .string("'" + String(text).replacingQuotes() + "'") : .quoted(String(text)))
            } else if c == "$", let digit = peek(1), ("0"..."9").contains(digit) {
                index += 1
                var number = 0
                while let next = peek(), ("0"..."9").contains(next), number < 100_000 {
                    number = number * 10 + Int(next.value - 48)
                    index += 1
                }
                tokens.append(.parameter(number))
            } else if ("0"..."9").contains(c) || (c == "-" && peek(1).map { ("0"..."9").contains($0) } == true && Self.valueMayFollow(tokens.last)) {
                var text = String.UnicodeScalarView([c])
                index += 1
                while let next = peek(), ("0"..."9").contains(next) || next == "." { text.append(next); index += 1 }
                tokens.append(.number(String(text)))
            } else if isWordStart(c) {
                var text = String.UnicodeScalarView()
                while let next = peek(), isWordPart(next) { text.append(next); index += 1 }
                tokens.append(.word(String(text)))
            } else {
                // Operators of two characters that matter here stay whole, so `>=` is not `=`.
                let pair = peek(1).map { String(c) + String($0) }
                if let pair, ["::", ">=", "<=", "<>", "!=", "=>", ":="].contains(pair) {
                    tokens.append(.symbol(pair))
                    index += 2
                } else {
                    tokens.append(.symbol(String(c)))
                    index += 1
                }
            }
        }
    }

    /// A minus sign starts a negative number only where a value may begin.
    private static func valueMayFollow(_ previous: Token?) -> Bool {
        guard let previous else { return true }
        if case .symbol(let text) = previous { return text != ")" }
        return previous.word.map { ["AND", "OR", "WHERE", "VALUES", "SELECT", "NOT"].contains($0.uppercased()) } ?? false
    }
}

private extension String {
    /// A literal's text for display, with its quotes doubled back.
    func replacingQuotes() -> String { replacing("'", with: "''") }
}
