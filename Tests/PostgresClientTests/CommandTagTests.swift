@testable import PostgresClient
import Testing

/// `PostgresConnection.affectedRows(commandTag:)` reads command tags as
/// libpq's `PQcmdTuples` does (the server tests check real tags end to end;
/// these check tags a server rarely or never sends).
@Suite("Rows affected, read from a command tag")
struct CommandTagTests {
    @Test("the count after the command's prefix; 0 for tags without one", arguments: [
        ("SELECT 2", 2), ("UPDATE 1", 1), ("DELETE 3", 3), ("INSERT 0 5", 5), ("INSERT 16384 1", 1),
        ("MERGE 1", 1), ("FETCH 4", 4), ("MOVE 2", 2), ("COPY 7", 7), ("UPDATE 0", 0), ("SELECT 123456789012", 123_456_789_012),
        ("BEGIN", 0), ("COMMIT", 0), ("ROLLBACK", 0), ("SET", 0), ("CREATE TABLE", 0), ("DROP TABLE", 0), ("", 0),
    ])
    func counts(tag: String, rows: Int) {
        #expect(tag.withCString { PostgresConnection.affectedRows(commandTag: $0) } == rows)
    }

    @Test("tags PQcmdTuples cannot interpret count 0", arguments: [
        // No count, a count that is not all digits, no oid before an INSERT's count.
        "SELECT", "SELECT ", "UPDATE 1x", "DELETE -1", "INSERT 5", "INSERT 0 ", "FETCH  4",
        // A count elsewhere than after a known prefix, a prefix without its space, lower case.
        "CREATE TABLE 5", "SELECT2", "MOVED 2", "COPYING 7", "update 1", "M", "I",
        // Too large for Int.
        "DELETE 99999999999999999999",
    ])
    func uninterpretable(tag: String) {
        #expect(tag.withCString { PostgresConnection.affectedRows(commandTag: $0) } == 0)
    }

    @Test("a NULL tag counts 0")
    func nullTag() {
        #expect(PostgresConnection.affectedRows(commandTag: nil) == 0)
    }
}
