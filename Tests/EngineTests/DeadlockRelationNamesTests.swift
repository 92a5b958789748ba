import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// Issue 17: tables are named, not left as the DETAIL's OIDs. At the end of a
/// run, before teardown drops them, lockstorm looks the OIDs up on the run's
/// database, on a user's server (`--dsn`, a non-superuser role) as on the
/// embedded one.
@Suite("Deadlock relations by name", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct DeadlockRelationNamesTests {
    /// Two sessions lock two tables in opposite orders (client 0: ledger.a then b;
    /// client 1: b then ledger.a), meeting at an advisory-lock gate in between.
    static let yaml = """
        name: tables
        setup: |
          CREATE SCHEMA ledger;
          CREATE TABLE ledger.a (id int);
          CREATE TABLE b (id int);
          CREATE FUNCTION take(first boolean, c int) RETURNS void LANGUAGE plpgsql AS $$
          BEGIN
            IF (c = 0) = first THEN LOCK TABLE ledger.a IN EXCLUSIVE MODE; ELSE LOCK TABLE b IN EXCLUSIVE MODE; END IF;
          END $$;
          CREATE FUNCTION gate(n int) RETURNS void LANGUAGE plpgsql AS $$
          BEGIN
            WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 4242 AND granted) < n LOOP
              PERFORM pg_sleep(0.002);
            END LOOP;
          END $$;
        teardown: |
          DROP FUNCTION IF EXISTS take(boolean, int);
          DROP FUNCTION IF EXISTS gate(int);
          DROP TABLE IF EXISTS b;
          DROP SCHEMA IF EXISTS ledger CASCADE;
        transactions:
          swap:
            steps:
              - SELECT take(true, :client_id)
              - SELECT pg_advisory_xact_lock_shared(4242, :client_id)
              - SELECT gate(2)
              - SELECT take(false, :client_id)
        """

    @Test("a user's server: the tables in a table-lock cycle are named (schema-qualified where needed), though teardown dropped them")
    func tablesAreNamedOnAUsersServer() throws {
        try UserServer.with { server in
            let plan = try WorkloadParser.parse(Self.yaml, file: "tables.yaml").plan()
            let options = LoadOptions(clients: 2, threads: 2, transactionsPerClient: 1, seed: 1)
            let outcome = try LoadRunner.run(plan: plan, dsn: ConnectionString(server.dsn), options: options, stop: StopSignal())
            #expect(outcome.summary.stats.total.count(.deadlock) == 1)
            let cycle = try #require(outcome.summary.stats.cyclesByFrequency.first)
            #expect(Set(cycle.relationNames.values) == ["ledger.a", "b"])
            let locks = cycle.explainedParticipants.map(\.lock)
            #expect(Set(locks) == ["ExclusiveLock on table ledger.a", "ExclusiveLock on table b"], "\(locks)")
            let group = try #require(outcome.summary.stats.deadlockGroups.first)
            #expect(group.reason == "tables locked in different orders")
            // Teardown ran after the lookup: the tables are gone.
            let connection = try server.connect()
            #expect(try connection.execute("SELECT to_regclass('ledger.a') IS NULL AND to_regclass('b') IS NULL").scalar == "t")
        }
    }
}
