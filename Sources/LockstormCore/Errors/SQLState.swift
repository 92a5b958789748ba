/// A five-character SQLSTATE code. Compare codes through these named
/// constants; new codes never break callers.
public struct SQLState: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let code: String

    public init(_ code: String) {
        self.code = code
    }

    public var description: String { code }

    /// The two-character class, e.g. "40" for transaction rollback.
    public var errorClass: Substring { code.prefix(2) }

    public static func < (lhs: SQLState, rhs: SQLState) -> Bool { lhs.code < rhs.code }

    public static let successfulCompletion = SQLState("00000")
    public static let deadlockDetected = SQLState("40P01")
    public static let serializationFailure = SQLState("40001")
    public static let lockNotAvailable = SQLState("55P03")
    public static let queryCanceled = SQLState("57014")
    public static let inFailedTransaction = SQLState("25P02")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let connectionFailure = SQLState("08006")
    public static let connectionException = SQLState("08000")
    public static let uniqueViolation = SQLState("23505")
    public static let tooManyConnections = SQLState("53300")

    /// Whether `text` has the shape of a SQLSTATE: five digits or uppercase letters.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 5 && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
    }
}

/// What kind of failure an error is, for counting. Every failed attempt falls
/// into exactly one class; the classes map one to one onto summary columns.
public enum ErrorClass: Int, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case deadlock
    case lockNotAvailable
    case serializationFailure
    case statementTimeout
    case connection
    case other

    public var description: String {
        switch self {
        case .deadlock: "deadlock"
        case .lockNotAvailable: "lock not available"
        case .serializationFailure: "serialization failure"
        case .statementTimeout: "statement timeout / canceled"
        case .connection: "connection"
        case .other: "other"
        }
    }

    /// The one place SQLSTATEs are classified.
    ///
    /// - 40P01 deadlock_detected → deadlock
    /// - 55P03 lock_not_available (NOWAIT, lock_timeout) → lockNotAvailable
    /// - 40001 serialization_failure → serializationFailure
    /// - 57014 query_canceled (statement_timeout, cancel) → statementTimeout
    /// - class 08 and 57P01–57P03 (server gone or going) → connection
    /// - anything else, including a missing code → other
    public static func classify(_ state: SQLState?) -> ErrorClass {
        guard let state else { return .other }
        switch state {
        case .deadlockDetected: return .deadlock
        case .lockNotAvailable: return .lockNotAvailable
        case .serializationFailure: return .serializationFailure
        case .queryCanceled: return .statementTimeout
        case .adminShutdown, .crashShutdown, .cannotConnectNow: return .connection
        default: return state.errorClass == "08" ? .connection : .other
        }
    }
}

extension SQLState {
    private static let namesByCode: [String: String] = {
        var names: [String: String] = [:]
        for entry in catalog where names[entry.code] == nil { names[entry.code] = entry.name }
        return names
    }()

    /// Condition name → code. A few names exist as a warning (class 01) and an
    /// error; the error wins, since that is what a workload can expect.
    private static let codesByName: [String: String] = {
        var codes: [String: String] = [:]
        for entry in catalog where codes[entry.name] == nil || codes[entry.name]?.hasPrefix("01") == true {
            codes[entry.name] = entry.code
        }
        return codes
    }()

    /// The condition name PostgreSQL gives this code (`deadlock_detected`).
    public var conditionName: String? { Self.namesByCode[code] }

    /// Whether PostgreSQL defines this code.
    public var isKnown: Bool { Self.namesByCode[code] != nil }

    /// "42P01 (undefined_table)", or the bare code when PostgreSQL names none.
    public var described: String { conditionName.map { "\(code) (\($0))" } ?? code }

    /// A SQLSTATE from a code (`40P01`, any case) or a condition name
    /// (`deadlock_detected`); `nil` when PostgreSQL defines neither.
    public static func resolve(_ text: String) -> SQLState? {
        let trimmed = text.trimmingWhitespace()
        if let code = codesByName[trimmed.lowercased()] { return SQLState(code) }
        let upper = trimmed.uppercased()
        return namesByCode[upper] != nil ? SQLState(upper) : nil
    }

    /// Every condition name, for suggestions.
    public static var conditionNames: [String] { catalog.map(\.name) }

    /// Error text for a code or name PostgreSQL does not define.
    public static func unknownMessage(_ text: String) -> String {
        let trimmed = text.trimmingWhitespace()
        let upper = trimmed.uppercased()
        if isWellFormed(upper) {
            let hint = Suggestion.closest(to: upper, in: catalog.map(\.code)).map { "; did you mean \($0)?" } ?? ""
            return "unknown SQLSTATE '\(trimmed)': PostgreSQL defines no such code\(hint)"
        }
        if let name = Suggestion.closest(to: trimmed.lowercased(), in: conditionNames) {
            return "unknown condition name '\(trimmed)'; did you mean '\(name)'?"
        }
        return "'\(trimmed)' is not a SQLSTATE: write a five-character code such as 40P01 or a condition name such as deadlock_detected"
    }
}
