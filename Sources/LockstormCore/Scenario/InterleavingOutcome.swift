/// The kinds of outcome an interleaving can have, most severe first.
public enum OutcomeKind: String, Sendable, Hashable, CaseIterable, Comparable {
    case deadlock
    case lockNotAvailable = "lock_not_available"
    case otherError = "error"
    /// A step returned other rows than its `rows:` check expects.
    case wrongRows = "wrong_rows"
    case blocked
    case committed

    /// The words in explore's table.
    public var label: String {
        switch self {
        case .deadlock: "deadlock"
        case .lockNotAvailable: "55P03 lock not available"
        case .otherError: "other error"
        case .wrongRows: "rows differ"
        case .blocked: "blocked then completed"
        case .committed: "all committed"
        }
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: OutcomeKind, rhs: OutcomeKind) -> Bool { lhs.rank < rhs.rank }
}

/// How one session of an interleaving ended.
public struct SessionResult: Sendable, Hashable {
    /// The step (0-based) that failed, with its SQLSTATE and message; `nil` when every step succeeded.
    public var failure: (step: Int, sqlState: SQLState?, message: String)?
    /// Whether any of its steps had to wait for a lock held by another session.
    public var wasBlocked: Bool
    /// The first step (0-based) whose rows differ from its `rows:` check, with the rows it returned.
    public var wrongRows: (step: Int, rows: [[String?]])?

    public init(failure: (step: Int, sqlState: SQLState?, message: String)? = nil, wasBlocked: Bool = false, wrongRows: (step: Int, rows: [[String?]])? = nil) {
        self.failure = failure
        self.wasBlocked = wasBlocked
        self.wrongRows = wrongRows
    }

    public static func == (lhs: SessionResult, rhs: SessionResult) -> Bool {
        lhs.wasBlocked == rhs.wasBlocked && lhs.failure?.step == rhs.failure?.step && lhs.failure?.sqlState == rhs.failure?.sqlState
            && lhs.failure?.message == rhs.failure?.message && lhs.wrongRows?.step == rhs.wrongRows?.step && lhs.wrongRows?.rows == rhs.wrongRows?.rows
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(wasBlocked)
        hasher.combine(failure?.step)
        hasher.combine(failure?.sqlState)
    }
}

/// The outcome of one interleaving, from its sessions' results.
///
/// One outcome per interleaving, the most severe that happened: a deadlock
/// (40P01 on some session) beats 55P03, which beats any other error, which
/// beats "rows differ" (a step's `rows:` check failed), which beats
/// "blocked then completed" (some step waited for a lock, yet every
/// session finished), which beats "all committed" (no step ever waited).
public struct InterleavingOutcome: Sendable, Hashable {
    public var kind: OutcomeKind
    /// The session the outcome is about: the deadlock's victim, the session
    /// that got 55P03 or the error, or whose rows differ; `nil` for the other kinds.
    public var session: Int?
    public var sqlState: SQLState?

    public init(kind: OutcomeKind, session: Int? = nil, sqlState: SQLState? = nil) {
        self.kind = kind
        self.session = session
        self.sqlState = sqlState
    }

    public static func classify(_ sessions: [SessionResult]) -> InterleavingOutcome {
        var best = InterleavingOutcome(kind: .committed)
        for (index, result) in sessions.enumerated() {
            let candidate: InterleavingOutcome
            if let failure = result.failure {
                switch failure.sqlState {
                case .deadlockDetected?: candidate = InterleavingOutcome(kind: .deadlock, session: index, sqlState: failure.sqlState)
                case .lockNotAvailable?: candidate = InterleavingOutcome(kind: .lockNotAvailable, session: index, sqlState: failure.sqlState)
                default: candidate = InterleavingOutcome(kind: .otherError, session: index, sqlState: failure.sqlState)
                }
            } else if result.wrongRows != nil {
                candidate = InterleavingOutcome(kind: .wrongRows, session: index)
            } else if result.wasBlocked {
                candidate = InterleavingOutcome(kind: .blocked)
            } else {
                continue
            }
            if candidate.kind < best.kind { best = candidate }
        }
        return best
    }
}
