/// What the deadlock's victim was doing, read from the error's CONTEXT.
///
/// When a backend waits for a transaction because of a row, PostgreSQL adds
/// a line such as `while updating tuple (0,1) in relation "accounts"`
/// (lmgr.c, XactLockTableWaitErrorCb); a statement run from PL/pgSQL adds
/// `SQL statement "…"` and the function's line. Advisory and table locks
/// usually have no CONTEXT at all.
public struct DeadlockNote: Hashable, Sendable {
    /// What the backend was doing to the row when it had to wait.
    public enum Operation: String, CaseIterable, Sendable, Hashable {
        case updating = "updating tuple"
        case deleting = "deleting tuple"
        case locking = "locking tuple"
        case lockingUpdatedVersion = "locking updated version"
        case insertingIndexTuple = "inserting index tuple"
        case checkingUniqueness = "checking uniqueness of tuple"
        case recheckingUpdatedTuple = "rechecking updated tuple"
        case checkingExclusionConstraint = "checking exclusion constraint on tuple"

        /// The words after "while " up to the tuple, as PostgreSQL writes them.
        public var postgresWords: String { rawValue }

        /// A plain verb phrase, e.g. "updating a row".
        public var summary: String {
            switch self {
            case .updating: "updating a row"
            case .deleting: "deleting a row"
            case .locking: "locking a row"
            case .lockingUpdatedVersion: "locking the updated version of a row"
            case .insertingIndexTuple: "inserting an index entry"
            case .checkingUniqueness: "checking uniqueness"
            case .recheckingUpdatedTuple: "rechecking an updated row"
            case .checkingExclusionConstraint: "checking an exclusion constraint"
            }
        }
    }

    /// A row's physical address, `(block,offset)`.
    public struct TupleID: Hashable, Sendable, CustomStringConvertible {
        public var block: UInt32
        public var offset: UInt16

        public init(block: UInt32, offset: UInt16) {
            self.block = block
            self.offset = offset
        }

        public var description: String { "(\(block),\(offset))" }
    }

    /// The row operation, when CONTEXT has a `while …` line of a known form.
    public var operation: Operation?
    /// The row (or index entry) the operation was on.
    public var tuple: TupleID?
    /// The relation's name as PostgreSQL printed it (unqualified, unquoted).
    public var relation: String?
    /// The statement from a `SQL statement "…"` line (PL/pgSQL or SQL functions).
    public var statement: String?
    /// The whole CONTEXT, trimmed, so nothing is lost when a form is unknown.
    public var text: String

    public init(operation: Operation? = nil, tuple: TupleID? = nil, relation: String? = nil, statement: String? = nil, text: String) {
        self.operation = operation
        self.tuple = tuple
        self.relation = relation
        self.statement = statement
        self.text = text
    }

    /// Reads a CONTEXT field; nil when it is empty or only whitespace.
    public static func parse(_ context: String) -> DeadlockNote? {
        let trimmed = MessageScanner.trimmed(context[...])
        guard !trimmed.isEmpty else { return nil }
        var note = DeadlockNote(text: String(trimmed))
        let lines = trimmed.split(whereSeparator: \.isNewline).map { MessageScanner.trimmed($0) }
        if let row = lines.lazy.compactMap(parseRowLine).first {
            note.operation = row.operation
            note.tuple = row.tuple
            note.relation = row.relation
        }
        note.statement = parseStatement(trimmed)
        return note
    }

    /// The note in plain words, e.g. `while updating a row (0,1) of "accounts"`;
    /// the first CONTEXT line when no row operation was recognised.
    public var summary: String {
        if let operation, let tuple, let relation {
            return "while \(operation.summary) \(tuple) of \"\(relation)\""
        }
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }

    /// "while OPERATION (b,o) in relation "NAME"", or for the updated-version
    /// form "while locking updated version (b,o) of tuple in relation "NAME"".
    private static func parseRowLine(_ line: Substring) -> (operation: Operation, tuple: TupleID, relation: String)? {
        for operation in Operation.allCases {
            var scanner = MessageScanner(line)
            guard scanner.skip("while \(operation.postgresWords) ("), let block = scanner.unsigned(UInt32.self),
                  scanner.skip(","), let offset = scanner.unsigned(UInt16.self), scanner.skip(")") else { continue }
            if operation == .lockingUpdatedVersion, !scanner.skip(" of tuple") { continue }
            // The name is printed raw between double quotes and may itself
            // contain quotes, so it runs to the line's last character.
            guard scanner.skip(" in relation \""), scanner.rest.count >= 1, scanner.rest.last == "\"" else { continue }
            let name = scanner.remainder().dropLast()
            return (operation, TupleID(block: block, offset: offset), String(name))
        }
        return nil
    }

    /// The text of `SQL statement "…"`. A statement may span lines and hold
    /// quotes, so it ends at the quote that closes a line followed by the
    /// function's own line ("PL/pgSQL function …", "SQL function …") or by
    /// the end of CONTEXT. Lines inside the statement keep their indentation.
    private static func parseStatement(_ text: Substring) -> String? {
        let prefix = "SQL statement \""
        let lines = text.split(whereSeparator: \.isNewline)
        guard let start = lines.firstIndex(where: { MessageScanner.trimmed($0).hasPrefix(prefix) }) else { return nil }
        var collected: [Substring] = []
        for index in start..<lines.count {
            let line = index == start ? MessageScanner.trimmed(lines[index]).dropFirst(prefix.count) : lines[index]
            let next = index + 1 < lines.count ? MessageScanner.trimmed(lines[index + 1]) : nil
            if line.last == "\"", next.map(isFunctionLine) ?? true {
                collected.append(line.dropLast())
                return collected.joined(separator: "\n")
            }
            collected.append(line)
        }
        return nil
    }

    private static func isFunctionLine(_ line: Substring) -> Bool {
        line.hasPrefix("PL/pgSQL function ") || line.hasPrefix("SQL function ") || line.hasPrefix("SQL statement \"")
    }
}
