import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// lockstorm's attribution of each deadlock against the server's own
/// report of it (the log names every participant's query), deadlock by
/// deadlock, under contention: 9 clients, deadlock_timeout 100 ms
/// (`LOCKSTORM_ATTRIBUTION_TIMEOUT_MS` to measure another), runs of 1.5 s
/// until at least 50 deadlocks.
///
/// - The log method: >= 99 % of deadlocks have every participant at the
///   template and step whose SQL is the query the server logged for its PID.
/// - No impossible shape: no participant of the run without a step, never
///   every participant at its first statement.
/// - The client-side method alone (no log), checked against the same truth:
///   no wrong participant (uncertain is allowed); its exact rate is printed.
@Suite("Deadlock attribution against the server log", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct DeadlockAttributionEngineTests {
    static let timeout = ProcessInfo.processInfo.environment["LOCKSTORM_ATTRIBUTION_TIMEOUT_MS"].flatMap(Int.init) ?? 100

    /// Three templates forming a ring of three rows.
    static let ring = """
        name: ring3
        setup: |
          CREATE TABLE ring (id int PRIMARY KEY, v int NOT NULL);
          INSERT INTO ring VALUES (1, 0), (2, 0), (3, 0);
        teardown: DROP TABLE IF EXISTS ring;
        transactions:
          ab:
            steps:
              - UPDATE ring SET v = v + 1 WHERE id = 1
              - UPDATE ring SET v = v + 1 WHERE id = 2
          bc:
            steps:
              - UPDATE ring SET v = v + 1 WHERE id = 2
              - UPDATE ring SET v = v + 1 WHERE id = 3
          ca:
            steps:
              - UPDATE ring SET v = v + 1 WHERE id = 3
              - UPDATE ring SET v = v + 1 WHERE id = 1
        """

    /// Two LOCK TABLEs, the second an upgrade of the first.
    static let upgrade = """
        name: upgrade
        setup: |
          CREATE TABLE stock (id int PRIMARY KEY, n int NOT NULL);
          INSERT INTO stock VALUES (1, 0);
        teardown: DROP TABLE IF EXISTS stock;
        transactions:
          maintain:
            steps:
              - SELECT n FROM stock WHERE id = 1
              - LOCK TABLE stock IN SHARE MODE
              - LOCK TABLE stock IN EXCLUSIVE MODE
              - UPDATE stock SET n = n + 1 WHERE id = 1
        """

    /// A child insert takes FOR KEY SHARE on its parent row, then the parent is locked FOR UPDATE.
    static let foreignKey = """
        name: fk
        setup: |
          CREATE TABLE parent (id int PRIMARY KEY, lines int NOT NULL DEFAULT 0);
          CREATE TABLE child (id bigserial PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id));
          INSERT INTO parent (id) SELECT g FROM generate_series(1, 3) g;
        teardown: DROP TABLE IF EXISTS child, parent;
        transactions:
          add_line:
            let:
              p: uniform(1, 3)
            steps:
              - INSERT INTO child (parent_id) VALUES (:p)
              - SELECT lines FROM parent WHERE id = :p FOR UPDATE
              - UPDATE parent SET lines = lines + 1 WHERE id = :p
        """

    struct Tally: CustomStringConvertible {
        var deadlocks = 0
        var logExact = 0
        var impossible: [String] = []
        var clientExact = 0, clientUncertain = 0, clientWrong: [String] = []
        var logMissing = 0

        func percent(_ part: Int) -> String { deadlocks == 0 ? "-" : String(format: "%.1f %%", 100 * Double(part) / Double(deadlocks)) }
        var description: String {
            "\(deadlocks) deadlocks; log method exact \(percent(logExact)); client-only exact \(percent(clientExact)), "
                + "uncertain \(percent(clientUncertain)), wrong \(percent(clientWrong.count)); impossible shapes \(impossible.count); log reports missing \(logMissing)"
        }
    }

    /// Runs `plan` until 50 deadlocks (at most 20 runs) and compares each with the log.
    func measure(_ plan: RunPlan, name: String) throws -> Tally {
        try TestServer.with(deadlockTimeoutMilliseconds: Self.timeout) { server in
            var tally = Tally()
            var events: [DeadlockEventRecord] = []
            var seed: UInt64 = 1
            while events.count < 50, seed <= 20 {
                var options = LoadOptions(clients: 9, threads: 2, durationSeconds: 1.5, seed: seed)
                options.sampleIntervalSeconds = 0
                options.serverLogPath = server.logPath
                let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
                #expect(outcome.deadlockEvents.count == outcome.summary.stats.total.count(.deadlock), "every deadlock is an event")
                #expect(outcome.serverLogFailure == nil)
                events += outcome.deadlockEvents
                seed += 1
            }
            let log = try String(contentsOfFile: server.logPath, encoding: .utf8)
            var reports = ServerLogReader.deadlocks(in: log)
            for event in events {
                tally.deadlocks += 1
                guard let at = reports.firstIndex(where: { $0.report.edges == event.report.edges }) else {
                    tally.logMissing += 1
                    continue
                }
                let truth = reports.remove(at: at)
                // The truth per participant: the template's step whose SQL the server logged.
                func isTrue(_ participant: CycleParticipant) -> Bool {
                    guard let query = truth.queries[participant.pid], let template = participant.template, let step = participant.step,
                          let transaction = plan.transactions.first(where: { $0.name == template }), step < transaction.steps.count,
                          case .sql(let sql, _, _) = transaction.steps[step] else { return false }
                    return participant.sql == sql && DeadlockAttribution.textMatches(sent: sql, logged: query)
                }
                let exact = event.participants.allSatisfy { $0.certainty == .serverLog && isTrue($0) }
                if exact { tally.logExact += 1 }
                let label = event.participants.map(\.label).joined(separator: " → ")
                if event.participants.contains(where: { $0.template != nil && $0.step == nil }) || event.participants.allSatisfy({ $0.step == 0 }) {
                    tally.impossible.append(label)
                }
                if event.clientSide.contains(where: { $0.certainty == .uncertain }) {
                    tally.clientUncertain += 1
                } else if exact && zip(event.clientSide, event.participants).allSatisfy({ $0.template == $1.template && $0.step == $1.step && $0.sql == $1.sql }) {
                    tally.clientExact += 1
                }
                // Wrong: a participant the client side claims, unlike the truth.
                for (client, final) in zip(event.clientSide, event.participants) where client.certainty == .inferred {
                    if !(isTrue(client) && client.template == final.template && client.step == final.step) {
                        tally.clientWrong.append("\(client.label) (log: \(truth.queries[client.pid] ?? "?"))")
                    }
                }
            }
            print("attribution \(name), deadlock_timeout \(Self.timeout) ms: \(tally)")
            return tally
        }
    }

    func check(_ tally: Tally) {
        #expect(tally.deadlocks >= 50)
        #expect(tally.logMissing == 0)
        #expect(Double(tally.logExact) >= 0.99 * Double(tally.deadlocks), "\(tally)")
        #expect(tally.impossible.isEmpty, "\(tally.impossible.prefix(5))")
        #expect(tally.clientWrong.isEmpty, "\(tally.clientWrong.prefix(5))")
    }

    @Test("three templates in a ring of three rows")
    func ringOfThree() throws {
        check(try measure(try WorkloadParser.parse(Self.ring, file: "ring3.yaml").plan(), name: "ring3"))
    }

    @Test("two LOCK TABLEs, the second an upgrade")
    func lockTableUpgrade() throws {
        check(try measure(try WorkloadParser.parse(Self.upgrade, file: "upgrade.yaml").plan(), name: "upgrade"))
    }

    @Test("foreign key: child insert (FOR KEY SHARE on the parent), then the parent FOR UPDATE")
    func foreignKey() throws {
        check(try measure(try WorkloadParser.parse(Self.foreignKey, file: "fk.yaml").plan(), name: "fk"))
    }

    @Test("a log that cannot be read: said so, and the client side attributes alone")
    func unreadableLog() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: Self.timeout) { server in
            var options = LoadOptions(clients: 9, threads: 2, durationSeconds: 1.5, seed: 1)
            options.sampleIntervalSeconds = 0
            options.serverLogPath = server.directory + "/no-such.log"
            let plan = try WorkloadParser.parse(Self.upgrade, file: "upgrade.yaml").plan()
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            let failure = try #require(outcome.serverLogFailure)
            #expect(failure.contains("no-such.log"))
            try #require(!outcome.deadlockEvents.isEmpty)
            #expect(outcome.deadlockEvents.allSatisfy { !$0.logFound && $0.participants.allSatisfy { $0.certainty != .serverLog } })
            // LOCK TABLE in two modes: the DETAIL's mode tells the steps apart.
            #expect(outcome.deadlockEvents.allSatisfy { $0.participants.allSatisfy { $0.step == 2 && $0.certainty == .inferred } })
        }
    }

    /// The deadlocking variants of the zoo shipped in workloads/.
    static let zoo: [(file: String, variant: String)] = [
        ("zoo-ring.yaml", "ring"), ("zoo-upgrade.yaml", "for-share"), ("zoo-foreign-key.yaml", "for-update"),
        ("zoo-foreign-key.yaml", "key-update"), ("zoo-advisory.yaml", "two-int"), ("zoo-advisory.yaml", "bigint"),
        ("zoo-ddl.yaml", "reverse-order"),
    ]

    @Test("the deadlock zoo, 9 clients", arguments: zoo)
    func deadlockZoo(file: String, variant: String) throws {
        let workload = try WorkloadParser.parse(try TestServer.workloadText(file), file: file)
        check(try measure(try workload.plan(variant: variant), name: "\(file) \(variant)"))
    }

    @Test("unordered transfers")
    func unorderedTransfers() throws {
        let workload = try WorkloadParser.parse(try TestServer.workloadText("transfers.yaml"), file: "transfers.yaml")
        check(try measure(try workload.plan(variant: "unordered", overrides: [("accounts", .int(10))]), name: "transfers-unordered"))
    }
}
