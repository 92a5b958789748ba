/// One participant of a sample deadlock in the words a developer needs: what
/// it ran, the row or key, the lock it waited for (tables by name), and what
/// its transaction already held: the earlier statements with their values.
public struct ParticipantExplanation: Hashable, Sendable {
    /// `checkout step 5`, `checkout step ?` (uncertain), `outside session 4711`.
    public var name: String
    /// What it ran; nil when the statement is not known (an outside or uncertain session).
    public var shape: StatementShape?
    /// The row or key its values name (`product_id=7`); nil when none can be read.
    public var key: String?
    /// The lock it waited for, with tables by name (`ShareLock on transaction 731`,
    /// `ExclusiveLock on row (0,3) of inventory`, `ExclusiveLock on advisory lock (7, 1)`).
    public var lock: String
    /// The lock it waited for as PostgreSQL named it, when the DETAIL had its line.
    public var tag: LockTag?
    /// Earlier statements of its transaction, each `step 2 UPDATE inventory (product_id=3)`.
    public var holds: [String]
    /// Their shapes, in the same order (for the reasons a group is given).
    public var heldShapes: [StatementShape]
    /// The step (1-based, as shown) it waited in; nil when unknown.
    public var step: Int?
    public var certainty: CycleParticipant.Certainty

    /// The statement with its key: `UPDATE inventory (product_id=7)`; nil when unknown.
    public var statement: String? { shape.map { Self.statement($0, key: key) } }

    /// `UPDATE inventory (product_id=7)`, `pg_advisory_xact_lock(7, 1)`.
    static func statement(_ shape: StatementShape, key: String?) -> String {
        guard let key else { return shape.description }
        // An advisory call reads as it was written: pg_advisory_xact_lock(7, 1).
        if shape.kind == .advisory { return shape.description + (key.hasPrefix("(") ? key : "(\(key))") }
        return "\(shape) (\(key))"
    }

    /// `ShareLock on transaction 731 for step 5 UPDATE inventory (product_id=7)`.
    public var wants: String {
        guard let statement else { return lock + (certainty == .uncertain ? " (statement uncertain)" : "") }
        return lock + " for " + (step.map { "step \($0) " } ?? "") + statement
    }

    /// `step 2 UPDATE inventory (product_id=3), step 3 INSERT INTO order_lines (…)`, or `nothing yet`.
    public var holdsText: String {
        holds.isEmpty ? (shape == nil ? "unknown" : "nothing yet") : holds.joined(separator: ", ")
    }
}

extension CycleRecord {
    /// The sample's participants explained, in the DETAIL's order. Each
    /// participant's lock is read back from the sample DETAIL by its PID.
    public var explainedParticipants: [ParticipantExplanation] {
        let edges = DeadlockReport.parse(detail: sampleDetail, context: nil)?.edges ?? []
        var byWaiter: [Int32: DeadlockEdge] = [:]
        for edge in edges where byWaiter[edge.waiter] == nil { byWaiter[edge.waiter] = edge }
        return sampleParticipants.map { participant in
            let edge = byWaiter[participant.pid]
            let lock = edge.map { "\($0.mode) on \($0.lock.summary(names: relationNames))" } ?? participant.waitsFor
            // An uncertain participant's step is not known; its statement may
            // be (the same SQL at two steps), and then it is grouped by it.
            let known = participant.certainty != .uncertain
            let sql = participant.sql
            let shape = sql.flatMap(StatementShape.init(sql:))
            var earlier = participant.transaction.filter { $0.step != nil }
            if let last = earlier.last, last.step == participant.step, last.sql == participant.sql { earlier.removeLast() }
            if !known { earlier = [] }
            var holds: [String] = []
            var heldShapes: [StatementShape] = []
            for statement in earlier {
                guard let step = statement.step, let held = StatementShape(sql: statement.sql) else { continue }
                let key = StatementShape.key(sql: statement.sql, values: statement.parameters)
                holds.append("step \(step + 1) " + ParticipantExplanation.statement(held, key: key))
                heldShapes.append(held)
            }
            let stepText = known ? participant.step.map { "step \($0 + 1)" } ?? "step ?" : "step ?"
            let name = participant.template.map { "\($0) \(stepText)" } ?? "outside session \(participant.pid)"
            return ParticipantExplanation(
                name: name, shape: shape, key: sql.flatMap { StatementShape.key(sql: $0, values: participant.parameters) }, lock: lock, tag: edge?.lock,
                holds: holds, heldShapes: heldShapes, step: known ? participant.step.map { $0 + 1 } : nil, certainty: participant.certainty
            )
        }
    }
}
