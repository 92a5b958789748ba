import Testing
@testable import LockstormCore

@Suite struct ServerLogReportTests {
    /// A PostgreSQL 15 server log (`log_line_prefix = '%m [%p] '`) with three
    /// deadlocks made by hand in psql: a row cycle whose first query spans
    /// three lines, a LOCK TABLE upgrade, an advisory-lock cycle (bigint and
    /// two-int keys). Tabs are written `\\t` so the text survives editors.
    static let log = """
    2026-12-03 18:57:18.300 UTC [20587] LOG:  starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit
    2026-12-03 18:57:18.315 UTC [20587] LOG:  listening on Unix socket "/tmp/attrib-pg/.s.PGSQL.5432"
    2026-12-03 18:57:18.347 UTC [20591] LOG:  database system was shut down at 2026-12-03 18:57:17 UTC
    2026-12-03 18:57:18.392 UTC [20587] LOG:  database system is ready to accept connections
    2026-12-03 18:57:25.795 UTC [20714] ERROR:  deadlock detected
    2026-12-03 18:57:25.795 UTC [20714] DETAIL:  Process 20714 waits for ShareLock on transaction 726; blocked by process 20715.
    \tProcess 20715 waits for ShareLock on transaction 725; blocked by process 20714.
    \tProcess 20714: UPDATE t
    \t  SET v = v + 1
    \t  WHERE id = 2;
    \tProcess 20715: UPDATE t SET v = v + 1 WHERE id = 1;
    2026-12-03 18:57:25.795 UTC [20714] HINT:  See server log for query details.
    2026-12-03 18:57:25.795 UTC [20714] CONTEXT:  while updating tuple (0,2) in relation "t"
    2026-12-03 18:57:25.795 UTC [20714] STATEMENT:  UPDATE t
    \t  SET v = v + 1
    \t  WHERE id = 2;
    2026-12-03 18:57:27.311 UTC [20737] ERROR:  deadlock detected
    2026-12-03 18:57:27.311 UTC [20737] DETAIL:  Process 20737 waits for ExclusiveLock on relation 16389 of database 5; blocked by process 20735.
    \tProcess 20735 waits for ExclusiveLock on relation 16389 of database 5; blocked by process 20737.
    \tProcess 20737: LOCK TABLE l IN EXCLUSIVE MODE;
    \tProcess 20735: LOCK TABLE l IN EXCLUSIVE MODE;
    2026-12-03 18:57:27.311 UTC [20737] HINT:  See server log for query details.
    2026-12-03 18:57:27.311 UTC [20737] STATEMENT:  LOCK TABLE l IN EXCLUSIVE MODE;
    2026-12-03 18:57:29.151 UTC [20792] ERROR:  deadlock detected
    2026-12-03 18:57:29.151 UTC [20792] DETAIL:  Process 20792 waits for ExclusiveLock on advisory lock [5,0,1,1]; blocked by process 20776.
    \tProcess 20776 waits for ExclusiveLock on advisory lock [5,7,2,2]; blocked by process 20792.
    \tProcess 20792: SELECT pg_advisory_xact_lock(1);
    \tProcess 20776: SELECT pg_advisory_xact_lock(7, 2);
    2026-12-03 18:57:29.151 UTC [20792] HINT:  See server log for query details.
    2026-12-03 18:57:29.151 UTC [20792] STATEMENT:  SELECT pg_advisory_xact_lock(1);

    """

    @Test func readsEveryDeadlockWithItsQueries() throws {
        let reports = ServerLogReader.deadlocks(in: Self.log)
        try #require(reports.count == 3)
        let rows = reports[0]
        #expect(rows.victim == 20714)
        #expect(rows.report.cycle == [20714, 20715])
        #expect(rows.report.isClosedCycle)
        #expect(rows.queries[20714] == "UPDATE t\n  SET v = v + 1\n  WHERE id = 2;")
        #expect(rows.queries[20715] == "UPDATE t SET v = v + 1 WHERE id = 1;")
        #expect(rows.prefix == "2026-12-03 18:57:25.795 UTC [20714] ")
        #expect(rows.line == 5)
        #expect(rows.statement == "UPDATE t\n  SET v = v + 1\n  WHERE id = 2;")
        let tables = reports[1]
        #expect(tables.report.edges.map(\.mode) == ["ExclusiveLock", "ExclusiveLock"])
        #expect(tables.queries == [20737: "LOCK TABLE l IN EXCLUSIVE MODE;", 20735: "LOCK TABLE l IN EXCLUSIVE MODE;"])
        let advisory = reports[2]
        #expect(advisory.report.edges.map { $0.lock.advisoryKeys } == [.single(1), .pair(7, 2)])
        #expect(advisory.queries[20776] == "SELECT pg_advisory_xact_lock(7, 2);")
    }

