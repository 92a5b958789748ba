import Testing
import TestSupport
@testable import LockstormCore

/// `DeadlockGroup`: deadlocks grouped by the statements and tables around
/// the cycle, whatever the templates, steps and values.
@Suite struct DeadlockGroupTests {
    private func party(_ name: String, _ sql: String?) -> ParticipantExplanation {
        ParticipantExplanation(name: name, shape: sql.flatMap(StatementShape.init(sql:)), key: nil, lock: "", tag: nil, holds: [], heldShapes: [], step: 1, certainty: .inferred)
    }

    @Test func theKeyIsTheSameForEveryRotationAndBothDirections() {
        let a = party("a step 1", "UPDATE a SET v = 1"), b = party("b step 1", "DELETE FROM b"), c = party("c step 1", "LOCK TABLE c")
        let key = DeadlockGroup.key([a, b, c])
        #expect(key == "DELETE FROM b ↔ LOCK TABLE c ↔ UPDATE a")
        for cycle in [[b, c, a], [c, a, b], [c, b, a], [a, c, b], [b, a, c]] { #expect(DeadlockGroup.key(cycle) == key) }
        #expect(DeadlockGroup.key([a, b]) == DeadlockGroup.key([b, a]))
        #expect(DeadlockGroup.key([a, b, a, b]) == "DELETE FROM b ↔ UPDATE a ↔ DELETE FROM b ↔ UPDATE a")
        // Every participant the same statement: one group, whatever the cycle's length.
        #expect(DeadlockGroup.key([a, a]) == "UPDATE a ↔ UPDATE a")
        #expect(DeadlockGroup.key([a, a, a]) == "UPDATE a ↔ UPDATE a")
    }

    @Test func unknownStatementsAreNamedByTemplateNeverGuessed() {
        let uncertain = party("checkout step ?", nil), outside = party("outside session 77", nil)
        let update = party("checkout step 3", "UPDATE inventory SET stock = 0")
        #expect(DeadlockGroup.key([update, uncertain]) == "UPDATE inventory ↔ checkout step ?")
        #expect(DeadlockGroup.key([outside, update]) == "UPDATE inventory ↔ outside session")
    }

    @Test func theCheckoutsThirtyFourShapesAreOneGroupThatLeads() throws {
        let records = SyntheticDeadlock.checkoutLike
        #expect(records.count == 34 && Set(records.map(\.signature.text)).count == 34)
        #expect(records.map(\.count).reduce(0, +) == 36 && records.map(\.count).max() == 2)
        let groups = DeadlockGroup.groups(records)
        #expect(groups.map(\.key) == [
            "UPDATE inventory ↔ UPDATE inventory", "LOCK TABLE order_lines ↔ LOCK TABLE orders", "pg_advisory_xact_lock ↔ pg_advisory_xact_lock",
        ])
        let first = try #require(groups.first)
        #expect(first.count == 32 && first.records.count == 30 && first.cycleLengths == [2, 3])
        #expect(first.reason == "rows taken in different orders")
        #expect(first.records.first?.count == 2)
        #expect(groups[1].reason == "tables locked in different orders")
        #expect(groups[2].reason == "advisory keys taken in different orders")
    }

    @Test func reasons() {
        typealias Party = SyntheticDeadlock.Party
        func reason(_ parties: [Party]) -> String { DeadlockGroup.groups([SyntheticDeadlock.record(parties)])[0].reason }
        let share = "SELECT * FROM jobs WHERE id = $1 FOR SHARE"
        let update = "UPDATE jobs SET done = true WHERE id = $1"
        #expect(reason([
            Party(template: "w", step: 1, sql: update, values: ["4"], before: [(0, share, ["4"])]),
            Party(template: "w", step: 1, sql: update, values: ["4"], before: [(0, share, ["4"])]),
        ]) == "lock upgrade: both read-locked, then both update")
        // Only one of them read-locked first: plain rows in different orders.
        #expect(reason([
            Party(template: "w", step: 1, sql: update, values: ["4"], before: [(0, share, ["4"])]),
            Party(template: "v", step: 1, sql: update, values: ["5"], before: [(0, update, ["4"])]),
        ]) == "rows taken in different orders")
        #expect(reason([
            Party(template: "m", step: 1, sql: "LOCK TABLE t IN EXCLUSIVE MODE", before: [(0, "LOCK TABLE t IN SHARE MODE", [])], waits: "ExclusiveLock on relation 16384 of database 5"),
            Party(template: "m", step: 1, sql: "LOCK TABLE t IN EXCLUSIVE MODE", before: [(0, "LOCK TABLE t IN SHARE MODE", [])], waits: "ExclusiveLock on relation 16384 of database 5"),
        ]) == "lock upgrade: both hold a weaker lock on t, then ask for a stronger one")
        // The zoo's foreign-key case: child rows inserted, then the same parent row locked by both.
        let child = "INSERT INTO order_lines (order_id, amount) VALUES ($1, $2)"
        let parent = "SELECT total FROM orders WHERE id = $1 FOR UPDATE"
        #expect(reason([
            Party(template: "line", step: 3, sql: parent, values: ["7"], before: [(0, child, ["7", "5"])]),
            Party(template: "line", step: 3, sql: parent, values: ["7"], before: [(0, child, ["7", "2"])]),
        ]) == "foreign key: both inserted rows referencing one orders row, then both lock it")
        // The same row wanted by both without an insert before: a shared lock upgraded.
        #expect(reason([
            Party(template: "w", step: 2, sql: parent, values: ["7"], before: [(0, "SELECT 1", [])]),
            Party(template: "w", step: 2, sql: parent, values: ["7"], before: [(0, "SELECT 1", [])]),
        ]) == "lock upgrade: both share-locked one orders row, then both want it exclusively")
        // Different statements on different tables: said plainly.
        #expect(reason([
            Party(template: "o", step: 1, sql: "INSERT INTO order_lines (order_id) VALUES ($1)", values: ["1"]),
            Party(template: "p", step: 1, sql: "UPDATE orders SET total = 0 WHERE order_id = $1", values: ["1"]),
        ]) == "each waits for a lock the other holds")
        // An uncertain participant: advisory locks still tell the reason, statements do not.
        #expect(reason([
            Party(template: "a", step: nil, sql: nil, waits: "ExclusiveLock on advisory lock [5,0,42,1]", certainty: .uncertain),
            Party(template: "a", step: 2, sql: "SELECT pg_advisory_lock(7)", waits: "ExclusiveLock on advisory lock [5,0,7,1]"),
        ]) == "advisory keys taken in different orders")
        #expect(reason([
            Party(template: "a", step: nil, sql: nil, certainty: .uncertain),
            Party(template: "a", step: 2, sql: update, values: ["1"]),
        ]) == "each waits for a lock the other holds")
    }
}

