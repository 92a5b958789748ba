/// DETAIL and CONTEXT fields exactly as a PostgreSQL 15.18 server sent them
/// to the victim of a deadlock (psql, `\set VERBOSITY verbose`), provoked on
/// a throwaway server with deadlock_timeout = 50ms. Database 5 is `postgres`;
/// relation 16384 is `accounts`, 16389 is `a`, 16392 is `b`; objects 16403 and
/// 16404 are the functions f1() and f2() (class 1255 is pg_proc).
enum DeadlockSamples {
    struct Sample: Sendable, CustomStringConvertible {
        var name: String
        var detail: String
        var context: String?
        var description: String { name }
    }

    /// Two sessions update rows 1 and 2 of accounts in opposite orders.
    static let rowUpdates = Sample(
        name: "row updates",
        detail: """
            Process 24359 waits for ShareLock on transaction 731; blocked by process 24358.
            Process 24358 waits for ShareLock on transaction 730; blocked by process 24359.
            """,
        context: #"while updating tuple (0,2) in relation "accounts""#
    )

    /// Three sessions update one row: the third queues on the tuple lock the
    /// second holds while waiting for the first, which then waits for the third.
    static let tupleLock = Sample(
        name: "tuple lock",
        detail: """
            Process 24389 waits for ShareLock on transaction 733; blocked by process 24390.
            Process 24390 waits for ExclusiveLock on tuple (0,3) of relation 16384 of database 5; blocked by process 24388.
            Process 24388 waits for ShareLock on transaction 732; blocked by process 24389.
            """,
        context: #"while updating tuple (0,4) in relation "accounts""#
    )

    /// LOCK TABLE a / LOCK TABLE b in opposite orders.
    static let tableLocks = Sample(
        name: "table locks",
        detail: """
            Process 24418 waits for AccessExclusiveLock on relation 16392 of database 5; blocked by process 24417.
            Process 24417 waits for ExclusiveLock on relation 16389 of database 5; blocked by process 24418.
            """,
        context: nil
    )

    /// pg_advisory_xact_lock(1, 2) and (3, 4) in opposite orders.
    static let advisoryPair = Sample(
        name: "advisory two-int keys",
        detail: """
            Process 24430 waits for ExclusiveLock on advisory lock [5,3,4,2]; blocked by process 24431.
            Process 24431 waits for ExclusiveLock on advisory lock [5,1,2,2]; blocked by process 24430.
            """,
        context: nil
    )

    /// pg_advisory_xact_lock(42) and (-5000000000), the second session asking
    /// for 42 shared.
    static let advisoryBigint = Sample(
        name: "advisory bigint keys",
        detail: """
            Process 24444 waits for ExclusiveLock on advisory lock [5,4294967294,3589934592,1]; blocked by process 24445.
            Process 24445 waits for ShareLock on advisory lock [5,0,42,1]; blocked by process 24444.
            """,
        context: nil
    )

    /// Three sessions each update their own row, then the next one's.
    static let threeSessions = Sample(
        name: "three sessions",
        detail: """
            Process 24487 waits for ShareLock on transaction 738; blocked by process 24486.
            Process 24486 waits for ShareLock on transaction 736; blocked by process 24485.
            Process 24485 waits for ShareLock on transaction 737; blocked by process 24487.
            """,
        context: #"while updating tuple (0,6) in relation "accounts""#
    )

    /// SELECT … FOR UPDATE / FOR NO KEY UPDATE, then FOR SHARE / FOR KEY SHARE.
    static let selectForUpdate = Sample(
        name: "select for update",
        detail: """
            Process 24502 waits for ShareLock on transaction 739; blocked by process 24501.
            Process 24501 waits for ShareLock on transaction 740; blocked by process 24502.
            """,
        context: #"while locking tuple (0,2) in relation "jobs""#
    )

    /// The victim's UPDATE ran inside a DO block.
    static let plpgsql = Sample(
        name: "update from PL/pgSQL",
        detail: """
            Process 24530 waits for ShareLock on transaction 741; blocked by process 24529.
            Process 24529 waits for ShareLock on transaction 742; blocked by process 24530.
            """,
        context: """
            while updating tuple (0,8) in relation "accounts"
            SQL statement "update accounts set balance = 1 where id = 8"
            PL/pgSQL function inline_code_block line 1 at SQL statement
            """
    )

    /// Two sessions insert the same two primary keys in opposite orders.
    static let uniqueInsert = Sample(
        name: "unique inserts",
        detail: """
            Process 24544 waits for ShareLock on transaction 743; blocked by process 24543.
            Process 24543 waits for ShareLock on transaction 744; blocked by process 24544.
            """,
        context: #"while inserting index tuple (0,14) in relation "jobs_pkey""#
    )

    /// CREATE INDEX CONCURRENTLY waits for an older snapshot, whose owner
    /// then asks for a lock the index build holds.
    static let virtualTransaction = Sample(
        name: "virtual transaction",
        detail: """
            Process 24557 waits for ShareUpdateExclusiveLock on relation 16389 of database 5; blocked by process 24558.
            Process 24558 waits for ShareLock on virtual transaction 3/29; blocked by process 24557.
            """,
        context: nil
    )

    /// DROP FUNCTION f1(), f2() in opposite orders.
    static let catalogObjects = Sample(
        name: "catalog objects",
        detail: """
            Process 24605 waits for AccessExclusiveLock on object 16404 of class 1255 of database 5; blocked by process 24606.
            Process 24606 waits for AccessExclusiveLock on object 16403 of class 1255 of database 5; blocked by process 24605.
            """,
        context: nil
    )

    /// The same deadlock as `plpgsql` from the server log, where DETAIL also
    /// lists each process's query and continuation lines start with a tab.
    static let serverLogDetail = """
        Process 24530 waits for ShareLock on transaction 741; blocked by process 24529.
        \tProcess 24529 waits for ShareLock on transaction 742; blocked by process 24530.
        \tProcess 24530: do $$ begin update accounts set balance = 1 where id = 8; end $$;
        \tProcess 24529: update accounts set balance = 1 where id = 7;
        """

    static let all: [Sample] = [
        rowUpdates, tupleLock, tableLocks, advisoryPair, advisoryBigint, threeSessions,
        selectForUpdate, plpgsql, uniqueInsert, virtualTransaction, catalogObjects,
    ]
}
