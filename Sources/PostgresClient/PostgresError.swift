/// An error reported by libpq or by the server, with the diagnostic fields a
/// load tester needs to classify and explain it.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the error came from, which decides what the caller can do next.
    public enum Kind: Sendable, Equatable {
        /// The server rejected a statement; the connection is still usable.
        case server
        /// The connection could not be opened.
        case connectionFailed
        /// The connection broke while in use (server gone, backend terminated).
        case connectionLost
        /// libpq refused a call (for example, a query while another is running).
        case client
    }

    public var kind: Kind
    /// Five-character SQLSTATE; `nil` when libpq produced the error itself.
    public var sqlState: String?
    public var severity: String?
    /// The primary, human-readable message.
    public var message: String
    public var detail: String?
    public var hint: String?
    public var context: String?

    public init(
        kind: Kind, sqlState: String? = nil, severity: String? = nil, message: String,
        detail: String? = nil, hint: String? = nil, context: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.severity = severity
        self.message = message
        self.detail = detail
        self.hint = hint
        self.context = context
    }

    public var description: String {
        var text = message
        if let sqlState { text = "\(sqlState): \(text)" }
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nHINT: \(hint)" }
        if let context { text += "\nCONTEXT: \(context)" }
        return text
    }
}
