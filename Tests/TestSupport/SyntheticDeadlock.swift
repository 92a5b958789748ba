import LockstormCore

/// Synthetic deadlocks for the grouping and explanation tests: each
/// participant's template, step, SQL with values, what it ran before, and
/// the lock its DETAIL line says it waits for.
public enum SyntheticDeadlock {
    public struct Party {
        public var template: String?
        public var step: Int?
        public var sql: String?
        public var values: [String?] = []
        /// Earlier steps of its transaction: (0-based step, SQL, values).
        public var before: [(Int, String, [String?])] = []
        /// The DETAIL's lock text, e.g. `ShareLock on transaction 9`.
        public var waits = "ShareLock on transaction 9"
        public var certainty: CycleParticipant.Certainty = .inferred

        public init(
            template: String?, step: Int?, sql: String?, values: [String?] = [], before: [(Int, String, [String?])] = [],
            waits: String = "ShareLock on transaction 9", certainty: CycleParticipant.Certainty = .inferred
        ) {
            self.template = template
            self.step = step
            self.sql = sql
            self.values = values
            self.before = before
            self.waits = waits
            self.certainty = certainty
        }
    }

    public static let update = "UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1"
    public static let insert = "INSERT INTO order_lines (order_id, product_id, qty) VALUES ($1, $2, $1)"

    /// A cycle of `parties` in DETAIL order (each waits for the next), PIDs 100, 101, ….
    public static func record(_ parties: [Party], count: Int = 1, names: [UInt32: String] = [:]) -> CycleRecord {
        let pids = parties.indices.map { Int32(100 + $0) }
        let detail = parties.indices.map { index in
            "Process \(pids[index]) waits for \(parties[index].waits); blocked by process \(pids[(index + 1) % pids.count])."
        }.joined(separator: "\n")
        guard let report = DeadlockReport.parse(detail: detail, context: nil) else { preconditionFailure("not a DETAIL: \(detail)") }
        let participants = zip(parties, report.edges).map { party, edge -> CycleParticipant in
            var participant = CycleParticipant(pid: edge.waiter, template: party.template, step: party.step, sql: party.sql, parameters: party.values, waitsFor: "\(edge.mode) on \(edge.lock.summary)")
            participant.certainty = party.certainty
            var statements = [CycleParticipant.Statement(step: nil, sql: "BEGIN", parameters: [])]
            statements += party.before.map { CycleParticipant.Statement(step: $0.0, sql: $0.1, parameters: $0.2) }
            if let sql = party.sql { statements.append(CycleParticipant.Statement(step: party.step, sql: sql, parameters: party.values)) }
            participant.transaction = party.template == nil ? [] : statements
            return participant
        }
        let signature = DeadlockSignature(participants: zip(parties, report.edges).map { party, edge in
            DeadlockSignature.Participant(template: party.template, step: party.step, lockKind: edge.lock.kind, mode: edge.mode)
        })
        var record = CycleRecord(signature: signature, count: count, firstSeenSeconds: 0, sampleDetail: detail, sampleParticipants: participants)
        record.relationNames = names
        return record
    }

    /// A cart template's participant waiting in the UPDATE at `step` (0-based, even), having
    /// decremented and recorded the products before it.
    public static func cart(_ size: Int, step: Int, product: Int, waits: String = "ShareLock on transaction 9") -> Party {
        var before: [(Int, String, [String?])] = []
        for earlier in stride(from: 0, to: step, by: 2) {
            before.append((earlier, update, ["1", String(product + earlier + 1)]))
            before.append((earlier + 1, insert, ["1", String(product + earlier + 1)]))
        }
        return Party(template: "cart\(size)", step: step, sql: update, values: ["1", String(product)], before: before, waits: waits)
    }

    /// The checkout: 36 deadlocks in 34 exact shapes. 30 shapes (32
    /// deadlocks) are carts of 2–4 products decrementing stock in cart order,
    /// pairs and rings of three; 2 shapes are advisory, 2 are LOCK TABLE.
    public static var checkoutLike: [CycleRecord] {
        let waiting: [(size: Int, step: Int)] = [(2, 2), (3, 2), (3, 4), (4, 2), (4, 4), (4, 6)]
        var records: [CycleRecord] = []
        for (i, a) in waiting.enumerated() {
            for b in waiting[i...] {
                records.append(record([cart(a.size, step: a.step, product: 3), cart(b.size, step: b.step, product: 5)], count: records.count < 2 ? 2 : 1))
            }
        }
        // Rings of three, one with a tuple lock in it (the third in a queue on one row).
        var rings = 0
        outer: for a in waiting {
            for b in waiting where b != a {
                records.append(record([
                    cart(a.size, step: a.step, product: 2), cart(b.size, step: b.step, product: 4),
                    cart(4, step: 6, product: 6, waits: rings == 0 ? "ExclusiveLock on tuple (0,3) of relation 16394 of database 5" : "ShareLock on transaction 9"),
                ]))
                rings += 1
                if rings == 9 { break outer }
            }
        }
        let advisory = "SELECT pg_advisory_xact_lock($1, $2)"
        for (index, template) in ["pay", "refund"].enumerated() {
            records.append(record([
                Party(template: template, step: 1, sql: advisory, values: ["7", "2"], before: [(0, advisory, ["7", "1"])], waits: "ExclusiveLock on advisory lock [5,7,2,2]"),
                Party(template: "settle", step: 1 + index, sql: advisory, values: ["7", "1"], before: [(0, advisory, ["7", "2"])], waits: "ExclusiveLock on advisory lock [5,7,1,2]"),
            ]))
        }
        for step in [1, 2] {
            records.append(record([
                Party(template: "report", step: step, sql: "LOCK TABLE orders IN SHARE MODE", before: [(0, "LOCK TABLE order_lines IN SHARE MODE", [])], waits: "ShareLock on relation 16400 of database 5"),
                Party(template: "archive", step: 1, sql: "LOCK TABLE order_lines IN EXCLUSIVE MODE", before: [(0, "LOCK TABLE orders IN EXCLUSIVE MODE", [])], waits: "ExclusiveLock on relation 16410 of database 5"),
            ]))
        }
        return records
    }
}

