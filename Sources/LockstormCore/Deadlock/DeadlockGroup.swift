/// Deadlocks grouped as a person reads them: by the statements and tables
/// around the cycle (`UPDATE inventory ↔ UPDATE inventory`), whatever the
/// templates, steps and values, with the reason in a few words where it can
/// be told ("rows taken in different orders"). The exact signatures are the
/// group's `records`, most frequent first.
///
/// The key names each participant by its statement (`StatementShape`), an
/// unknown statement by its template (`checkout step ?`) and a session that
/// is not lockstorm's as `outside session`. It does not depend on where the
/// cycle starts or which way round it is read; a cycle in which every
/// participant runs the same statement is one group however many sessions
/// took part (`UPDATE inventory ↔ UPDATE inventory` covers rings of three).
public struct DeadlockGroup: Sendable {
    /// `UPDATE inventory ↔ UPDATE inventory`, `LOCK TABLE a ↔ LOCK TABLE b`,
    /// `UPDATE a ↔ UPDATE b ↔ UPDATE c` (a ring of three different statements).
    public var key: String
    /// "rows taken in different orders", "tables locked in different orders", …
    public var reason: String
    public var count: Int
    /// The group's exact shapes, most frequent first.
    public var records: [CycleRecord]
    /// The numbers of sessions its cycles had, ascending.
    public var cycleLengths: [Int]

    /// `key: reason`.
    public var title: String { "\(key): \(reason)" }

    /// `records` grouped, most deadlocks first (ties by key).
    public static func groups(_ records: [CycleRecord]) -> [DeadlockGroup] {
        var order: [String] = []
        var byKey: [String: (records: [CycleRecord], reasons: [String: Int], lengths: Set<Int>)] = [:]
        for record in records {
            let explained = record.explainedParticipants
            let key = Self.key(explained)
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: ([], [:], [])].records.append(record)
            byKey[key]?.reasons[Self.reason(explained), default: 0] += record.count
            byKey[key]?.lengths.insert(record.signature.participants.count)
        }
        let groups = order.compactMap { key -> DeadlockGroup? in
            guard let entry = byKey[key] else { return nil }
            let sorted = entry.records.sorted { ($0.count, $1.signature.text) > ($1.count, $0.signature.text) }
            // Samples of one group can disagree (one cycle through a tuple lock): the reason most deadlocks had.
            let reason = entry.reasons.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? Self.generic(2)
            return DeadlockGroup(key: key, reason: reason, count: sorted.map(\.count).reduce(0, +), records: sorted, cycleLengths: entry.lengths.sorted())
        }
        return groups.sorted { ($0.count, $1.key) > ($1.count, $0.key) }
    }

    /// What a participant is called in a group key.
    static func token(_ participant: ParticipantExplanation) -> String {
        if let shape = participant.shape { return shape.description }
        if participant.name.hasPrefix("outside session") { return "outside session" }
        return participant.name
    }

    /// The key of one cycle: the participants' tokens, the same for every
    /// rotation and both directions.
    static func key(_ participants: [ParticipantExplanation]) -> String {
        let tokens = participants.map(token)
        guard let first = tokens.first else { return "empty cycle" }
        if tokens.allSatisfy({ $0 == first }) { return tokens.count == 1 ? "\(first) (alone)" : "\(first) ↔ \(first)" }
        return canonical(tokens).joined(separator: " ↔ ")
    }

    /// The smallest of the rotations of `tokens` and of its reverse.
    static func canonical(_ tokens: [String]) -> [String] {
        var best = tokens
        for sequence in [tokens, tokens.reversed()] {
            for start in sequence.indices {
                let rotated = Array(sequence[start...] + sequence[..<start])
                if rotated.lexicographicallyPrecedes(best) { best = rotated }
            }
        }
        return best
    }

    /// Why the cycle formed, in a few words, from the statements and the
    /// locks waited for; a plain sentence when none of the known patterns fits.
    static func reason(_ participants: [ParticipantExplanation]) -> String {
        let count = participants.count
        let tags = participants.compactMap(\.tag)
        let allTagged = tags.count == count && count > 0
        if allTagged, tags.allSatisfy({ $0.kind == "advisory" }) { return "advisory keys taken in different orders" }
        if allTagged, tags.allSatisfy({ $0.kind == "relation" }) {
            let relations = Set(tags.flatMap { $0.relations.map(\.relation) })
            if relations.count > 1 { return "tables locked in different orders" }
            let table = participants.compactMap { $0.shape?.table }.first
            return "lock upgrade: " + (count == 2 ? "both hold" : "all hold") + " a weaker lock on " + (table ?? "the table") + ", then ask for a stronger one"
        }
        let shapes = participants.compactMap(\.shape)
        guard shapes.count == count, let table = shapes.first?.table, shapes.allSatisfy({ $0.table == table }),
              !allTagged || tags.allSatisfy({ $0.kind == "transaction" || $0.kind == "tuple" }) else { return generic(count) }
        if shapes.allSatisfy(\.writesRows) {
            let readLockedFirst = participants.allSatisfy { participant in participant.heldShapes.contains { $0.readLocksRows && $0.table == table } }
            if readLockedFirst { return count == 2 ? "lock upgrade: both read-locked, then both update" : "lock upgrade: all read-locked, then all update" }
            // All waiting for one row: each already holds a shared lock on
            // it, which none of them took by name when it inserted a row
            // that references it (the foreign key's FOR KEY SHARE).
            let keys = participants.map(\.key)
            if let key = keys.first ?? nil, keys.allSatisfy({ $0 == key }) {
                let both = count == 2 ? "both" : "all"
                if participants.allSatisfy({ $0.heldShapes.contains { $0.kind == .insert && $0.table != nil && $0.table != table } }) {
                    return "foreign key: \(both) inserted rows referencing one \(table) row, then \(both) lock it"
                }
                return "lock upgrade: \(both) share-locked one \(table) row, then \(both) want it exclusively"
            }
            return "rows taken in different orders"
        }
        return generic(count)
    }

    static func generic(_ count: Int) -> String {
        count == 2 ? "each waits for a lock the other holds" : "each waits for a lock held by another"
    }
}