/// `CycleRecord.explainedParticipants` and `DeadlockTable`: names, keys, holds.
@Suite struct DeadlockExplanationTests {
    @Test func aParticipantSaysWhatItHoldsAndWhatItWantsWithTablesByName() throws {
        let record = SyntheticDeadlock.record([
            SyntheticDeadlock.cart(3, step: 4, product: 7),
            SyntheticDeadlock.cart(2, step: 2, product: 3, waits: "ExclusiveLock on tuple (0,3) of relation 16394 of database 5"),
        ], names: [16394: "shop.inventory"])
        let explained = record.explainedParticipants
        #expect(explained.map(\.name) == ["cart3 step 5", "cart2 step 3"])
        #expect(explained[0].holds == [
            "step 1 UPDATE inventory (product_id=8)", "step 2 INSERT INTO order_lines (order_id=1, product_id=8, qty=1)",
            "step 3 UPDATE inventory (product_id=10)", "step 4 INSERT INTO order_lines (order_id=1, product_id=10, qty=1)",
        ])
        #expect(explained[0].wants == "ShareLock on transaction 9 for step 5 UPDATE inventory (product_id=7)")
        #expect(explained[1].wants == "ExclusiveLock on row (0,3) of shop.inventory for step 3 UPDATE inventory (product_id=3)")
        // Unresolved (a dropped table): the OID, never a wrong name.
        let unnamed = SyntheticDeadlock.record([SyntheticDeadlock.cart(2, step: 2, product: 3, waits: "ExclusiveLock on tuple (0,3) of relation 16394 of database 5")])
        #expect(unnamed.explainedParticipants[0].lock == "ExclusiveLock on row (0,3) of relation 16394")
    }

    @Test func anUncertainParticipantShowsAQuestionMarkAndNoStatement() {
        let record = SyntheticDeadlock.record([
            SyntheticDeadlock.Party(template: "book", step: nil, sql: nil, certainty: .uncertain),
            SyntheticDeadlock.cart(2, step: 2, product: 3),
        ])
        let explained = record.explainedParticipants
        #expect(explained[0].name == "book step ?" && explained[0].shape == nil)
        #expect(explained[0].wants == "ShareLock on transaction 9 (statement uncertain)")
        #expect(record.sampleParticipants[0].label == "book step ?")
        #expect(record.signature.participants.contains { $0.name == "book step ?" })
    }

    @Test func anUncertainParticipantWhoseStatementIsKnownIsGroupedByItWithoutAStep() {
        var uncertain = SyntheticDeadlock.cart(3, step: 2, product: 4)
        uncertain.step = nil
        uncertain.certainty = .uncertain
        let record = SyntheticDeadlock.record([uncertain, SyntheticDeadlock.cart(2, step: 2, product: 3)])
        let explained = record.explainedParticipants
        #expect(explained[0].name == "cart3 step ?" && explained[0].step == nil && explained[0].holds.isEmpty)
        #expect(explained[0].wants == "ShareLock on transaction 9 for UPDATE inventory (product_id=4)")
        #expect(DeadlockGroup.groups([record]).map(\.key) == ["UPDATE inventory ↔ UPDATE inventory"])
    }

    @Test func deadlocksCSVRowsCarryTheGroupAndComeGroupByGroup() throws {
        let rows = DeadlockTable.rows(SyntheticDeadlock.checkoutLike)
        let columns = DeadlockTable.columns
        #expect(columns == ["signature", "count", "group", "group_reason", "cycle_length", "participants", "lock_kinds", "summary", "sample_participants", "sample_waits", "sample_holds", "sample_detail", "first_seen_s"])
        let group = try #require(columns.firstIndex(of: "group"))
        let keys = rows.map { $0[group] }
        #expect(keys.prefix(30).allSatisfy { $0 == "UPDATE inventory ↔ UPDATE inventory" })
        #expect(Set(keys.suffix(4)) == ["LOCK TABLE order_lines ↔ LOCK TABLE orders", "pg_advisory_xact_lock ↔ pg_advisory_xact_lock"])
        let holds = try #require(columns.firstIndex(of: "sample_holds"))
        #expect(rows[0][holds].contains("step 1 UPDATE inventory (product_id="))
        #expect(rows.allSatisfy { $0.count == columns.count })
    }

    @Test func theRunsRelationOIDsAreCollectedAndNamesReachEveryCycle() {
        var stats = RunStats(transactionCount: 1)
        for record in SyntheticDeadlock.checkoutLike { stats.recordCycle(record) }
        let oids = stats.relationOIDs
        #expect(Set(oids.map(\.relation)) == [16394, 16400, 16410] && oids.allSatisfy { $0.database == 5 })
        stats.nameRelations([16394: "inventory", 16400: "orders", 16410: "order_lines"])
        #expect(stats.cycles.values.allSatisfy { $0.relationNames[16394] == "inventory" })
        let locks = stats.deadlockGroups.flatMap(\.records).flatMap(\.explainedParticipants).map(\.lock)
        #expect(locks.contains("ShareLock on table orders") && locks.contains("ExclusiveLock on row (0,3) of inventory"))
        #expect(!locks.contains { $0.contains("relation 16") })
    }
}
