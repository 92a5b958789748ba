import Testing
@testable import LockstormCore

@Suite struct DeadlockAttributionTests {
    typealias Statement = DeadlockAttribution.SessionStatement

    /// `maintain`: read, LOCK SHARE, LOCK EXCLUSIVE (the upgrade); `transfer`: two UPDATEs of one text.
    static let plan: RunPlan = {
        let yaml = """
            name: fit
            setup: CREATE TABLE stock (id int PRIMARY KEY, n int);
            transactions:
              maintain:
                steps:
                  - SELECT count(*) FROM stock
                  - LOCK TABLE stock IN SHARE MODE
                  - LOCK TABLE stock IN EXCLUSIVE MODE
              transfer:
                let:
                  a: uniform(1, 9)
                steps:
                  - UPDATE stock SET n = n + 1 WHERE id = :a
                  - UPDATE stock SET n = n + 1 WHERE id = :a
            """
        return try! WorkloadParser.parse(yaml, file: "fit.yaml").plan()
    }()

    static func step(_ transaction: Int, _ step: Int?, sent: UInt64, completed: UInt64?) -> Statement {
        let sql: String
        if let step, case .sql(let text, _, _) = plan.transactions[transaction].steps[step] { sql = text } else { sql = step == nil ? "BEGIN" : "?" }
        return Statement(transaction: transaction, step: step, sql: sql, parameters: step == nil ? [] : ["4"], sentAt: sent, completedAt: completed)
    }

    static func report(_ detail: String) -> DeadlockReport { DeadlockReport.parse(detail: detail, context: nil)! }

    static let upgrade = report("""
        Process 1 waits for ExclusiveLock on relation 16384 of database 5; blocked by process 2.
        Process 2 waits for ExclusiveLock on relation 16384 of database 5; blocked by process 1.
        """)
    static let rows = report("""
        Process 1 waits for ShareLock on transaction 900; blocked by process 2.
        Process 2 waits for ShareLock on transaction 901; blocked by process 1.
        """)

    @Test func clientSideTakesTheOneStatementWhoseLockFitsTheDetail() {
        // Participant 2 ran its LOCK SHARE and LOCK EXCLUSIVE during the victim's window:
        // only the EXCLUSIVE one can wait for ExclusiveLock on a relation.
        let witness = DeadlockAttribution.Witness(report: Self.upgrade, victimSentAt: 100, errorAt: 300, sessions: [
            1: [Self.step(0, nil, sent: 10, completed: 10), Self.step(0, 0, sent: 10, completed: 20), Self.step(0, 1, sent: 20, completed: 30), Self.step(0, 2, sent: 100, completed: nil)],
            2: [Self.step(0, nil, sent: 50, completed: 50), Self.step(0, 0, sent: 50, completed: 60), Self.step(0, 1, sent: 60, completed: 150), Self.step(0, 2, sent: 150, completed: nil)],
        ])
        let participants = DeadlockAttribution.participants(witness, log: nil, plan: Self.plan)
        #expect(participants.map(\.step) == [2, 2])
        #expect(participants.map(\.certainty) == [.inferred, .inferred])
        #expect(participants.map(\.template) == ["maintain", "maintain"])
        // Its transaction from BEGIN through the statement, for fuzz.
        #expect(participants[1].transaction.map(\.step) == [nil, 0, 1, 2])
    }

    @Test func clientSideSaysUncertainRatherThanGuess() {
        // Both UPDATEs of participant 2 were in flight during the window: either could be waiting.
        let witness = DeadlockAttribution.Witness(report: Self.rows, victimSentAt: 100, errorAt: 300, sessions: [
            1: [Self.step(1, 0, sent: 10, completed: 20), Self.step(1, 1, sent: 100, completed: nil)],
            2: [Self.step(1, 0, sent: 50, completed: 150), Self.step(1, 1, sent: 150, completed: nil)],
        ])
        let participants = DeadlockAttribution.participants(witness, log: nil, plan: Self.plan)
        #expect(participants[0].step == 1 && participants[0].certainty == .inferred)
        #expect(participants[1].step == nil && participants[1].certainty == .uncertain)
        #expect(participants[1].template == "transfer")
        #expect(participants[1].label == "transfer step ?")
        let record = CycleRecord(participants: participants, report: Self.rows, detail: "", firstSeenSeconds: 0)
        #expect(record.signature.summary.contains("transfer step ?"))
    }

