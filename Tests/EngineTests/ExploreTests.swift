import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// explore, replay and fuzz against a real server: outcome counts that can be
/// computed by hand, reproductions that deadlock every time.
@Suite("Explore, replay and fuzz", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ExploreTests {
    private func scenario(_ name: String, extra: String = "") throws -> Scenario {
        try ScenarioParser.parse(try TestServer.workloadText("scenarios/\(name)") + extra, file: name)
    }

    private func explore(_ scenario: Scenario, dsn: ConnectionString) throws -> [InterleavingResult] {
        let runner = try ScenarioRunner(scenario: scenario, dsn: dsn)
        defer { runner.finish() }
        return try Interleavings.all(stepCounts: scenario.stepCounts).map { try runner.run($0) }
    }

    private func counts(_ results: [InterleavingResult]) -> [OutcomeKind: Int] {
        Dictionary(grouping: results, by: \.outcome.kind).mapValues(\.count)
    }

    @Test("the shipped scenarios' outcomes equal the hand counts, and deadlocks happen exactly where both first locks come first")
    func shippedScenarioCounts() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let unordered = try explore(try scenario("transfer-unordered.yaml"), dsn: server.dsn)
            #expect(unordered.count == 20)
            #expect(counts(unordered) == [.deadlock: 12, .blocked: 6, .committed: 2])
            for result in unordered {
                let bothFirst = Set(result.interleaving.sessions.prefix(2)) == [0, 1]
                #expect((result.outcome.kind == .deadlock) == bothFirst, "\(result.interleaving.label(names: ["t1", "t2"]))")
                if let deadlock = result.deadlock {
                    // Each waits in its second step for the other's first.
                    #expect(deadlock.sessionSignature.text == "t1:2/ShareLock/transaction -> t2:2/ShareLock/transaction")
                    #expect(deadlock.report.isClosedCycle)
                    #expect(result.sessions[deadlock.victim].failure?.step == 1)
                    #expect(result.sessions.filter { $0.failure == nil }.count == 1)
                }
            }
            let ordered = try explore(try scenario("transfer-ordered.yaml"), dsn: server.dsn)
            #expect(counts(ordered) == [.blocked: 68, .committed: 2])
            let nowait = try explore(try scenario("nowait.yaml"), dsn: server.dsn)
            #expect(counts(nowait) == [.lockNotAvailable: 2, .blocked: 2, .committed: 2])
            for result in nowait where result.outcome.kind == .lockNotAvailable {
                #expect(result.outcome.session == 1)
                #expect(result.interleaving.sessions.prefix(2) == [0, 1])
            }
        }
    }

    @Test("a recorded order deadlocks on each of five consecutive replays, with the same signature")
    func replayIsDeterministic() throws {
        let reproduction = try scenario("transfer-unordered.yaml", extra: "\norder: [t1, t2, t1, t2]\n")
        let order = try #require(reproduction.order)
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let runner = try ScenarioRunner(scenario: reproduction, dsn: server.dsn)
            defer { runner.finish() }
            for _ in 0..<5 {
                let result = try runner.run(order)
                #expect(result.outcome.kind == .deadlock)
                #expect(result.deadlock?.signature.text == "t1:2/ShareLock/transaction -> t2:2/ShareLock/transaction")
                // Blocked was seen from the server before the cycle closed, not guessed.
                let blocked = result.events.filter { if case .blocked = $0.kind { true } else { false } }
                #expect(blocked.count == 2)
            }
        }
    }

    @Test("fuzz finds the two-account cycle of transfers/unordered, its reproduction replays to the same signature; ordered has none in the same budget")
    func fuzzTransfers() throws {
        let workload = try WorkloadParser.parse(try TestServer.workloadText("transfers.yaml"), file: "transfers.yaml")
        try TestServer.with(deadlockTimeoutMilliseconds: 20) { server in
            var options = FuzzOptions(seed: 2)
            options.rounds = 10
            options.deadlockTimeoutMilliseconds = 20
            options.verifyAttempts = 1
            let unordered = try workload.plan(variant: "unordered", overrides: [], file: "transfers.yaml")
            // Fuzz until the two-account cycle shows up (at most 10 rounds); other
            // shapes (three transfers in a ring, queued row locks) may come first.
            let twoAccounts = "transfer:3/ShareLock/transaction -> transfer:3/ShareLock/transaction"
            let stop = StopSignal()
            let outcome = try Fuzzer.run(plan: unordered, workload: workload, dsn: server.dsn, options: options, stop: stop, onFinding: { finding in
                if finding.record.signature.text == twoAccounts { stop.set() }
            })
            let finding = try #require(outcome.findings.first { $0.record.signature.text == twoAccounts })
            let reproduction = try #require(finding.reproduction, "\(finding.reproductionProblem ?? "")")
            // Replayed again here, from the text fuzz would save.
            let scenario = try ScenarioParser.parse(reproduction.yaml, file: "cycle-1.yaml")
            #expect(scenario.sessions.count == 2)
            let runner = try ScenarioRunner(scenario: scenario, dsn: server.dsn)
            defer { runner.finish() }
            for _ in 0..<3 {
                let result = try runner.run(try #require(scenario.order))
                #expect(result.deadlock?.signature.text == finding.record.signature.text)
            }

            let ordered = try workload.plan(variant: "ordered", overrides: [], file: "transfers.yaml")
            let none = try Fuzzer.run(plan: ordered, workload: workload, dsn: server.dsn, options: options, stop: StopSignal())
            #expect(none.rounds.count == 10)
            #expect(none.rounds.reduce(0) { $0 + $1.transactions } > 0)
            #expect(none.findings.isEmpty)
        }
    }
}
