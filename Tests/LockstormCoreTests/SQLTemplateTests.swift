import Testing
@testable import LockstormCore

@Suite struct SQLTemplateTests {
    @Test func referencesBecomeNumberedPlaceholders() {
        let template = SQLTemplate("UPDATE accounts SET balance = balance - :amount WHERE id = :src")
        #expect(template.sql == "UPDATE accounts SET balance = balance - $1 WHERE id = $2")
        #expect(template.names == ["amount", "src"])
    }

    @Test func repeatedNameReusesItsNumber() {
        let template = SQLTemplate("SELECT :a, :b, :a")
        #expect(template.sql == "SELECT $1, $2, $1")
        #expect(template.names == ["a", "b"])
        #expect(template.referenceOffsets.map(\.name) == ["a", "b", "a"])
        #expect(template.referenceOffsets.map(\.offset) == [7, 11, 15])
    }

    @Test func castsAreLeftAlone() {
        let template = SQLTemplate("SELECT :n::int, x::text")
        #expect(template.sql == "SELECT $1::int, x::text")
        #expect(template.names == ["n"])
    }

    @Test func colonAfterANameIsNotAReference() {
        let template = SQLTemplate("SELECT arr[1:n] FROM t")
        #expect(template.sql == "SELECT arr[1:n] FROM t")
        #expect(template.names.isEmpty)
    }

    @Test func referenceAtTheEndOfTheText() {
        let template = SQLTemplate("SELECT * FROM t WHERE id = :id")
        #expect(template.sql == "SELECT * FROM t WHERE id = $1")
        #expect(template.names == ["id"])
    }

    @Test(arguments: [
        "SELECT ':a' FROM t",
        "SELECT 'it''s :a' FROM t",
        "SELECT \":a\" FROM t",
        "SELECT $$ :a $$ FROM t",
        "SELECT $tag$ :a $$ :b $tag$ FROM t",
        "SELECT 1 -- :a\nFROM t",
        "SELECT /* :a */ 1 FROM t",
        "SELECT /* outer /* :a */ :b */ 1 FROM t",
    ])
    func referencesInsideQuotesAndCommentsAreNotSubstituted(sql: String) {
        let template = SQLTemplate(sql)
        #expect(template.sql == sql)
        #expect(template.names.isEmpty)
    }

    @Test func referencesAroundQuotedTextAreSubstituted() {
        let template = SQLTemplate("SELECT :a, ':b', $q$ :c $q$, :d -- :e\n, :f")
        #expect(template.sql == "SELECT $1, ':b', $q$ :c $q$, $2 -- :e\n, $3")
        #expect(template.names == ["a", "d", "f"])
    }

    @Test func positionalPlaceholdersAreNotDollarQuotes() {
        let template = SQLTemplate("SELECT $1, :a")
        #expect(template.sql == "SELECT $1, $1")
        #expect(template.names == ["a"])
    }

    // MARK: Splitting scripts

    @Test func splitsAtTopLevelSemicolons() {
        let statements = SQLLexer.splitStatements("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);")
        #expect(statements.map(\.sql) == ["CREATE TABLE t (id int)", "INSERT INTO t VALUES (1)"])
        #expect(statements.first?.offset == 0)
    }

    @Test func semicolonsInsideQuotesAndCommentsDoNotSplit() {
        let script = """
            INSERT INTO t VALUES ('a;b', "c;d");
            CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            DO $body$ BEGIN PERFORM 1; END $body$;
            SELECT 1 -- trailing; comment
            ;
            SELECT /* ; */ 2
            """
        let statements = SQLLexer.splitStatements(script)
        #expect(statements.map(\.sql) == [
            "INSERT INTO t VALUES ('a;b', \"c;d\")",
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            "DO $body$ BEGIN PERFORM 1; END $body$",
            "SELECT 1 -- trailing; comment",
            "SELECT /* ; */ 2",
        ])
    }

    @Test func emptyStatementsAndLoneCommentsAreDropped() {
        let statements = SQLLexer.splitStatements(";; SELECT 1;  ;\n-- only a comment\n; /* another */ ;")
        #expect(statements.map(\.sql) == ["SELECT 1"])
    }

    @Test func emptyScriptHasNoStatements() {
        #expect(SQLLexer.splitStatements("").isEmpty)
        #expect(SQLLexer.splitStatements("  \n ").isEmpty)
    }

    @Test
    func statementOffsetPointsAtTheStatementText() {
        let script = "SELECT 1;\n  SELECT 2"
        let statements = SQLLexer.splitStatements(script)
        #expect(statements.map(\.offset) == [0, 12])
    }

    @Test("raw $n placeholders are found outside strings, comments, dollar quotes and names")
    func rawPlaceholdersAreFound() {
        #expect(SQLLexer.rawPlaceholders("SELECT * FROM t WHERE id = $1 AND v = $12").map(\.text) == ["$1", "$12"])
        #expect(SQLLexer.rawPlaceholders("SELECT * FROM t WHERE id = $1").map(\.offset) == [27])
        #expect(SQLLexer.rawPlaceholders("SELECT ($1)::int").map(\.text) == ["$1"])
        // Legal SQL that only looks like a placeholder.
        #expect(SQLLexer.rawPlaceholders("SELECT '$1', \"$2\", a$1, x$$y -- $3\n /* $4 */ FROM t").isEmpty)
        #expect(SQLLexer.rawPlaceholders("DO $$ BEGIN PERFORM $1; END $$").isEmpty)
        #expect(SQLLexer.rawPlaceholders("DO $body$ SELECT $1 $body$").isEmpty)
        #expect(SQLLexer.rawPlaceholders("SELECT :id, :client_id::int, price$ FROM t").isEmpty)
    }
}