    @Test func aStatementThatCompletedBeforeTheVictimWasSentIsNoCandidate() {
        let witness = DeadlockAttribution.Witness(report: Self.rows, victimSentAt: 100, errorAt: 300, sessions: [
            1: [Self.step(1, 0, sent: 10, completed: 20), Self.step(1, 1, sent: 100, completed: nil)],
            2: [Self.step(1, 0, sent: 50, completed: 99), Self.step(1, 1, sent: 99, completed: nil), Self.step(1, 0, sent: 301, completed: nil)],
        ])
        let participants = DeadlockAttribution.participants(witness, log: nil, plan: Self.plan)
        #expect(participants.map(\.step) == [1, 1])
        #expect(participants.map(\.certainty) == [.inferred, .inferred])
    }

    @Test func theServerLogNamesTheStatementAndIdenticalTextTakesTheLatest() {
        let witness = DeadlockAttribution.Witness(report: Self.upgrade, victimSentAt: 100, errorAt: 300, sessions: [
            1: [Self.step(0, 1, sent: 20, completed: 150), Self.step(0, 2, sent: 150, completed: nil)],
            2: [Self.step(0, 1, sent: 60, completed: 150), Self.step(0, 2, sent: 150, completed: nil)],
        ])
        let log = ServerLogDeadlock(report: Self.upgrade, queries: [1: "LOCK TABLE stock IN EXCLUSIVE MODE", 2: "LOCK TABLE stock IN EXCLUSIVE MODE;"], prefix: "", line: 1)
        let participants = DeadlockAttribution.participants(witness, log: log, plan: Self.plan)
        #expect(participants.map(\.step) == [2, 2])
        #expect(participants.map(\.certainty) == [.serverLog, .serverLog])

        let rowsWitness = DeadlockAttribution.Witness(report: Self.rows, victimSentAt: 100, errorAt: 300, sessions: [
            1: [Self.step(1, 0, sent: 10, completed: 20), Self.step(1, 1, sent: 100, completed: nil)],
            2: [Self.step(1, 0, sent: 50, completed: 150), Self.step(1, 1, sent: 150, completed: nil)],
        ])
        let text = "UPDATE stock SET n = n + 1 WHERE id = $1"
        let rowsLog = ServerLogDeadlock(report: Self.rows, queries: [1: text, 2: text], prefix: "", line: 1)
        let fromLog = DeadlockAttribution.participants(rowsWitness, log: rowsLog, plan: Self.plan)
        #expect(fromLog.map(\.step) == [1, 1])
        #expect(fromLog.map(\.certainty) == [.serverLog, .serverLog])
        #expect(fromLog[1].parameters == ["4"] && fromLog[1].parameterNames == ["a"])
        // A PID the run does not know is an outside session with the logged query.
        let outside = ServerLogDeadlock(report: Self.rows, queries: [1: text, 2: "VACUUM FULL stock"], prefix: "", line: 1)
        var onlyVictim = rowsWitness
        onlyVictim.sessions[2] = nil
        let mixed = DeadlockAttribution.participants(onlyVictim, log: outside, plan: Self.plan)
        #expect(mixed[1].template == nil && mixed[1].sql == "VACUUM FULL stock" && mixed[1].certainty == .serverLog)
    }

    @Test func aLoggedQueryThatMatchesNoCandidateFallsBackToTheClientSide() {
        let witness = DeadlockAttribution.Witness(report: Self.upgrade, victimSentAt: 100, errorAt: 300, sessions: [
            1: [Self.step(0, 2, sent: 100, completed: nil)],
            2: [Self.step(0, 1, sent: 60, completed: 150), Self.step(0, 2, sent: 150, completed: nil)],
        ])
        let log = ServerLogDeadlock(report: Self.upgrade, queries: [1: "something else", 2: "LOCK TABLE stock IN EXCLUSIVE MODE"], prefix: "", line: 1)
        let participants = DeadlockAttribution.participants(witness, log: log, plan: Self.plan)
        #expect(participants.map(\.certainty) == [.inferred, .serverLog])
        #expect(participants.map(\.step) == [2, 2])
    }

