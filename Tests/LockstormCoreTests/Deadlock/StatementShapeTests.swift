import Testing
@testable import LockstormCore

/// `StatementShape`: what a statement does and the row or key its values
/// name, as a deadlock explanation shows them.
@Suite struct StatementShapeTests {
    @Test(arguments: [
        ("UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1", "UPDATE inventory"),
        ("update ONLY Shop.Inventory set stock = 0", "UPDATE shop.inventory"),
        ("DELETE FROM jobs WHERE id = $1", "DELETE FROM jobs"),
        ("INSERT INTO order_lines (order_id, product_id, qty) VALUES ($1, $2, $3)", "INSERT INTO order_lines"),
        ("SELECT id FROM jobs WHERE status = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", "SELECT … FOR UPDATE FROM jobs"),
        ("SELECT * FROM accounts WHERE id = $1 FOR NO KEY UPDATE", "SELECT … FOR NO KEY UPDATE FROM accounts"),
        ("select 1 from parent where id = $1 for key share", "SELECT … FOR KEY SHARE FROM parent"),
        ("SELECT balance FROM accounts a WHERE a.id IN (SELECT id FROM x FOR UPDATE)", "SELECT FROM accounts"),
        ("LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE", "LOCK TABLE ledger"),
        ("LOCK ledger", "LOCK TABLE ledger"),
        ("SELECT pg_advisory_xact_lock($1, $2)", "pg_advisory_xact_lock"),
        ("SELECT pg_try_advisory_lock(42)", "pg_try_advisory_lock"),
        ("/* hi */ -- note\n WITH moved AS (DELETE FROM queue WHERE id = $1 RETURNING *) INSERT INTO done SELECT * FROM moved", "INSERT INTO done"),
        ("ALTER TABLE accounts ADD COLUMN note text", "ALTER TABLE accounts"),
        ("CREATE INDEX ON accounts (balance)", "CREATE INDEX ON accounts"),
        ("SELECT gate($1)", "SELECT gate(…)"),
        ("UPDATE \"Odd Name\" SET v = 1", "UPDATE \"Odd Name\""),
    ])
    func shapes(sql: String, expected: String) throws {
        #expect(try #require(StatementShape(sql: sql)).description == expected)
    }

    @Test func lockTableKeepsItsModeAndReadLocksAreToldFromWrites() throws {
        let lock = try #require(StatementShape(sql: "LOCK TABLE a IN ACCESS EXCLUSIVE MODE"))
        #expect(lock.kind == .lockTable && lock.lockMode == "ACCESS EXCLUSIVE")
        #expect(try #require(StatementShape(sql: "SELECT * FROM t WHERE id = 1 FOR SHARE")).readLocksRows)
        #expect(try #require(StatementShape(sql: "SELECT * FROM t WHERE id = 1 FOR UPDATE")).writesRows)
        #expect(try #require(StatementShape(sql: "UPDATE t SET v = 1")).writesRows)
        #expect(!(try #require(StatementShape(sql: "INSERT INTO t VALUES (1)")).writesRows))
        #expect(StatementShape(sql: "  -- only a comment\n") == nil)
    }

    @Test(arguments: [
        ("UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1", ["2", "7"], "product_id=7"),
        ("UPDATE accounts SET balance = balance + $1 WHERE id = $2", ["5", "3"], "id=3"),
        ("UPDATE t SET v = 1 WHERE t.id = $1::int AND region = 'eu'", ["9"], "id=9, region='eu'"),
        ("DELETE FROM q WHERE $1 = id RETURNING id", ["4"], "id=4"),
        ("UPDATE t SET v = 1 WHERE id = $1 + 1", ["4"], nil),
        ("UPDATE t SET v = 1 WHERE id = -5", [], "id=-5"),
        ("INSERT INTO order_lines (order_id, product_id, qty) VALUES ($1, $2, 3)", ["12", "7"], "order_id=12, product_id=7, qty=3"),
        ("INSERT INTO t (a, b) VALUES (now(), $1)", ["x"], "b=x"),
        ("SELECT pg_advisory_xact_lock($1, $2)", ["7", "1"], "(7, 1)"),
        ("SELECT pg_advisory_lock(42)", [], "42"),
        ("SELECT pg_advisory_lock($1 + 1)", ["41"], nil),
        ("SELECT pg_advisory_xact_lock($1::int, $2::int)", ["7", "1"], "(7, 1)"),
        ("SELECT pg_advisory_xact_lock($1::bigint)", ["5000000004"], "5000000004"),
        ("SELECT * FROM jobs WHERE id = $1 FOR UPDATE", ["5"], "id=5"),
        ("LOCK TABLE a", [], nil),
    ] as [(String, [String?], String?)])
    func keys(sql: String, values: [String?], expected: String?) {
        #expect(StatementShape.key(sql: sql, values: values) == expected)
    }

    @Test func aNullValueAndAMissingOneAreToldApart() {
        #expect(StatementShape.key(sql: "UPDATE t SET v = 1 WHERE id = $1", values: [nil]) == "id=NULL")
        #expect(StatementShape.key(sql: "UPDATE t SET v = 1 WHERE id = $2", values: ["1"]) == nil)
    }
}
