/// The shape of a deadlock cycle, so that the same deadlock seen many times
/// is counted once: which templates and steps wait for which kinds of lock,
/// in which order around the cycle, with PIDs, transaction IDs, OIDs and key
/// values left out and the cycle's starting point fixed.
///
/// The text joins one token per participant with " -> ", each waiting for
/// the next and the last for the first:
///
///     transfer:2/ShareLock/transaction -> transfer:2/ShareLock/transaction
///
/// A token is `template:step/mode/kind`, with the step 1-based as people
/// count it everywhere (the template's steps as listed, pauses included),
/// `template` alone when the step is unknown, and `outside` for a session
/// lockstorm did not open. The cycle is rotated to start at its
/// lexicographically smallest rotation, so where PostgreSQL happened to start
/// its report does not matter. The direction is kept: waits-for is not
/// symmetric.
public struct DeadlockSignature: Hashable, Sendable, CustomStringConvertible {
    /// One backend in the cycle, described by what lockstorm knows of it and
    /// the lock it was waiting for.
    public struct Participant: Hashable, Sendable {
        /// The transaction template it was running; nil for a session that is
        /// not lockstorm's.
        public var template: String?
        /// The 0-based step within the template; nil when unknown.
        public var step: Int?
        /// `LockTag.kind` of the lock it waits for.
        public var lockKind: String
        /// The lock mode it waits for, e.g. "ShareLock".
        public var mode: String

        public init(template: String?, step: Int?, lockKind: String, mode: String) {
            self.template = template
            self.step = step
            self.lockKind = lockKind
            self.mode = mode
        }

        /// `template:step/mode/kind`, with the separators escaped inside the
        /// fields so different participants never share a token.
        var token: String {
            let who = template.map { Self.escape($0) + (step.map { ":\($0 + 1)" } ?? "") } ?? "outside"
            return "\(who)/\(Self.escape(mode))/\(Self.escape(lockKind))"
        }

        /// "transfer step 2" (1-based), "transfer step ?" (a session of the
        /// run whose step could not be told), or "outside session".
        public var name: String {
            guard let template else { return "outside session" }
            return step.map { "\(template) step \($0 + 1)" } ?? "\(template) step ?"
        }

        /// "ShareLock on transaction".
        public var wants: String { "\(mode) on \(lockKind)" }

        /// Percent-escapes the field separators `/` and `:`, whitespace (so the
        /// token separator " -> " cannot occur inside a token) and `%` itself,
        /// which keeps the escaping injective. A template literally named
        /// `outside` is escaped too, to stay apart from a nil template.
        private static func escape(_ field: String) -> String {
            if field == "outside" { return "%6Futside" }
            var escaped = ""
            for scalar in field.unicodeScalars {
                switch scalar {
                case "%", "/", ":": escaped += "%" + hex(scalar.value)
                case _ where scalar.properties.isWhitespace: escaped += "%" + hex(scalar.value)
                default: escaped.unicodeScalars.append(scalar)
                }
            }
            return escaped
        }

        private static func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return digits.count % 2 == 0 ? digits : "0" + digits
        }
    }

    /// The participants in canonical order: the rotation whose tokens are
    /// smallest.
    public let participants: [Participant]
    /// The canonical text; equal signatures have equal text and vice versa.
    public let text: String

    public init(participants: [Participant]) {
        let tokens = participants.map(\.token)
        let start = Self.smallestRotation(tokens)
        let rotated = Array(participants[start...] + participants[..<start])
        self.participants = rotated
        self.text = rotated.map(\.token).joined(separator: " -> ")
    }

    /// The signature of `report`'s cycle, asking `session` what each backend
    /// was running; nil from `session` means a backend lockstorm did not open.
    /// Each participant waits for the lock on its own edge.
    public init(report: DeadlockReport, session: (Int32) -> (template: String, step: Int?)?) {
        self.init(participants: report.edges.map { edge in
            let known = session(edge.waiter)
            return Participant(template: known?.template, step: known?.step, lockKind: edge.lock.kind, mode: edge.mode)
        })
    }

    public var description: String { text }

    /// The cycle in plain words, starting from the canonical participant:
    ///
    /// - two: "transfer step 2 ↔ transfer step 2: each waits for a lock
    ///   (ShareLock on transaction) the other holds"
    /// - more: "a step 1 → b step 1 → c step 1 → a step 1: each waits for a
    ///   lock (ShareLock on transaction) held by the next"
    ///
    /// When the participants wait for different locks, the parenthesis is
    /// replaced by a list after the sentence: "(a step 1: ShareLock on
    /// transaction; b step 2: ExclusiveLock on tuple)".
    public var summary: String {
        guard let first = participants.first else { return "empty cycle" }
        let names = participants.map(\.name)
        let sameLock = participants.allSatisfy { $0.wants == first.wants }
        let locks = participants.map { "\($0.name): \($0.wants)" }.joined(separator: "; ")
        switch participants.count {
        case 1:
            return "\(first.name) waits for a lock (\(first.wants)) it already holds"
        case 2:
            let pair = "\(names[0]) ↔ \(names[1])"
            return sameLock
                ? "\(pair): each waits for a lock (\(first.wants)) the other holds"
                : "\(pair): each waits for a lock the other holds (\(locks))"
        default:
            let ring = (names + [names[0]]).joined(separator: " → ")
            return sameLock
                ? "\(ring): each waits for a lock (\(first.wants)) held by the next"
                : "\(ring): each waits for a lock held by the next (\(locks))"
        }
    }

    /// The start index of the lexicographically smallest rotation, comparing
    /// token by token. Linear time (the two-pointer minimum-rotation
    /// algorithm), so even an absurd cycle from hostile input stays cheap;
    /// when rotations tie (a cycle that repeats itself) any of them gives the
    /// same text.
    static func smallestRotation(_ tokens: [String]) -> Int {
        let count = tokens.count
        var i = 0, j = 1, k = 0
        while i < count, j < count, k < count {
            let a = tokens[(i + k) % count], b = tokens[(j + k) % count]
            if a == b {
                k += 1
                continue
            }
            if a > b { i += k + 1 } else { j += k + 1 }
            if i == j { j += 1 }
            k = 0
        }
        return min(i, j)
    }
}
