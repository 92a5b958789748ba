import Testing
@testable import LockstormCore

/// `LockTag.summary(names:)`: relations by name once the run looked them up,
/// by OID when it could not; advisory keys as the numbers the application passed.
@Suite struct LockTagNamesTests {
    static let names: [UInt32: String] = [16394: "inventory", 16400: "shop.\"Order Lines\""]

    @Test(arguments: [
        ("tuple (0,3) of relation 16394 of database 5", "row (0,3) of inventory"),
        ("relation 16400 of database 5", "table shop.\"Order Lines\""),
        ("extension of relation 16394 of database 5", "extension of inventory"),
        ("page 7 of relation 16394 of database 5", "page 7 of inventory"),
        // Not looked up (a dropped table): the OID stays, never a wrong name.
        ("tuple (2,9) of relation 99999 of database 5", "row (2,9) of relation 99999"),
        ("relation 99999 of database 5", "relation 99999"),
        ("advisory lock [16384,0,42,1]", "advisory lock 42"),
        ("advisory lock [16384,4294967295,4294967295,1]", "advisory lock -1"),
        ("advisory lock [16384,7,1,2]", "advisory lock (7, 1)"),
        ("advisory lock [16384,4294967295,1,2]", "advisory lock (-1, 1)"),
        ("transaction 731", "transaction 731"),
    ])
    func named(text: String, expected: String) {
        #expect(LockTag(postgresText: text).summary(names: Self.names) == expected)
    }

    @Test func theRelationsATagNamesCarryTheirDatabase() {
        #expect(LockTag(postgresText: "tuple (0,3) of relation 16394 of database 5").relations.map { [$0.relation, $0.database] } == [[16394, 5]])
        #expect(LockTag(postgresText: "advisory lock [5,0,42,1]").relations.isEmpty)
        // Without names the summary is what it always was.
        #expect(LockTag(postgresText: "relation 16394 of database 5").summary == "relation 16394")
    }
}
