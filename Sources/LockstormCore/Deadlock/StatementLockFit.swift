/// Whether a statement can be the one waiting for a lock a deadlock's DETAIL
/// names: the consistency check of the client-side attribution.
///
/// It errs towards "fits": a wrong "does not fit" could rule out the true
/// statement and leave a wrong one as the only candidate, while a wrong
/// "fits" only leaves two candidates, and the participant uncertain.
///
/// - Row locks (`transaction`, `tuple`): INSERT, UPDATE, DELETE, MERGE
///   (foreign-key checks and conflicts included), SELECT … FOR UPDATE/SHARE,
///   COMMIT (deferred constraints), DDL; not LOCK TABLE, not a plain SELECT
///   or an advisory-lock call.
/// - Table locks (`relation`): LOCK TABLE in exactly the mode waited for;
///   DML and SELECT in the modes they take (RowExclusive, RowShare,
///   AccessShare); DDL in any mode.
/// - Advisory locks: a statement calling `pg_advisory_*`.
/// - Anything else (page, extension, object, virtual transaction…): any
///   statement but BEGIN, SET and the like.
///
/// A statement that calls a function PostgreSQL does not ship with
/// (anything but a short list of common built-ins), a CTE, CALL and DO can
/// run other statements, so they fit every lock.
public enum StatementLockFit {
    public static func fits(sql: String, edge: DeadlockEdge) -> Bool {
        let shape = Shape(sql)
        switch shape.kind {
        case .control: return false
        case .commit: return edge.lock.kind == "transaction" || edge.lock.kind == "tuple" || edge.lock.kind == "spectoken"
        case .other: return true
        default: break
        }
        if shape.callsUnknownFunction { return true }
        switch edge.lock {
        case .transaction, .tuple, .speculativeToken:
            switch shape.kind {
            case .dml, .ddl: return true
            case .select: return shape.locksRows
            case .lock: return false
            default: return true
            }
        case .relation:
            let mode = edge.lockMode
            switch shape.kind {
            case .lock: return mode != nil && mode == shape.lockTableMode
            case .ddl: return true
            case .dml: return mode.map { [.accessShare, .rowShare, .rowExclusive].contains($0) } ?? true
            case .select: return mode.map { $0 == .accessShare || (shape.locksRows && $0 == .rowShare) } ?? true
            default: return true
            }
        case .advisory:
            return shape.callsAdvisory
        default:
            return true
        }
    }

    /// What a statement is, as far as locks go.
    struct Shape {
        enum Kind { case control, commit, select, dml, lock, ddl, other }
        var kind: Kind
        var locksRows = false
        var callsAdvisory = false
        var callsUnknownFunction = false
        var lockTableMode: LockMode?

        init(_ sql: String) {
            let words = Self.words(sql)
            let lowered = sql.lowercased()
            callsAdvisory = lowered.contains("pg_advisory")
            switch words.first ?? "" {
            case "begin", "start", "set", "reset", "savepoint", "release", "rollback", "abort", "show", "discard", "prepare", "deallocate":
                kind = words.first == "rollback" && words.dropFirst().contains("to") ? .other : .control
            case "commit", "end": kind = .commit
            case "select", "table", "values": kind = .select
            case "insert", "update", "delete", "merge", "copy": kind = .dml
            case "lock": kind = .lock
            case "alter", "create", "drop", "truncate", "reindex", "cluster", "vacuum", "analyze", "comment", "grant", "revoke", "refresh":
                kind = .ddl
            default: kind = .other  // WITH, CALL, DO, EXPLAIN, …
            }
            if kind == .select {
                // FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE.
                for (index, word) in words.enumerated() where word == "for" && index + 1 < words.count {
                    if ["update", "share", "no", "key"].contains(words[index + 1]) { locksRows = true }
                }
            }
            if kind == .lock { lockTableMode = Self.lockMode(words) }
            callsUnknownFunction = Self.callsUnknownFunction(lowered)
        }