    @Test func textMatchingToleratesTrailingSemicolonsAndTruncation() {
        #expect(DeadlockAttribution.textMatches(sent: "UPDATE t SET v = 1", logged: "UPDATE t SET v = 1;"))
        #expect(!DeadlockAttribution.textMatches(sent: "UPDATE t SET v = 1", logged: "UPDATE t SET v = 2"))
        let long = "SELECT " + String(repeating: "x, ", count: 600) + "1"
        #expect(DeadlockAttribution.textMatches(sent: long, logged: String(long.prefix(1_023))))
        #expect(!DeadlockAttribution.textMatches(sent: "SELECT 12", logged: "SELECT 1"))
    }

    static func edge(_ line: String) -> DeadlockEdge { DeadlockEdge(postgresLine: line)! }

    @Test func lockFit() {
        let exclusiveTable = Self.edge("Process 1 waits for ExclusiveLock on relation 16384 of database 5; blocked by process 2.")
        let xid = Self.edge("Process 1 waits for ShareLock on transaction 7; blocked by process 2.")
        let tuple = Self.edge("Process 1 waits for ExclusiveLock on tuple (0,3) of relation 16384 of database 5; blocked by process 2.")
        let advisory = Self.edge("Process 1 waits for ExclusiveLock on advisory lock [5,0,42,1]; blocked by process 2.")
        let rowExclusive = Self.edge("Process 1 waits for RowExclusiveLock on relation 16384 of database 5; blocked by process 2.")
        func fits(_ sql: String, _ edge: DeadlockEdge) -> Bool { StatementLockFit.fits(sql: sql, edge: edge) }

        #expect(fits("LOCK TABLE stock IN EXCLUSIVE MODE", exclusiveTable))
        #expect(!fits("LOCK TABLE stock IN SHARE MODE", exclusiveTable))
        #expect(!fits("LOCK stock", exclusiveTable), "no mode is ACCESS EXCLUSIVE")
        #expect(!fits("UPDATE stock SET n = 1", exclusiveTable))
        #expect(fits("UPDATE stock SET n = 1", rowExclusive))
        #expect(fits("ALTER TABLE stock ADD COLUMN x int", exclusiveTable))

        #expect(fits("UPDATE accounts SET balance = balance - $1 WHERE id = $2", xid))
        #expect(fits("INSERT INTO child (parent_id) VALUES ($1)", xid))
        #expect(fits("SELECT * FROM parent WHERE id = $1 FOR UPDATE", tuple))
        #expect(fits("select 1 from parent where id = $1 for key share", xid))
        #expect(!fits("SELECT balance FROM accounts WHERE id = $1", xid))
        #expect(!fits("LOCK TABLE stock IN SHARE MODE", xid))
        #expect(!fits("SELECT pg_advisory_xact_lock($1)", xid))
        #expect(fits("COMMIT", xid), "deferred constraints check rows at COMMIT")
        #expect(!fits("BEGIN ISOLATION LEVEL READ COMMITTED", xid))

        #expect(fits("SELECT pg_advisory_xact_lock($1, $2)", advisory))
        #expect(!fits("SELECT pg_try_advisory_xact_lock($1)", advisory))
        #expect(!fits("UPDATE stock SET n = n + 1 WHERE id IN (1, 2)", advisory))
        // A function lockstorm cannot see into may take any lock.
        #expect(fits("SELECT gate($1)", advisory))
        #expect(fits("SELECT gate($1)", xid))
        #expect(fits("WITH x AS (UPDATE stock SET n = 1 RETURNING id) SELECT * FROM x", advisory))
        // Keywords in literals and comments are not read.
        #expect(!fits("SELECT 'for update' FROM stock -- for update", xid))
    }
}