    /// A deadlock found while a statement opens its relations (an INSERT
    /// queued behind an ALTER TABLE, from the zoo's DDL workload on
    /// PostgreSQL 15) reports the statement's cursor position on its ERROR
    /// line; a line that only looks like one is no report.
    @Test func aReportWithACursorPositionIsRead() throws {
        let text = """
        2026-12-03 20:22:56.379 UTC [24522] ERROR:  deadlock detected at character 13
        2026-12-03 20:22:56.379 UTC [24522] DETAIL:  Process 24522 waits for RowExclusiveLock on relation 16393 of database 5; blocked by process 24526.
        \tProcess 24526 waits for AccessExclusiveLock on relation 16384 of database 5; blocked by process 24522.
        \tProcess 24522: INSERT INTO shipments (order_id) VALUES ($1)
        \tProcess 24526: ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''
        2026-12-03 20:22:56.379 UTC [24522] HINT:  See server log for query details.
        2026-12-03 20:22:56.379 UTC [24522] STATEMENT:  INSERT INTO shipments (order_id) VALUES ($1)
        2026-12-03 20:22:57.000 UTC [24523] ERROR:  deadlock detected at character x
        2026-12-03 20:22:57.000 UTC [24523] DETAIL:  Process 24523 waits for RowExclusiveLock on relation 16393 of database 5; blocked by process 24526.

        """
        let reports = ServerLogReader.deadlocks(in: text)
        try #require(reports.count == 1)
        #expect(reports[0].victim == 24522)
        #expect(reports[0].prefix == "2026-12-03 20:22:56.379 UTC [24522] ")
        #expect(reports[0].queries[24526] == "ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''")
        #expect(reports[0].queries[24522] == "INSERT INTO shipments (order_id) VALUES ($1)")
    }

    @Test func aReportStillBeingWrittenIsLeftForTheNextRead() throws {
        // Cut inside the first report's DETAIL: nothing is read, and the
        // bytes consumed stop before its ERROR line.
        let cut = Self.log.range(of: "\tProcess 20714: UPDATE t")!.lowerBound
        let partial = String(Self.log[..<cut])
        let (reports, consumed) = ServerLogReader.read(partial, final: false)
        #expect(reports.isEmpty)
        #expect(String(partial.utf8.prefix(consumed))!.hasSuffix("ready to accept connections\n"))
        // Read whole, the last report (no line after it) counts once its HINT is there.
        let (all, allConsumed) = ServerLogReader.read(Self.log, final: false)
        #expect(all.count == 3)
        #expect(allConsumed == Self.log.utf8.count)
        // Up to the last report's DETAIL only: that report waits.
        let beforeHint = String(Self.log[..<Self.log.range(of: "[20792] HINT")!.lowerBound])
        let lines = beforeHint.split(separator: "\n", omittingEmptySubsequences: false).dropLast().joined(separator: "\n") + "\n"
        #expect(ServerLogReader.read(lines, final: false).reports.count == 2)
    }

    @Test func anyPrefixAndPlaceholdersForHiddenQueries() throws {
        let text = """
            myhost postgres ERROR:  deadlock detected
            myhost postgres DETAIL:  Process 11 waits for ShareLock on transaction 5; blocked by process 12.
            \tProcess 12 waits for ShareLock on transaction 4; blocked by process 11.
            \tProcess 11: UPDATE a SET v = 1
            \tProcess 12: <insufficient privilege>
            myhost postgres HINT:  See server log for query details.
            other postgres LOG:  checkpoint starting
            """
        let reports = ServerLogReader.deadlocks(in: text)
        try #require(reports.count == 1)
        #expect(reports[0].queries == [11: "UPDATE a SET v = 1"])
        #expect(reports[0].prefix == "myhost postgres ")
    }

    @Test func textThatIsNoReportGivesNone() {
        #expect(ServerLogReader.deadlocks(in: "").isEmpty)
        #expect(ServerLogReader.deadlocks(in: "x ERROR:  deadlock detected\nx DETAIL:  nothing here\n").isEmpty)
        #expect(ServerLogReader.deadlocks(in: "\tERROR:  deadlock detected\n").isEmpty)
    }
}
