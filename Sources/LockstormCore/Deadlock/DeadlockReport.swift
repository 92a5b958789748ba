/// A deadlock as PostgreSQL reports it to its victim: the wait-for cycle
/// from the error's DETAIL, and what the victim was doing from its CONTEXT.
///
/// PostgreSQL writes one DETAIL line per edge of the cycle, in cycle order,
/// starting with the backend that ran the check and received the error:
///
///     Process 21244 waits for ShareLock on transaction 755; blocked by process 21245.
///     Process 21245 waits for ShareLock on transaction 754; blocked by process 21244.
///
/// Parsing is pure and total: any text gives a report or nil, never a trap,
/// and lines that are not edges are kept in `unparsedLines`, not dropped.
/// A server whose `lc_messages` is not English writes translated lines,
/// which end up there too.
public struct DeadlockReport: Hashable, Sendable {
    /// The edges, in the order PostgreSQL wrote them.
    public var edges: [DeadlockEdge]
    /// Non-blank DETAIL lines that are not edges, trimmed, in order.
    public var unparsedLines: [String]
    /// What the victim was doing, from CONTEXT; nil when there was none.
    public var note: DeadlockNote?

    public init(edges: [DeadlockEdge], unparsedLines: [String] = [], note: DeadlockNote? = nil) {
        self.edges = edges
        self.unparsedLines = unparsedLines
        self.note = note
    }

    /// Reads a deadlock error's DETAIL and, if given, CONTEXT. Returns nil
    /// when DETAIL has no edge line at all.
    public static func parse(detail: String, context: String?) -> DeadlockReport? {
        var edges: [DeadlockEdge] = []
        var unparsed: [String] = []
        for rawLine in detail.split(whereSeparator: \.isNewline) {
            let line = MessageScanner.trimmed(rawLine)
            if line.isEmpty { continue }
            if let edge = DeadlockEdge(postgresLine: line) {
                edges.append(edge)
            } else {
                unparsed.append(String(line))
            }
        }
        guard !edges.isEmpty else { return nil }
        return DeadlockReport(edges: edges, unparsedLines: unparsed, note: context.flatMap(DeadlockNote.parse))
    }

    /// The backends in the cycle, in order, starting with the first line's
    /// waiter: each waits for the next, and the last for the first when the
    /// cycle is closed.
    public var cycle: [Int32] { edges.map(\.waiter) }

    /// Whether the edges join up into one cycle: each edge's blocker is the
    /// next edge's waiter and the last edge's blocker is the first's waiter.
    /// False when a line was lost (see `unparsedLines`).
    public var isClosedCycle: Bool {
        guard !edges.isEmpty else { return false }
        return edges.indices.allSatisfy { edges[$0].blocker == edges[($0 + 1) % edges.count].waiter }
    }

    /// The backend that detected the deadlock and received the error:
    /// PostgreSQL starts its search, and so its report, from itself.
    public var victim: Int32? { edges.first?.waiter }
}

/// One edge of a deadlock cycle: `waiter` waits for `mode` on `lock`, and
/// `blocker` holds (or is queued ahead for) a conflicting lock.
public struct DeadlockEdge: Hashable, Sendable {
    public var waiter: Int32
    /// The lock mode as PostgreSQL names it, e.g. "ShareLock"; see `lockMode`.
    public var mode: String
    public var lock: LockTag
    public var blocker: Int32

    public init(waiter: Int32, mode: String, lock: LockTag, blocker: Int32) {
        self.waiter = waiter
        self.mode = mode
        self.lock = lock
        self.blocker = blocker
    }

    /// `mode` as one of the eight table-lock modes, or nil for a name this
    /// version does not know.
    public var lockMode: LockMode? { LockMode(rawValue: mode) }

    /// Reads one DETAIL line: "Process P waits for MODE on TAG; blocked by process Q."
    /// A line of that shape whose TAG is unknown still parses, with
    /// `.other(TAG)`; a line of any other shape gives nil.
    public init?<Line: StringProtocol>(postgresLine line: Line) {
        // The tag is free text, so read the fixed tail from the end and the
        // fixed head from the start; whatever lies between is the tag.
        var tail = Substring(line)
        guard tail.last == "." else { return nil }
        tail = tail.dropLast()
        let digits = tail.reversed().prefix { $0.asciiValue.map { (48...57).contains($0) } ?? false }.count
        guard digits > 0 else { return nil }
        var blockerScanner = MessageScanner(tail.suffix(digits))
        guard let blocker = Self.pid(&blockerScanner) else { return nil }
        let marker = "; blocked by process "
        let head = tail.dropLast(digits)
        guard head.hasSuffix(marker) else { return nil }

        var scanner = MessageScanner(head.dropLast(marker.count))
        guard scanner.skip("Process "), let waiter = Self.pid(&scanner), scanner.skip(" waits for "),
              let mode = scanner.upTo(" "), !mode.isEmpty, scanner.skip(" on ") else { return nil }
        let tag = scanner.remainder()
        guard !tag.isEmpty else { return nil }
        self.init(waiter: waiter, mode: String(mode), lock: LockTag(postgresText: tag), blocker: blocker)
    }

    /// A backend PID: printed with %d, but never negative.
    private static func pid(_ scanner: inout MessageScanner) -> Int32? {
        guard let value = scanner.unsigned(UInt32.self), value <= UInt32(Int32.max) else { return nil }
        return Int32(value)
    }

    /// The line back in PostgreSQL's words.
    public var postgresLine: String {
        "Process \(waiter) waits for \(mode) on \(lock.postgresText); blocked by process \(blocker)."
    }
}

/// PostgreSQL's eight table-lock modes, weakest first; advisory and row
/// waits report the same names.
public enum LockMode: String, CaseIterable, Sendable, Hashable, Comparable {
    case accessShare = "AccessShareLock"
    case rowShare = "RowShareLock"
    case rowExclusive = "RowExclusiveLock"
    case shareUpdateExclusive = "ShareUpdateExclusiveLock"
    case share = "ShareLock"
    case shareRowExclusive = "ShareRowExclusiveLock"
    case exclusive = "ExclusiveLock"
    case accessExclusive = "AccessExclusiveLock"

    /// 1 for the weakest mode through 8 for the strongest, as in PostgreSQL's lock.h.
    public var strength: Int { (Self.allCases.firstIndex(of: self) ?? 0) + 1 }

    public static func < (lhs: LockMode, rhs: LockMode) -> Bool { lhs.strength < rhs.strength }
}