        /// The mode of `LOCK [TABLE] name IN <mode> MODE`; ACCESS EXCLUSIVE when none is given.
        static func lockMode(_ words: [String]) -> LockMode? {
            guard let inIndex = words.lastIndex(of: "in"), let modeIndex = words.lastIndex(of: "mode"), inIndex < modeIndex else { return .accessExclusive }
            switch words[(inIndex + 1)..<modeIndex].joined(separator: " ") {
            case "access share": return .accessShare
            case "row share": return .rowShare
            case "row exclusive": return .rowExclusive
            case "share update exclusive": return .shareUpdateExclusive
            case "share": return .share
            case "share row exclusive": return .shareRowExclusive
            case "exclusive": return .exclusive
            case "access exclusive": return .accessExclusive
            default: return nil
            }
        }

        /// Lower-case words outside string literals, quoted identifiers and
        /// comments (enough to read keywords).
        static func words(_ sql: String) -> [String] {
            var words: [String] = []
            var current = ""
            var chars = Array(sql.lowercased().unicodeScalars)[...]
            func flush() {
                if !current.isEmpty { words.append(current) }
                current = ""
            }
            while let c = chars.first {
                chars = chars.dropFirst()
                switch c {
                case "'", "\"":
                    flush()
                    while let d = chars.first {
                        chars = chars.dropFirst()
                        if d == c { break }
                    }
                case "-" where chars.first == "-":
                    flush()
                    while let d = chars.first, d != "\n" { chars = chars.dropFirst() }
                case "/" where chars.first == "*":
                    flush()
                    chars = chars.dropFirst()
                    while let d = chars.first {
                        chars = chars.dropFirst()
                        if d == "*", chars.first == "/" {
                            chars = chars.dropFirst()
                            break
                        }
                    }
                default:
                    if c.properties.isAlphabetic || c == "_" || ("0"..."9").contains(c) {
                        current.unicodeScalars.append(c)
                    } else {
                        flush()
                    }
                }
            }
            flush()
            return words
        }

        /// Built-ins and keywords that are followed by "(" and run no other statement.
        static let knownCalls: Set<String> = [
            "in", "values", "any", "all", "some", "exists", "coalesce", "nullif", "greatest", "least", "cast", "row", "array",
            "count", "sum", "min", "max", "avg", "abs", "random", "now", "lower", "upper", "length", "substr", "substring",
            "round", "floor", "ceil", "mod", "power", "sqrt", "concat", "format", "md5", "to_char", "date_trunc", "extract",
            "generate_series", "unnest", "jsonb_build_object", "json_build_object", "string_agg", "array_agg",
            "clock_timestamp", "statement_timestamp", "pg_sleep", "returning", "where", "and", "or", "not", "on", "using",
            "set", "select", "from", "as", "over", "filter", "within", "interval", "numeric", "decimal", "varchar", "char",
            "timestamp", "time", "bit", "float", "conflict", "do", "when", "then", "else", "case", "into", "lateral", "is",
            "between", "like", "ilike", "similar", "then", "limit", "offset", "order", "by", "group", "having", "distinct",
            "pg_advisory_lock", "pg_advisory_xact_lock", "pg_advisory_lock_shared", "pg_advisory_xact_lock_shared",
            "pg_try_advisory_lock", "pg_try_advisory_xact_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock_shared",
            "pg_advisory_unlock", "pg_advisory_unlock_shared", "pg_advisory_unlock_all", "hashtext", "hashtextextended",
        ]

        /// Whether an identifier other than the known ones is followed by "(".
        static func callsUnknownFunction(_ lowered: String) -> Bool {
            var identifier = ""
            /// The token before, when it was an identifier (blanks skipped).
            var previous: String?
            for c in lowered.unicodeScalars {
                if c.properties.isAlphabetic || c == "_" || c == "." || c == "$" || ("0"..."9").contains(c) {
                    identifier.unicodeScalars.append(c)
                    continue
                }
                if !identifier.isEmpty {
                    previous = identifier
                    identifier = ""
                }
                if c == " " || c == "\t" || c == "\n" || c == "\r" { continue }
                if c == "(", let name = previous.flatMap({ $0.split(separator: ".").last.map(String.init) }),
                   let first = name.unicodeScalars.first, first != "$", !("0"..."9").contains(first), !knownCalls.contains(name) {
                    return true
                }
                previous = nil
            }
            return false
        }
    }
}
